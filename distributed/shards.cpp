// shards.cpp: the helpers of detail/shards.h.
#include "cake/distributed/detail/shards.h"

#include "cake/algorithms/detail/common.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"

namespace cake::distributed::shards {

std::vector<double> over_ranks(ProcessGroup& group, const std::vector<double>& local, ReduceOp op) {
  Tensor t = algorithms::detail::to_tensor(local);
  group.all_reduce(t, op);
  const double* p = t.data_ptr<double>();
  return {p, p + local.size()};
}

void sum_over_ranks(ProcessGroup& group, std::vector<double>& values) {
  if (group.world_size() == 1 || values.empty()) return;
  Tensor t = from_blob(values.data(), {static_cast<std::int64_t>(values.size())}, kFloat64);
  group.all_reduce(t, ReduceOp::Sum);
}

Layout make_layout(ProcessGroup& group, std::int64_t local_rows, std::int64_t d, const char* who) {
  Tensor mine = tensor(std::vector<std::int64_t>{local_rows, d}, {1, 2});
  const Tensor all = group.all_gather(mine);  // [p, 2]
  Layout layout;
  layout.rank = group.rank();
  layout.offsets.push_back(0);
  const std::int64_t* a = all.data_ptr<std::int64_t>();
  for (int r = 0; r < group.world_size(); ++r) {
    CAKE_CHECK(a[2 * r + 1] == d, who, ": rank ", r, " holds rows of ", a[2 * r + 1], " features, rank ", group.rank(),
               " of ", d, ": every shard must have the same columns");
    layout.offsets.push_back(layout.offsets.back() + a[2 * r]);
  }
  layout.n = layout.offsets.back();
  return layout;
}

void check_generators_agree(ProcessGroup& group, const char* who) {
  const GeneratorState saved = get_rng_state();
  const double draw = algorithms::detail::uniform_draws(1)[0];
  set_rng_state(saved);
  Tensor spread = tensor(std::vector<double>{draw, -draw});
  group.all_reduce(spread, ReduceOp::Max);
  const double* s = spread.data_ptr<double>();
  CAKE_CHECK(s[0] == -s[1], who, ": the ranks' random generators differ (without random_state each rank "
             "draws from its own); seed every rank the same with cake::manual_seed, or set random_state");
}

}  // namespace cake::distributed::shards
