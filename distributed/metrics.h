// metrics.h: clustering scores of labels sharded by rows over the ranks of a group.
//
//   auto group = cake::distributed::init_process_group();
//   auto shard = cake::distributed::shard_rows(truth.size(0), group->rank(), group->world_size());
//   cake::metrics::ClusteringScores s = cake::distributed::clustering_scores(
//       *group, truth.narrow(0, shard.begin, shard.size()), predicted.narrow(0, shard.begin, shard.size()));
//   double nmi = s.nmi, acc = s.acc;          // the same on every rank
//
// NMI, ARI, ACC (the Hungarian method), purity and the V-measure all read the labels only
// through the contingency table n_ij (samples of class i in cluster j; algorithms/metrics/
// metrics.h), and the table of the whole data set is the sum of the shards' tables. So each rank
// counts its own rows into a table indexed by the values present on any rank (all-gathered),
// one all-reduce sums the tables, and every rank scores the same table: the scores equal the
// single-process scores of the concatenated labels exactly (integer counts, no rounding), with
// R x C integers sent instead of N labels.
#pragma once

#include "cake/algorithms/metrics/metrics.h"
#include "cake/distributed/process_group.h"

namespace cake::distributed {

// The contingency table of all ranks' labels (rows: the sorted true values present on any rank;
// columns: the predicted ones), the same on every rank.
metrics::ContingencyTable contingency_matrix(ProcessGroup& group, const metrics::Labels& labels_true_local,
                                             const metrics::Labels& labels_pred_local);

// metrics::clustering_scores of that table.
metrics::ClusteringScores clustering_scores(ProcessGroup& group, const metrics::Labels& labels_true_local,
                                            const metrics::Labels& labels_pred_local);

}  // namespace cake::distributed
