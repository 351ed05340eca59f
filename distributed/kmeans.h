// kmeans.h: k-means on data sharded by rows over the ranks of a process group.
//
//   auto group = cake::distributed::init_process_group();
//   auto shard = cake::distributed::shard_rows(X.size(0), group->rank(), group->world_size());
//   cake::Tensor mine = X.narrow(0, shard.begin, shard.size());   // or read only these rows
//   cake::distributed::KMeansResult fit = cake::distributed::fit_kmeans(*group, mine,
//       {.n_clusters = 10, .n_init = 3, .random_state = 0});
//   cake::Tensor labels = group->all_gather(fit.labels);           // [N], in row order
//
// The same algorithm as cake::cluster::KMeans (algorithms/cluster/kmeans.h: Lloyd's steps from
// k-means++ seeds, n_init restarts, scikit-learn's centring and tolerance), with every quantity
// that sums over the points summed over the ranks (MPI all-reduce), so that each rank reads
// only its own rows and every rank ends with the same centres:
//   - the column means (centring) and the mean variance (tolerance): sums and counts;
//   - Lloyd's update mu_j = (sum_{i in C_j} x_i) / |C_j| (Lloyd 1982): each rank assigns its own
//     points to the nearest centre and sums them per cluster; the k x d sums and k counts are
//     all-reduced, and every rank divides them identically;
//   - k-means++ (Arthur & Vassilvitskii 2007), scikit-learn's greedy form: the random draws
//     are made identically on every rank (the same seed), each rank knows the total of D(x)^2
//     on every rank, so the rank holding the drawn point is known to all; that rank supplies
//     the row, and the candidates' potentials are all-reduced;
//   - an emptied cluster takes the point farthest from its centre over all ranks (each rank
//     offers its farthest points, all-gathered, and all apply the same moves).
// So from the same seed the result equals the single-process fit on the concatenated rows
// (shards in rank order), up to the rounding of sums taken in a different order: the test
// tests/distributed/test_ranks.cpp checks centres to 1e-5 and labels exactly.
//
// The steps are Lloyd's whatever options.algorithm says: Elkan's step patches the cluster sums
// point by point, which does not survive the all-reduce; both reach the same fixed point.
// Unset random_state: each rank draws from its own global generator, which must then be seeded
// the same (cake::manual_seed) on every rank; the fit checks that the seeds agree.
#pragma once

#include <cstdint>
#include <vector>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/distributed/process_group.h"

namespace cake::distributed {

struct KMeansResult {
  Tensor centers;           // [K, D], the data's dtype, the same on every rank
  Tensor labels;            // [this rank's rows] int64: the nearest final centre of each local row
  double inertia = 0.0;     // over all ranks' points
  std::int64_t n_iter = 0;  // iterations of the winning run
  std::int64_t n_samples = 0;  // over all ranks
};

// Every rank calls it with its rows X_local [n_r, D] (n_r >= 1; D the same on every rank).
KMeansResult fit_kmeans(ProcessGroup& group, const Tensor& X_local, const cluster::KMeansOptions& options);

// The k global rows (shards in rank order) that k-means++ seeding picks from the rows as given
// (not centred), with the draws of cluster::kmeans::kmeans_plus_plus on the concatenated rows:
// its `indices`. GaussianMixture's init_params="k-means++" starts from them (distributed/gmm.h).
std::vector<std::int64_t> kmeans_plus_plus_rows(ProcessGroup& group, const Tensor& X_local, std::int64_t k);

}  // namespace cake::distributed
