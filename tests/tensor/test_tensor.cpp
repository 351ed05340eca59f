// Tensor metadata, conversions, printing, errors, devices, the allocator.
#include <atomic>
#include <sstream>

#include "cake/tensor/blas.h"
#include "cake/tensor/parallel.h"
#include "helpers.h"

using namespace cake;
using cake::testing::values;

TEST_CASE("dtype conversion and promotion rules") {
  Tensor x = tensor({1.7, -2.2, 0.0}, {3});
  CHECK(values(x.to(kInt64)) == std::vector<double>{1, -2, 0});  // truncation toward zero
  CHECK(values(x.to(kBool)) == std::vector<double>{1, 1, 0});
  CHECK(x.to(kFloat64).dtype() == kFloat64);
  CHECK(x.to(kFloat32).is_same(x));  // no copy when already the dtype
  CHECK(promote_types(kInt64, kFloat32) == kFloat32);
  CHECK(promote_types(kBool, kUInt8) == kUInt8);
  CHECK((tensor(std::vector<bool>{true, false}) + 1).dtype() == kInt64);
  CHECK(element_size(kFloat64) == 8);
}

TEST_CASE("printing shows values, shape, dtype and device") {
  std::ostringstream s;
  s << tensor({1.0, 2.5, -3.0, 4.0}, {2, 2});
  const std::string text = s.str();
  CHECK(text.find("tensor([[ 1.0000,  2.5000],") != std::string::npos);
  CHECK(text.find("shape=[2, 2], dtype=float32, device=cpu") != std::string::npos);
  std::ostringstream big;
  big << arange(5000);
  CHECK(big.str().find("...") != std::string::npos);
  std::ostringstream scalar;
  scalar << tensor({7.0}, {}, kInt64);
  CHECK(scalar.str().find("tensor(7, shape=[]") != std::string::npos);
}

TEST_CASE("errors name both shapes, dtypes or devices") {
  CHECK_THROWS_WITH_AS(zeros({2, 3}).view({4, 2}), doctest::Contains("[4, 2]"), Error);
  CHECK_THROWS_WITH_AS(zeros({2}).data_ptr<double>(), doctest::Contains("float32"), Error);
  CHECK_THROWS_WITH_AS(zeros({2}).select(0, 5), doctest::Contains("out of range"), Error);
  CHECK_THROWS_WITH_AS(zeros({2, 2}).item<float>(), doctest::Contains("[2, 2]"), Error);
  CHECK_THROWS_AS(parse_device("gpu"), Error);
  CHECK(parse_device("cuda:1") == Device::cuda(1));
}

TEST_CASE("CUDA in a build or machine without it is a clear error, never a crash") {
  if (cuda::is_available()) return;
  CHECK_THROWS_WITH_AS(zeros({2}, Device::cuda()), doctest::Contains("cuda"), Error);
  CHECK_THROWS_WITH_AS(zeros({2}).to(Device::cuda()), doctest::Contains("CUDA"), Error);
}

TEST_CASE("from_blob wraps memory without copying; *_like copy geometry") {
  std::vector<float> buffer{1, 2, 3, 4, 5, 6};
  bool deleted = false;
  {
    Tensor t = from_blob(buffer.data(), {2, 3}, kFloat32, kCPU, [&](void*) { deleted = true; });
    t.fill_(9.0);
    CHECK(buffer[5] == 9.0f);
    Tensor z = zeros_like(t);
    CHECK(z.sizes() == t.sizes());
    CHECK(z.dtype() == kFloat32);
    CHECK(ones_like(t, kInt64).dtype() == kInt64);
    CHECK(full_like(t, 3).sizes() == Shape{2, 3});
    CHECK(randn_like(t).sizes() == Shape{2, 3});
  }
  CHECK(deleted);
}

TEST_CASE("the caching allocator reuses freed blocks") {
  empty_cache();
  const auto before = cpu_memory_stats().num_os_allocations;
  for (int i = 0; i < 10; ++i) {
    Tensor t = empty({1 << 20});  // 4 MiB, same size every time
    t.fill_(1.0);
  }
  CHECK(cpu_memory_stats().num_os_allocations - before <= 1);
  CHECK(cpu_memory_stats().cached_bytes >= (std::size_t{1} << 22));
  empty_cache();
  CHECK(cpu_memory_stats().cached_bytes == 0);
}

TEST_CASE("threads: set_num_threads is reflected and results do not depend on it") {
  manual_seed(3);
  Tensor x = randn({1000, 300}, kFloat64);
  set_num_threads(1);
  Tensor s1 = (x.exp() * 2.0).sum({0});
  set_num_threads(2);
  CHECK(get_num_threads() == 2);
  Tensor s2 = (x.exp() * 2.0).sum({0});
  CHECK(equal(s1, s2));
  // A length that no vector width divides: the vector and scalar versions of exp, tanh and
  // atan2 must meet the same elements whatever the split (cpu/loops.h, cpu/vector_math.h).
  Tensor u = randn({100003}), v = randn({100003});
  set_num_threads(1);
  const Tensor one = u.exp() + u.tanh() + atan2(u, v);
  set_num_threads(2);
  const Tensor two = u.exp() + u.tanh() + atan2(u, v);
  CHECK(equal(one, two));
}

TEST_CASE("threads: BLAS's single-thread guard leaves Cake's own loops their threads") {
  // NOTE [ BLAS inside parallel regions ] (tensor/blas.h): with OpenBLAS's OpenMP build,
  // setting its thread count sets OpenMP's too, which would serialise the guarded loop.
  const int before = get_num_threads();
  set_num_threads(2);
  {
    blas::SingleThreaded guard;
    CHECK(get_num_threads() == 2);
    std::atomic<bool> second_thread_ran{false};
    parallel_for(0, 2, 1, [&](std::int64_t, std::int64_t) {
      if (thread_index() == 1) second_thread_ran = true;
    });
    CHECK(second_thread_ran.load());  // the loop was split over both threads
  }
  CHECK(get_num_threads() == 2);
  set_num_threads(before);
#ifdef CAKE_EXPECT_OPENBLAS_OPENMP
  CHECK(blas::threading() == "openmp");  // the run path found OpenBLAS's OpenMP build
#else
  CHECK((blas::threading() == "openmp" || blas::threading() == "pthreads" || blas::threading() == "sequential"));
#endif
}

TEST_CASE("empty tensors and size-1 dims flow through every kind of op") {
  Tensor e = zeros({0, 4});
  CHECK((e + 1.0).sizes() == Shape{0, 4});
  CHECK(e.sum({0}).sizes() == Shape{4});
  CHECK(values(e.sum({0})) == std::vector<double>(4, 0.0));
  CHECK(e.sum({1}).sizes() == Shape{0});
  CHECK(e.t().contiguous().sizes() == Shape{4, 0});
  Tensor one = ones({1, 3, 1});
  CHECK((one + ones({2, 1, 5})).sizes() == Shape{2, 3, 5});
  CHECK(one.sum({0, 2}).sizes() == Shape{3});
  CHECK_THROWS_AS(e.amax({0}), Error);  // max over an empty dimension
}
