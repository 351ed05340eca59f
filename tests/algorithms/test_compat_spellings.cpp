// The spellings from before algorithms/ was split into family namespaces must keep compiling and
// name the same entities: cake::algorithms::KMeans is cake::cluster::KMeans, cake::image::write_png
// is cake::data::image::write_png, and so on (the compatibility blocks at the end of each header).
#include <type_traits>

#include <cake/cake.h>

#include "cake/algorithms/cluster/agglomerative.h"
#include "cake/algorithms/cluster/dbscan.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/cluster/kmeans_steps.h"
#include "cake/algorithms/cluster/minibatch_kmeans.h"
#include "cake/algorithms/cluster/spectral.h"
#include "cake/algorithms/decomposition/dictionary_learning.h"
#include "cake/algorithms/decomposition/fastica.h"
#include "cake/algorithms/decomposition/nmf.h"
#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/detail/lanczos.h"
#include "cake/algorithms/manifold/tsne.h"
#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/algorithms/neighbors/kd_tree.h"
#include "cake/algorithms/neighbors/sparse_graph.h"
#include "cake/data/image.h"
#include "helpers.h"

namespace {
template <class A, class B>
constexpr bool same = std::is_same_v<A, B>;
}  // namespace

// Types: old spelling == new spelling.
static_assert(same<cake::algorithms::KMeans, cake::cluster::KMeans>);
static_assert(same<cake::algorithms::KMeansOptions, cake::cluster::KMeansOptions>);
static_assert(same<cake::algorithms::MiniBatchKMeans, cake::cluster::MiniBatchKMeans>);
static_assert(same<cake::algorithms::AgglomerativeClustering, cake::cluster::AgglomerativeClustering>);
static_assert(same<cake::algorithms::Linkage, cake::cluster::Linkage>);
static_assert(same<cake::algorithms::SpectralClustering, cake::cluster::SpectralClustering>);
static_assert(same<cake::algorithms::DBSCAN, cake::cluster::DBSCAN>);
static_assert(same<cake::algorithms::kmeans::Dataset<double>, cake::cluster::kmeans::Dataset<double>>);
static_assert(same<cake::algorithms::kmeans::StoppingRule, cake::cluster::kmeans::StoppingRule>);
static_assert(same<cake::algorithms::GaussianMixture, cake::mixture::GaussianMixture>);
static_assert(same<cake::algorithms::GaussianMixtureOptions, cake::mixture::GaussianMixtureOptions>);
static_assert(same<cake::algorithms::PCA, cake::decomposition::PCA>);
static_assert(same<cake::algorithms::NMF, cake::decomposition::NMF>);
static_assert(same<cake::algorithms::FastICA, cake::decomposition::FastICA>);
static_assert(same<cake::algorithms::DictionaryLearning, cake::decomposition::DictionaryLearning>);
static_assert(same<cake::algorithms::SparseCoder, cake::decomposition::SparseCoder>);
static_assert(same<cake::algorithms::TSNE, cake::manifold::TSNE>);
static_assert(same<cake::algorithms::tsne::SparseMatrix, cake::manifold::tsne::SparseMatrix>);
static_assert(same<cake::algorithms::tsne::FftOptions, cake::manifold::tsne::FftOptions>);
static_assert(same<cake::algorithms::KDTree<double>, cake::neighbors::KDTree<double>>);
static_assert(same<cake::algorithms::SparseGraph, cake::neighbors::SparseGraph>);
static_assert(same<cake::algorithms::Autoencoder, cake::networks::Autoencoder>);
static_assert(same<cake::algorithms::MLPAutoencoder, cake::networks::MLPAutoencoder>);
static_assert(same<cake::algorithms::ConvAutoencoder, cake::networks::ConvAutoencoder>);
static_assert(same<cake::algorithms::VariationalAutoencoder, cake::networks::VariationalAutoencoder>);
static_assert(same<cake::algorithms::MLPVAE, cake::networks::MLPVAE>);
static_assert(same<cake::algorithms::ConvVAE, cake::networks::ConvVAE>);
static_assert(same<cake::algorithms::Trainer, cake::train::Trainer>);
static_assert(same<cake::algorithms::TrainerOptions, cake::train::TrainerOptions>);
static_assert(same<cake::algorithms::EncoderClassifier, cake::train::EncoderClassifier>);
static_assert(same<cake::metrics::LogisticRegression, cake::train::LogisticRegression>);
static_assert(same<cake::algorithms::Assignment, cake::metrics::Assignment>);
static_assert(same<cake::algorithms::LatentClusteringOptions, cake::deep_clustering::LatentClusteringOptions>);
static_assert(same<cake::algorithms::LanczosResult, cake::algorithms::detail::LanczosResult>);
static_assert(same<cake::image::Canvas, cake::data::image::Canvas>);
static_assert(same<cake::image::Color, cake::data::image::Color>);

// Functions: the old qualified name is the same function.
static_assert(same<decltype(&cake::algorithms::l2_normalize_rows), decltype(&cake::decomposition::l2_normalize_rows)>);
TEST_CASE("old spellings name the same functions") {
  CHECK((&cake::algorithms::l2_normalize_rows == &cake::decomposition::l2_normalize_rows));
  CHECK((&cake::algorithms::parse_linkage == &cake::cluster::parse_linkage));
  CHECK((&cake::algorithms::standardize_columns == &cake::deep_clustering::standardize_columns));
  CHECK((&cake::algorithms::train_validation_split == &cake::train::train_validation_split));
  CHECK((&cake::algorithms::encode_all == &cake::networks::encode_all));
  CHECK((&cake::algorithms::kmeans::nearest_centers == &cake::cluster::kmeans::nearest_centers));
  CHECK((&cake::algorithms::tsne::joint_probabilities == &cake::manifold::tsne::joint_probabilities));
  CHECK((&cake::algorithms::lanczos_largest == &cake::algorithms::detail::lanczos_largest));
  CHECK((&cake::image::write_png == &cake::data::image::write_png));
  CHECK((&cake::image::palette == &cake::data::image::palette));
}

TEST_CASE("code written against the old spellings still runs") {
  using namespace cake;
  manual_seed(0);
  const Tensor x = randn({60, 3}, kFloat64);
  algorithms::KMeans km({.n_clusters = 2, .n_init = 1, .random_state = 0});
  CHECK(km.fit_predict(x).sizes() == Shape{60});
  algorithms::GaussianMixture gmm({.n_components = 2, .random_state = 0});
  CHECK(gmm.fit_predict(x).sizes() == Shape{60});
  CHECK(algorithms::cluster_codes(x, {.n_clusters = 2, .n_init = 1}).sizes() == Shape{60});
  const algorithms::Assignment a = algorithms::linear_sum_assignment(tensor({1.0, 0.0, 0.0, 1.0}, {2, 2}, kFloat64));
  CHECK(a.row_to_col == std::vector<std::int64_t>{1, 0});
  image::Canvas canvas(4, 3, image::kWhite);
  CHECK(canvas.width() == 4);
  {
    using namespace cake::algorithms;  // the old blanket spelling
    PCA pca({.n_components = 2});
    CHECK(pca.fit_transform(x).sizes() == Shape{60, 2});
  }
}
