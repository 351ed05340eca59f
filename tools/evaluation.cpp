// evaluation.cpp: the scores of clusterings and embeddings through cake::metrics (see evaluation.h).
#include "tools/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/generative/ais.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/train/linear_probe.h"
#include "cake/tensor/creation.h"

namespace cake::cli {

LabelCounts count_labels(const Tensor& labels) {
  const Tensor c = labels.detach().to(kCPU, kInt64).contiguous();
  const std::int64_t* p = c.data_ptr<std::int64_t>();
  std::set<std::int64_t> distinct;
  LabelCounts counts;
  for (std::int64_t i = 0; i < c.numel(); ++i) {
    if (p[i] == -1) {  // -1 marks noise (load_labels refuses any other negative)
      ++counts.noise;
    } else {
      distinct.insert(p[i]);
    }
  }
  counts.clusters = static_cast<std::int64_t>(distinct.size());
  return counts;
}

nlohmann::json clustering_scores(const Tensor& truth, const Tensor& predicted) {
  CAKE_CHECK(truth.dim() == 1 && predicted.dim() == 1 && truth.size(0) == predicted.size(0),
             "clustering scores: expected true and predicted labels of the same shape [N], got ", truth.sizes(),
             " and ", predicted.sizes());
  const metrics::Labels t(truth.detach().cpu()), p(predicted.detach().cpu());
  const metrics::VMeasure v = metrics::homogeneity_completeness_v_measure(t, p);
  const LabelCounts counts = count_labels(predicted);
  nlohmann::json scores = {
      {"nmi", metrics::nmi(t, p)},
      {"ari", metrics::ari(t, p)},
      {"acc", metrics::acc(t, p)},
      {"purity", metrics::purity(t, p)},
      {"homogeneity", v.homogeneity},
      {"completeness", v.completeness},
      {"v_measure", v.v_measure},
      {"ami", metrics::ami(t, p)},
      {"fowlkes_mallows", metrics::fowlkes_mallows(t, p)},
      {"n_clusters", counts.clusters},
      {"n_classes", count_labels(truth).clusters},
      {"n_samples", truth.size(0)},
  };
  if (counts.noise > 0) scores["n_noise"] = counts.noise;
  return scores;
}

nlohmann::json internal_scores(const Tensor& x, const Tensor& predicted, metrics::SilhouetteOptions options,
                               std::string& why_not) {
  CAKE_CHECK(x.dim() == 2 && predicted.dim() == 1 && x.size(0) == predicted.size(0),
             "internal scores: expected samples [N, D] and labels [N], got ", x.sizes(), " and ", predicted.sizes());
  const Tensor labels = predicted.detach().to(kCPU, kInt64).contiguous();
  const Tensor kept = (labels != Scalar(-1)).nonzero().reshape({-1});
  const Tensor rows = x.detach().cpu().index_select(0, kept), clustered = labels.index_select(0, kept);
  const std::int64_t n = rows.size(0), clusters = count_labels(clustered).clusters;
  if (clusters < 2 || clusters > n - 1) {
    why_not = std::to_string(clusters) + " cluster(s) among " + std::to_string(n) +
              " samples not marked noise; silhouette, Davies-Bouldin and Calinski-Harabasz need 2 to N - 1";
    return nlohmann::json::object();
  }
  const metrics::Labels l(clustered);
  nlohmann::json scores = {{"davies_bouldin", metrics::davies_bouldin(rows, l)},
                           {"calinski_harabasz", metrics::calinski_harabasz(rows, l)}};
  try {
    scores["silhouette"] = metrics::silhouette(rows, l, options);
    scores["silhouette_sample_size"] = options.sample_size > 0 ? std::min(options.sample_size, n) : n;
  } catch (const Error& e) {
    // The random sample can miss a small cluster, or hold a cluster per point: the other
    // scores stand; a larger --sample-size (0: all) may give this one.
    why_not = std::string("no silhouette: ") + e.what();
  }
  return scores;
}

nlohmann::json embedding_scores(const Tensor& x, const Tensor& embedding, std::int64_t max_samples, std::uint64_t seed,
                                const Tensor& labels) {
  constexpr std::int64_t kTrustworthinessNeighbors = 5;  // sklearn.manifold.trustworthiness's default
  constexpr std::int64_t kPreservationNeighbors = 10;
  CAKE_CHECK(x.dim() == 2 && embedding.dim() == 2 && x.size(0) == embedding.size(0),
             "embedding scores: expected data [N, D] and an embedding [N, d] of the same rows, got ", x.sizes(), " and ",
             embedding.sizes());
  const std::int64_t n = x.size(0);
  nlohmann::json scores = nlohmann::json::object();
  Tensor xs = x.detach().cpu(), es = embedding.detach().cpu(), ls = labels.defined() ? labels.detach().cpu() : Tensor();
  if (max_samples > 0 && n > max_samples) {
    std::vector<std::int64_t> pick;
    {
      algorithms::detail::SeedScope scope(seed);
      pick = algorithms::detail::permutation(n);
    }
    pick.resize(static_cast<std::size_t>(max_samples));
    std::sort(pick.begin(), pick.end());
    const Tensor index = tensor(pick, {max_samples});
    xs = xs.index_select(0, index);
    es = es.index_select(0, index);
    if (ls.defined()) ls = ls.index_select(0, index);
    scores["metric_samples"] = max_samples;
  }
  const std::int64_t m = xs.size(0);
  if (2 * kTrustworthinessNeighbors < m) scores["trustworthiness"] = metrics::trustworthiness(xs, es, kTrustworthinessNeighbors);
  if (kPreservationNeighbors < m) scores["knn_preservation"] = metrics::knn_preservation(xs, es, kPreservationNeighbors);
  if (ls.defined() && m > 1) scores["knn_accuracy"] = metrics::knn_accuracy(es, metrics::Labels(ls), 1);
  return scores;
}

std::string format_scores(const nlohmann::json& scores) {
  static const char* const kOrder[] = {
      // against true labels
      "nmi", "ari", "acc", "purity", "homogeneity", "completeness", "v_measure", "ami", "fowlkes_mallows",
      // from the data alone
      "silhouette", "silhouette_sample_size", "davies_bouldin", "calinski_harabasz",
      // an embedding
      "trustworthiness", "knn_preservation", "knn_accuracy", "metric_samples",
      // what was scored
      "n_clusters", "n_noise", "n_classes", "n_samples"};
  std::string table;
  char line[96];
  for (const char* name : kOrder) {
    const auto it = scores.find(name);
    if (it == scores.end()) continue;
    if (it->is_number_integer()) {
      std::snprintf(line, sizeof line, "%-13s %lld\n", name, static_cast<long long>(it->get<std::int64_t>()));
    } else {
      std::snprintf(line, sizeof line, "%-13s %.4f\n", name, it->get<double>());
    }
    table += line;
  }
  return table;
}

nlohmann::json linear_probe_scores(const Tensor& train_codes, const Tensor& train_labels, const Tensor& test_codes,
                                   const Tensor& test_labels) {
  // 10000 training codes are plenty for a linear model on a few hundred features, and keep the
  // full-batch L-BFGS to seconds.
  const std::int64_t n = std::min<std::int64_t>(train_codes.size(0), 10000);
  const Tensor x = train_codes.narrow(0, 0, n).detach().to(kCPU, kFloat64);
  const Tensor x_test = test_codes.detach().to(kCPU, kFloat64);
  metrics::LogisticRegression probe({.l2 = 1e-4, .max_iter = 500});
  probe.fit(x, train_labels.narrow(0, 0, n));
  return {{"probe_accuracy", probe.score(x_test, test_labels)}, {"probe_train_samples", n}};
}

namespace {

// The first `rows` rows of x (0: all), each value replaced by a 0/1 draw with it as the probability.
Tensor binarized_rows(const Tensor& x, std::int64_t rows) {
  const std::int64_t n = rows > 0 ? std::min(rows, x.size(0)) : x.size(0);
  return x.narrow(0, 0, n).detach().cpu().to(kFloat64).bernoulli();
}

// The shared part of both likelihood_scores: the estimate of log Z, then `score(rows, log Z)` per split.
template <class Machine>
nlohmann::json score_likelihood(const Machine& machine, const Tensor& train, const Tensor& test,
                                const LikelihoodScoring& scoring, const std::string& key,
                                const std::function<Tensor(const Tensor&, double)>& score) {
  const auto started = std::chrono::steady_clock::now();
  generative::AISOptions options{.n_runs = scoring.runs,
                                 .betas = generative::ais_schedule(scoring.steps),
                                 .base_visible_bias = generative::base_rate_visible_bias(train),
                                 .random_state = scoring.seed};
  const generative::PartitionEstimate z = generative::ais_log_partition(machine, options);
  nlohmann::json scores{{"ais_log_partition", z.log_partition},
                        {"ais_log_partition_high", z.log_partition_high},
                        {"ais_effective_runs", z.effective_sample_size}};
  scores["ais_log_partition_low"] = std::isfinite(z.log_partition_low) ? nlohmann::json(z.log_partition_low) : nlohmann::json();
  scores["ais_time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  algorithms::detail::SeedScope seed(scoring.seed);
  scores[key] = score(binarized_rows(train, scoring.rows), z.log_partition).mean().item<double>();
  if (test.defined()) scores["test_" + key] = score(binarized_rows(test, scoring.rows), z.log_partition).mean().item<double>();
  return scores;
}

}  // namespace

nlohmann::json likelihood_scores(const generative::RBM& rbm, const Tensor& train, const Tensor& test,
                                 const LikelihoodScoring& scoring) {
  return score_likelihood(rbm, train, test, scoring, "log_likelihood",
                          [&](const Tensor& v, double log_z) { return -rbm.free_energy(v) - log_z; });
}

nlohmann::json likelihood_scores(const generative::DeepBoltzmannMachine& dbm, const Tensor& train, const Tensor& test,
                                 const LikelihoodScoring& scoring) {
  return score_likelihood(dbm, train, test, scoring, "log_likelihood_lower_bound", [&](const Tensor& v, double log_z) {
    return generative::variational_lower_bound(dbm, v, log_z);
  });
}

}  // namespace cake::cli
