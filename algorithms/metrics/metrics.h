// metrics.h: how good is a clustering, an embedding or a representation?
//
//   using namespace cake::metrics;
//   double n = nmi(labels_true, labels_pred);        // 0 (independent) .. 1 (same partition)
//   double a = acc(labels_true, labels_pred);        // best one-to-one cluster -> class map
//   double m = ami(labels_true, labels_pred);        // NMI corrected for chance: ~0 for random labels
//   double s = silhouette(X, labels_pred);           // -1 .. 1, from distances alone
//   double t = trustworthiness(X, embedding, 12);    // are embedding neighbours true neighbours?
//   double k = knn_accuracy(embedding, labels_true, 1);  // 1 - (1-NN error), as in JULE's Table 13
//
// Labels are int64 tensors [N] (uint8 and bool are accepted too) or std::vector<int64_t>; their
// values are only names: -1 for noise or non-contiguous ids are fine, and permuting the
// cluster ids never changes a clustering score. Feature matrices are float32 or float64
// tensors [N, D]. Every score matches scikit-learn 1.2's function of the same name (the
// tests compare against values it computed), including its conventions for degenerate cases.
//
// Notation: n_ij = samples with true class i and predicted cluster j (the contingency table),
// a_i = sum_j n_ij, b_j = sum_i n_ij, N = sum_ij n_ij; logarithms are natural.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::metrics {

// A labelling: a copy of the label values as int64, from a tensor or a vector.
class Labels {
 public:
  Labels(const Tensor& labels);                             // NOLINT: implicit by design
  Labels(std::vector<std::int64_t> labels) : values_(std::move(labels)) {}  // NOLINT
  Labels(std::initializer_list<std::int64_t> labels) : values_(labels) {}
  const std::vector<std::int64_t>& values() const { return values_; }
  std::int64_t size() const { return static_cast<std::int64_t>(values_.size()); }

 private:
  std::vector<std::int64_t> values_;
};

// ---- comparing two labellings ----------------------------------------------------------------

// The contingency table n_ij: counts int64 [R, C], rows the sorted distinct values of
// labels_true (row_labels), columns those of labels_pred (col_labels).
struct ContingencyTable {
  Tensor counts;
  std::vector<std::int64_t> row_labels, col_labels;
};
ContingencyTable contingency_matrix(const Labels& labels_true, const Labels& labels_pred);

// Confusion matrix int64 [K, K]: entry (i, j) counts samples of class i predicted as j.
// With num_classes = K the labels must lie in [0, K); with -1 the classes are the sorted
// union of the values in both (sklearn.metrics.confusion_matrix).
Tensor confusion_matrix(const Labels& y_true, const Labels& y_pred, std::int64_t num_classes = -1);

// Mutual information I(true; pred) = sum_ij n_ij/N log(N n_ij / (a_i b_j)), in nats.
double mutual_information(const Labels& labels_true, const Labels& labels_pred);

// How NMI divides the mutual information by the two entropies H(true), H(pred).
enum class NmiAverage { Arithmetic, Geometric, Min, Max };

// Normalised mutual information NMI = I(true; pred) / avg(H(true), H(pred)). The default
// averaging is the ARITHMETIC mean, scikit-learn's default (average_method='arithmetic'),
// under which NMI equals the V-measure. DeepCluster (Caron et al. 2018, Pastore 2025) and much
// of the clustering literature write the GEOMETRIC mean sqrt(H(A) H(B)); pass
// NmiAverage::Geometric to reproduce those numbers. Both labellings with a single value give 1;
// otherwise I = 0 gives 0.
double nmi(const Labels& labels_true, const Labels& labels_pred, NmiAverage average = NmiAverage::Arithmetic);

// Adjusted Rand index (Hubert & Arabie, 1985): the Rand index corrected for chance, 1 for
// identical partitions, about 0 for random ones, negative for worse than chance.
double ari(const Labels& labels_true, const Labels& labels_pred);

// Adjusted mutual information (Vinh, Epps & Bailey, JMLR 2010, eq. 24): the mutual information
// corrected for chance, AMI = (I - E[I]) / (avg(H(true), H(pred)) - E[I]), with E[I] the
// expected mutual information of random labellings with the same cluster sizes (below). NMI
// grows with the number of clusters even for random labels; AMI stays about 0 for them, and is
// 1 for identical partitions (both labellings with a single value included), negative below
// chance. The averaging as for NMI (scikit-learn's default, arithmetic, too). One degenerate
// case: when a labelling puts every sample in a cluster of its own, every partition it is
// compared with has I = E[I], and where the normaliser also equals E[I] (the other labelling the
// same, or the Min average) AMI is 0 / 0; it is then rounding noise over machine epsilon, as in
// scikit-learn, which keeps the denominator's sign at least one epsilon away from 0.
double ami(const Labels& labels_true, const Labels& labels_pred, NmiAverage average = NmiAverage::Arithmetic);
// E[I] under the permutation model: each n_ij hypergeometric given a_i, b_j and N (Vinh et al.
// 2010, eq. 24a), in nats; 0 when either labelling has a single value.
double expected_mutual_information(const Labels& labels_true, const Labels& labels_pred);

// Fowlkes-Mallows index (1983): over pairs of samples, the geometric mean of precision and
// recall of "same cluster" for "same class", TP / sqrt((TP + FP)(TP + FN)). 1 for identical
// partitions, 0 when no pair shares both its class and its cluster.
double fowlkes_mallows(const Labels& labels_true, const Labels& labels_pred);

