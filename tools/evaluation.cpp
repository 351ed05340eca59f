// evaluation.cpp: clustering scores through cake::metrics (see evaluation.h).
#include "tools/evaluation.h"

#include <cstdio>
#include <set>

#include "cake/algorithms/metrics/metrics.h"

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

std::string format_scores(const nlohmann::json& scores) {
  static const char* const kOrder[] = {"nmi",         "ari",          "acc",       "purity",
                                       "homogeneity", "completeness", "v_measure", "ami",
                                       "fowlkes_mallows", "n_clusters", "n_noise", "n_classes",
                                       "n_samples"};
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

}  // namespace cake::cli
