// evaluation.h: the scores that `cake eval` prints and the commands add to metrics.json
// (save_labels the clustering scores, umap the embedding scores), computed by cake::metrics
// (algorithms/metrics/metrics.h).
//
//   nlohmann::json scores = clustering_scores(truth, predicted);
//   // {"nmi": 0.51, "ari": 0.36, "acc": 0.55, "purity": 0.58, "homogeneity": ..., "completeness": ...,
//   //  "v_measure": ..., "ami": ..., "fowlkes_mallows": ..., "n_clusters": 10, "n_classes": 10,
//   //  "n_samples": 10000}
//   std::cout << format_scores(scores);   // the same as an aligned two-column table
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "cake/algorithms/metrics/metrics.h"
#include "cake/tensor/tensor.h"

namespace cake::generative {
class RBM;
class DeepBoltzmannMachine;
}  // namespace cake::generative

namespace cake::cli {

// How many distinct cluster ids >= 0 a labelling has, and how many samples are noise (-1).
struct LabelCounts {
  std::int64_t clusters = 0, noise = 0;
};
LabelCounts count_labels(const Tensor& labels);

// truth and predicted: integer [N]. Adds n_noise when some predictions are -1.
nlohmann::json clustering_scores(const Tensor& truth, const Tensor& predicted);

// The scores of a clustering from the data alone, for labels without a truth to compare with:
// silhouette (on options.sample_size random samples when there are more;
// silhouette_sample_size says how many), davies_bouldin, calinski_harabasz
// (algorithms/metrics/metrics.h). Noise (-1) is left out: they score the clusters, not the
// points no cluster took. Empty, with the reason in `why_not`, when the clusters are too few or
// too many for them (2 to N - 1 needed); without the silhouette, and the reason in `why_not`,
// when the random sample has too few or too many clusters for it.
nlohmann::json internal_scores(const Tensor& x, const Tensor& predicted, metrics::SilhouetteOptions options,
                               std::string& why_not);

// How well an embedding keeps the neighbourhoods of the data it was made from: trustworthiness
// T(5) (Venna & Kaski 2001) and k-NN preservation (10 neighbours), and with `labels` the
// leave-one-out 1-NN accuracy of the embedding, all on at most max_samples rows (a random
// subset drawn from `seed` when there are more, "metric_samples" then says how many: each needs
// all pairwise distances; 0: every row). A score the rows are too few for is left out.
nlohmann::json embedding_scores(const Tensor& x, const Tensor& embedding, std::int64_t max_samples, std::uint64_t seed,
                                const Tensor& labels = Tensor());

// The linear probe of a representation (Alain & Bengio 2016): multinomial logistic regression
// (algorithms/train/linear_probe.h, l2 1e-4) fitted on up to 10,000 training codes and scored on
// the test codes: {"probe_accuracy", "probe_train_samples"}.
nlohmann::json linear_probe_scores(const Tensor& train_codes, const Tensor& train_labels, const Tensor& test_codes,
                                   const Tensor& test_labels);

// The log-likelihood of a Boltzmann machine (`cake run rbm`, `cake run dbm`): log Z by annealed
// importance sampling (algorithms/generative/ais.h: `runs` runs of `steps` steps, the base model
// from the base rates of `train`), then the mean log p(v) of up to `rows` rows of each split (0:
// all), or for a DBM its mean-field lower bound. The rows are binarised by sampling, each grey
// level the probability of a 1, so that the scores are log-probabilities of binary vectors, as
// the model defines them (values already 0 or 1 stay as they are). `seed` fixes the annealing and
// the binarisation. Keys: ais_log_partition, ais_log_partition_low / _high (-/+ 3 standard
// errors; null when the low one is -inf), ais_effective_runs, ais_time_s, and log_likelihood /
// test_log_likelihood (DBM: log_likelihood_lower_bound / test_log_likelihood_lower_bound); no
// test key without a test split.
struct LikelihoodScoring {
  std::int64_t runs = 100, steps = 14500, rows = 10000;
  std::uint64_t seed = 0;
};
nlohmann::json likelihood_scores(const generative::RBM& rbm, const Tensor& train, const Tensor& test,
                                 const LikelihoodScoring& scoring);
nlohmann::json likelihood_scores(const generative::DeepBoltzmannMachine& dbm, const Tensor& train, const Tensor& test,
                                 const LikelihoodScoring& scoring);

// One "name   value" line per score, in the order above, the values from column 15 (a name
// longer than 13 characters is followed by one space); floats with 4 decimals.
std::string format_scores(const nlohmann::json& scores);

}  // namespace cake::cli
