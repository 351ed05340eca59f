// metrics.cpp: the contingency table of sharded labels, summed over the ranks. See metrics.h.
#include "cake/distributed/metrics.h"

#include <algorithm>

#include "cake/tensor/creation.h"

namespace cake::distributed {

namespace {

// The sorted distinct values of `values` over every rank (all_gather takes shards of any length).
std::vector<std::int64_t> values_on_any_rank(ProcessGroup& group, const std::vector<std::int64_t>& values) {
  std::vector<std::int64_t> distinct = values;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const Tensor all = group.all_gather(tensor(distinct, {static_cast<std::int64_t>(distinct.size())}));
  const std::int64_t* a = all.data_ptr<std::int64_t>();
  std::vector<std::int64_t> merged(a, a + all.numel());
  std::sort(merged.begin(), merged.end());
  merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
  return merged;
}

}  // namespace

metrics::ContingencyTable contingency_matrix(ProcessGroup& group, const metrics::Labels& labels_true_local,
                                             const metrics::Labels& labels_pred_local) {
  CAKE_CHECK(labels_true_local.size() == labels_pred_local.size(), "distributed contingency_matrix: rank ",
             group.rank(), " holds ", labels_true_local.size(), " true labels but ", labels_pred_local.size(),
             " predicted ones");
  metrics::ContingencyTable table;
  table.row_labels = values_on_any_rank(group, labels_true_local.values());
  table.col_labels = values_on_any_rank(group, labels_pred_local.values());
  const auto rows = static_cast<std::int64_t>(table.row_labels.size());
  const auto cols = static_cast<std::int64_t>(table.col_labels.size());
  CAKE_CHECK(rows > 0, "distributed contingency_matrix: no labels on any rank");
  table.counts = zeros({rows, cols}, kInt64);
  std::int64_t* n = table.counts.data_ptr<std::int64_t>();
  auto index = [](const std::vector<std::int64_t>& sorted, std::int64_t v) {
    return std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin();
  };
  for (std::int64_t s = 0; s < labels_true_local.size(); ++s)
    ++n[index(table.row_labels, labels_true_local.values()[s]) * cols +
        index(table.col_labels, labels_pred_local.values()[s])];
  group.all_reduce(table.counts, ReduceOp::Sum);
  return table;
}

metrics::ClusteringScores clustering_scores(ProcessGroup& group, const metrics::Labels& labels_true_local,
                                            const metrics::Labels& labels_pred_local) {
  return metrics::clustering_scores(contingency_matrix(group, labels_true_local, labels_pred_local));
}

}  // namespace cake::distributed
