// detail/shards.h: what the row-sharded algorithms (distributed/kmeans.cpp, gmm.cpp,
// metrics.cpp) share: sums of plain vectors over the ranks, where every rank's rows start in the
// concatenated data, and the check that the ranks' random generators agree.
#pragma once

#include <cstdint>
#include <vector>

#include "cake/distributed/process_group.h"

namespace cake::distributed::shards {

// The element-wise sum (or max) over ranks of a vector of doubles.
std::vector<double> over_ranks(ProcessGroup& group, const std::vector<double>& local, ReduceOp op = ReduceOp::Sum);
// The same, in place.
void sum_over_ranks(ProcessGroup& group, std::vector<double>& values);

// What every rank knows about the sharding: the global row count and where each rank starts.
struct Layout {
  std::int64_t n = 0;                 // over all ranks
  std::vector<std::int64_t> offsets;  // first global row of each rank, and n at the end
  int rank = 0;
  std::int64_t begin() const { return offsets[static_cast<std::size_t>(rank)]; }
  std::int64_t local_rows() const { return offsets[static_cast<std::size_t>(rank) + 1] - begin(); }
  bool holds(std::int64_t global) const { return global >= begin() && global < begin() + local_rows(); }
};

// Gathers every rank's row count and checks that all hold `d` columns (`who` names the caller).
Layout make_layout(ProcessGroup& group, std::int64_t local_rows, std::int64_t d, const char* who);

// Without a random_state each rank draws from its own global generator, which must then be
// seeded the same everywhere, or the ranks would silently draw different seeds. Compares rank
// 0's next draw with ours (the generator's state is left as it was).
void check_generators_agree(ProcessGroup& group, const char* who);

}  // namespace cake::distributed::shards