// Unsupervised clustering accuracy: the best one-to-one map m from clusters to classes,
// ACC = max_m sum_i [y_i = m(c_i)] / N, found by the Hungarian method on the contingency table
// (Xie et al. 2016, DEC, eq. 10; JULE's "AC"). With more clusters than classes the unmatched
// clusters count as wrong.
double acc(const Labels& labels_true, const Labels& labels_pred);
// The predictions rewritten through that best map: each cluster id becomes its matched class,
// and clusters left without a class become -1. Useful for a confusion matrix of a clustering.
Tensor map_clusters_to_classes(const Labels& labels_true, const Labels& labels_pred);

// Purity: every cluster votes for its majority class, sum_j max_i n_ij / N. Unlike acc, two
// clusters may pick the same class, so more clusters never lower it.
double purity(const Labels& labels_true, const Labels& labels_pred);

// Rosenberg & Hirschberg (2007): homogeneity h = I / H(true) (each cluster holds one class),
// completeness c = I / H(pred) (each class sits in one cluster), and their weighted harmonic
// mean v = (1 + beta) h c / (beta h + c). A zero entropy gives 1 for its score.
struct VMeasure {
  double homogeneity, completeness, v_measure;
};
VMeasure homogeneity_completeness_v_measure(const Labels& labels_true, const Labels& labels_pred, double beta = 1.0);
double homogeneity(const Labels& labels_true, const Labels& labels_pred);
double completeness(const Labels& labels_true, const Labels& labels_pred);
double v_measure(const Labels& labels_true, const Labels& labels_pred, double beta = 1.0);

// The label-based scores above (arithmetic NMI, beta = 1), all from a contingency table rather
// than the labels: equal to the functions of the labels whose table it is. A table is a sum, so
// the table of data split into shards is the sum of the shards' tables; that is how
// cake::distributed::clustering_scores (distributed/metrics.h) scores labels spread over ranks.
// Every row and column must hold at least one sample (as contingency_matrix's do).
struct ClusteringScores {
  double nmi = 0, ari = 0, acc = 0, purity = 0, homogeneity = 0, completeness = 0, v_measure = 0;
  double ami = 0, fowlkes_mallows = 0;
  std::int64_t n_samples = 0;
};
ClusteringScores clustering_scores(const ContingencyTable& table);

// ---- scoring a clustering from the data alone ------------------------------------------------

struct SilhouetteOptions {
  // 0: every sample. Otherwise the score of a random subset of this many samples (drawn from a
  // private stream keyed by `seed`), for data too large for all N^2 distances.
  std::int64_t sample_size = 0;
  std::uint64_t seed = 0;
};
// Silhouette coefficient (Rousseeuw, 1987), Euclidean: for sample i with a = mean distance to
// its own cluster (without itself) and b = smallest mean distance to another cluster,
// s_i = (b - a) / max(a, b); 0 for a sample alone in its cluster. Needs 2 <= clusters <= N - 1.
// Distances are computed in blocks of rows through one GEMM each, so memory stays O(N).
double silhouette(const Tensor& X, const Labels& labels, SilhouetteOptions options = {});
// The per-sample s_i, float64 [N].
Tensor silhouette_samples(const Tensor& X, const Labels& labels);

// Davies-Bouldin index (1979): the mean over clusters of max_j (s_i + s_j) / d(c_i, c_j), with
// s_i the mean distance of cluster i's points to its centroid c_i. Lower is better; 0 at best.
double davies_bouldin(const Tensor& X, const Labels& labels);

// Calinski-Harabasz index (1974), the variance ratio criterion: the between-cluster dispersion
// over the within-cluster one, each per degree of freedom,
//   [sum_k n_k |c_k - c|^2 / (K - 1)] / [sum_i |x_i - c_k(i)|^2 / (N - K)],
// c_k the cluster means, c the mean of all samples. Higher is better; 1 when there is no
// within-cluster dispersion at all (scikit-learn's convention). Needs 2 <= clusters <= N - 1.
double calinski_harabasz(const Tensor& X, const Labels& labels);

// ---- scoring an embedding --------------------------------------------------------------------

// Trustworthiness T(k) (Venna & Kaski, 2001; JULE's Table 14 uses T(12)): how far, in the
// original space, the k nearest neighbours in the embedding are. With r(i, j) the rank of j
// among i's neighbours in X (1 = nearest) and N_k(i) i's k nearest neighbours in the embedding,
//   T(k) = 1 - 2 / (N k (2N - 3k - 1)) sum_i sum_{j in N_k(i)} max(0, r(i, j) - k).
// 1 when no embedding neighbour is an intruder. Euclidean; needs k < N / 2. Matches
// sklearn.manifold.trustworthiness (ties, which random data does not have, aside).
double trustworthiness(const Tensor& X, const Tensor& embedding, std::int64_t n_neighbors = 5);

// k-NN preservation: the mean fraction of each sample's k nearest other samples in X that are
// also among its k nearest in the embedding, (1 / N k) sum_i |N_k^X(i) & N_k^E(i)| (the
// neighbourhood-preservation score of Venna & Kaski 2006's family, as used to compare UMAP with
// t-SNE). 1 when every neighbourhood is kept. Euclidean, exact (all N^2 distances, in blocks).
double knn_preservation(const Tensor& X, const Tensor& embedding, std::int64_t n_neighbors = 10);

// Leave-one-out k-NN classification accuracy of an embedding: each sample is classified by the
// majority label of its k nearest other samples (Euclidean; ties between labels go to the
// smaller label value, as scikit-learn's KNeighborsClassifier). 1 - knn_accuracy(E, y, 1) is
// the 1-NN error of JULE's Table 13.
double knn_accuracy(const Tensor& embedding, const Labels& labels, std::int64_t k = 1);

}  // namespace cake::metrics
