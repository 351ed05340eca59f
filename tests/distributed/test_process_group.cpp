// One process, no launcher: the "local" group, the row shards, the distributed sampler, and the
// errors for backends that cannot be had. (The collectives across ranks: test_ranks.cpp.)
#include <doctest/doctest.h>

#include <cstdlib>
#include <set>

#include "cake/distributed/data_parallel.h"
#include "cake/distributed/process_group.h"
#include "cake/data/sampler.h"
#include "cake/tensor/creation.h"
#include "helpers.h"

using namespace cake;
namespace dist = cake::distributed;
using cake::testing::values;

TEST_CASE("without a launcher the group is one local rank, and every collective is the identity") {
  REQUIRE_FALSE(dist::launched_by_mpi());  // ctest runs this test alone
  auto g = dist::init_process_group();
  CHECK(g->backend() == "local");
  CHECK(g->rank() == 0);
  CHECK(g->world_size() == 1);
  Tensor x = tensor({1.0, 2.0, 3.0});
  g->all_reduce(x, dist::ReduceOp::Mean);
  g->broadcast(x, 0);
  g->barrier();
  CHECK(values(x) == std::vector<double>{1.0, 2.0, 3.0});
  CHECK(values(g->all_gather(x)) == values(x));
  CHECK(values(g->reduce_scatter(x, dist::ReduceOp::Sum)) == values(x));
  CHECK_THROWS_WITH_AS(g->broadcast(x, 1), doctest::Contains("root 1"), cake::Error);
  Tensor counts = tensor(std::vector<std::int64_t>{1, 2});
  CHECK_THROWS_WITH_AS(g->all_reduce(counts, dist::ReduceOp::Mean), doctest::Contains("floating-point"), cake::Error);
  CHECK(dist::default_group().world_size() == 1);
}

TEST_CASE("backends: an unknown name, or one that this build or machine lacks, is a clear error") {
  CHECK_THROWS_WITH_AS(dist::init_process_group({.backend = "gloo"}), doctest::Contains("unknown backend \"gloo\""),
                       cake::Error);
  // nccl: not built (no CUDA or NCCL), or built but this machine has no GPU; a GPU machine
  // gets a one-rank group.
  if (!dist::backend_available("nccl"))
    CHECK_THROWS_WITH_AS(dist::init_process_group({.backend = "nccl"}), doctest::Contains("not built"), cake::Error);
  CHECK(dist::backend_available("local"));
  CHECK_THROWS_WITH_AS(dist::init_process_group()->set_timeout(0.0), doctest::Contains("positive"), cake::Error);
  setenv("CAKE_DIST_TIMEOUT_S", "12.5", 1);
  CHECK(dist::init_process_group()->timeout_seconds() == 12.5);
  setenv("CAKE_DIST_TIMEOUT_S", "soon", 1);
  CHECK_THROWS_WITH_AS(dist::init_process_group(), doctest::Contains("CAKE_DIST_TIMEOUT_S"), cake::Error);
  unsetenv("CAKE_DIST_TIMEOUT_S");
}

TEST_CASE("shard_rows: contiguous, disjoint, covering, the first n mod p ranks one row longer") {
  for (int p : {1, 2, 3, 7}) {
    std::int64_t next = 0;
    for (int r = 0; r < p; ++r) {
      const dist::Shard s = dist::shard_rows(10, r, p);
      CHECK(s.begin == next);
      CHECK(s.size() == 10 / p + (r < 10 % p ? 1 : 0));
      next = s.end;
    }
    CHECK(next == 10);
  }
  CHECK_THROWS_AS(dist::shard_rows(10, 2, 2), cake::Error);
}

TEST_CASE("distributed sampler: disjoint equal shards covering the epoch, reshuffled by epoch, keyed by the seed") {
  const std::int64_t n = 10;
  for (int p : {1, 2, 3, 4}) {
    CAPTURE(p);
    std::multiset<std::int64_t> seen;
    for (int r = 0; r < p; ++r) {
      const Tensor idx = dist::distributed_indices(n, /*epoch=*/1, /*seed=*/5, r, p);
      CHECK(idx.numel() == (n + p - 1) / p);  // every rank the same number of steps
      for (std::int64_t v : values(idx)) seen.insert(v);
    }
    // Every sample once, plus the padding (repeats of the epoch's first samples).
    CHECK(static_cast<std::int64_t>(seen.size()) == ((n + p - 1) / p) * p);
    for (std::int64_t v = 0; v < n; ++v) CHECK(seen.count(v) >= 1);
    if (n % p == 0)
      for (std::int64_t v = 0; v < n; ++v) CHECK(seen.count(v) == 1);
  }
  // One rank: exactly the DataLoader's own shuffle of that epoch.
  CHECK(values(dist::distributed_indices(n, 3, 5, 0, 1)) == values(data::seeded_permutation(n, 5, 3)));
  CHECK(values(dist::distributed_indices(n, 1, 5, 0, 2)) != values(dist::distributed_indices(n, 2, 5, 0, 2)));
  CHECK(values(dist::distributed_indices(n, 1, 5, 0, 2)) != values(dist::distributed_indices(n, 1, 6, 0, 2)));
  CHECK(values(dist::distributed_indices(n, 1, 5, 1, 2, /*shuffle=*/false)) == std::vector<double>{1, 3, 5, 7, 9});
}
