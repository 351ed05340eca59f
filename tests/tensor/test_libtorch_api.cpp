// test_libtorch_api.cpp: the libtorch spellings of the Tensor API (issue 13, "Tensors"): each
// check below fails to compile or fails its assertion without the spelling it names.
#include <cmath>
#include <limits>
#include <sstream>
#include <tuple>

#include "helpers.h"

// Before any `using namespace cake`: operator<< for sizes() must be found by argument-dependent
// lookup alone, as in user code that spells every cake:: name.
namespace adl_check {
std::string print_sizes(const cake::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}
}  // namespace adl_check

using namespace cake;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::values;

namespace {
Tensor matrix23() { return tensor({1.0, 5.0, 3.0, 4.0, 2.0, 6.0}, {2, 3}, kFloat64); }
}  // namespace

TEST_CASE("the example at the top of tensor/tensor.h compiles and runs") {
  Tensor x = randn({2, 3});
  Tensor y = (x * 2.0 + 1.0).relu().sum(1);
  std::ostringstream out;
  out << y << y.sizes();
  CHECK(y.sizes() == Shape{2});
  CHECK(out.str().find("[2]") != std::string::npos);
}

TEST_CASE("dims as plain integers") {
  Tensor x = matrix23();
  check_close(x.sum(1), tensor({9.0, 12.0}, {2}, kFloat64));
  check_close(x.sum(0), tensor({5.0, 7.0, 9.0}, {3}, kFloat64));
  check_close(x.sum(-1), x.sum({1}));
  check_close(x.mean(1, /*keepdim=*/true), tensor({3.0, 4.0}, {2, 1}, kFloat64));
  check_close(x.sum({0, 1}), tensor({21.0}, {}, kFloat64));
  // Braced lists keep meaning lists: {} is every dim, {1} is dim 1.
  check_close(x.sum({}), tensor({21.0}, {}, kFloat64));
  check_close(x.sum({1}), x.sum(1));
  check_close(x.var(1), x.var({1}));
  check_close(x.std(1), x.std({1}));
  check_close(x.std(0, true, 0), x.std({0}, true, 0));
  check_close(x.amax(1), tensor({5.0, 6.0}, {2}, kFloat64));
  check_close(x.logsumexp(1), x.logsumexp({1}));
  std::int64_t d = 1;
  check_close(x.sum(d), x.sum({1}));
  // x.max(1): libtorch's (values, indices) tuple; x.max() stays the full reduction.
  auto [values_, indices] = x.max(1);
  check_close(values_, tensor({5.0, 6.0}, {2}, kFloat64));
  CHECK(values(indices) == std::vector<double>{1, 2});
  std::tuple<Tensor, Tensor> smallest = x.min(0, /*keepdim=*/true);
  check_close(std::get<0>(smallest), tensor({1.0, 2.0, 3.0}, {1, 3}, kFloat64));
  CHECK(x.max().item<double>() == 6.0);
  CHECK(values(x.argmax(1)) == std::vector<double>{1, 2});
  check_close(x.softmax(1).sum(1), tensor({1.0, 1.0}, {2}, kFloat64), 1e-12);
  check_close(x.log_softmax(1).exp(), x.softmax(1), 1e-12);
}

TEST_CASE("member forms of free functions") {
  Tensor a = matrix23(), b = tensor({1.0, 0.0, 0.0, 1.0, 1.0, 1.0}, {3, 2}, kFloat64);
  check_close(a.matmul(b), matmul(a, b));
  check_close(a.mm(b), mm(a, b));
  Tensor idx = tensor(std::vector<std::int64_t>{2, 0, 1, 1}, {2, 2});
  check_close(a.gather(1, idx), tensor({3.0, 1.0, 2.0, 2.0}, {2, 2}, kFloat64));
  check_close(a.index_select(1, tensor(std::vector<std::int64_t>{2, 0}, {2})), tensor({3.0, 1.0, 6.0, 4.0}, {2, 2}, kFloat64));
  check_close(a.masked_fill(a > 3.0, 0.0), tensor({1.0, 0.0, 3.0, 0.0, 2.0, 0.0}, {2, 3}, kFloat64));
  CHECK(values(a.eq(3.0)) == std::vector<double>{0, 0, 1, 0, 0, 0});
  CHECK(values(a.ne(a)) == std::vector<double>(6, 0));
  CHECK(values(a.lt(3)) == std::vector<double>{1, 0, 0, 0, 1, 0});
  CHECK(values(a.le(a.t().t())) == std::vector<double>(6, 1));
  CHECK(values(a.gt(4.0)) == std::vector<double>{0, 1, 0, 0, 0, 1});
  CHECK(values(a.ge(full({3}, 4.0, kFloat64))) == std::vector<double>{0, 1, 0, 1, 0, 1});
  check_close(a.clamp(2, 4), tensor({2.0, 4.0, 3.0, 4.0, 2.0, 4.0}, {2, 3}, kFloat64));
  CHECK(a.to(kFloat32).dtype() == kFloat32);
  CHECK(a.to(kCPU).is_cpu());
}

TEST_CASE("member forms of sorting, splitting, scans and predicates") {
  const Tensor a = matrix23();  // [[1, 5, 3], [4, 2, 6]]
  auto [top, top_at] = a.topk(2, 1);
  CHECK(values(top) == std::vector<double>{5, 3, 6, 4});
  CHECK(values(top_at) == std::vector<double>{1, 2, 2, 0});
  auto [sorted, order] = a.sort(1, /*descending=*/true);
  CHECK(values(sorted) == std::vector<double>{5, 3, 1, 6, 4, 2});
  CHECK(values(order) == std::vector<double>{1, 2, 0, 2, 0, 1});
  CHECK(values(a.argsort(0)) == std::vector<double>{0, 1, 0, 1, 0, 1});
  const std::vector<Tensor> halves = a.split(2, 1);
  REQUIRE(halves.size() == 2);
  CHECK(values(halves[1]) == std::vector<double>{3, 6});
  CHECK(values(a.split({1, 2}, 1)[1]) == std::vector<double>{5, 3, 2, 6});
  CHECK(values(a.split_with_sizes({2, 1}, 1)[0]) == std::vector<double>{1, 5, 4, 2});
  CHECK(a.chunk(3, 1).size() == 3);
  const std::vector<Tensor> rows = a.unbind();
  REQUIRE(rows.size() == 2);
  CHECK(values(rows[1]) == std::vector<double>{4, 2, 6});
  CHECK(values(a.unbind(1)[2]) == std::vector<double>{3, 6});
  CHECK(values(a.cumsum(1)) == std::vector<double>{1, 6, 9, 4, 6, 12});
  CHECK(values((a / 4.0).floor()) == std::vector<double>{0, 1, 0, 1, 0, 1});
  CHECK(values((a / 4.0).round()) == std::vector<double>{0, 1, 1, 1, 0, 2});  // half to even: 0.5 -> 0, 1.5 -> 2
  CHECK(values((a / 4.0).ceil()) == std::vector<double>{1, 2, 1, 1, 1, 2});
  CHECK(values((a / -4.0).trunc()) == std::vector<double>{-0.0, -1, -0.0, -1, -0.0, -1});
  CHECK(values(a.gt(2).logical_and(a.lt(5))) == std::vector<double>{0, 0, 1, 1, 0, 0});
  CHECK(values(a.gt(4).logical_or(a.lt(2)).logical_not()) == std::vector<double>{0, 0, 1, 1, 1, 0});
  CHECK(values((a - 3.0).log().isnan()) == std::vector<double>{1, 0, 0, 0, 1, 0});
  CHECK(values((a - 3.0).log().isfinite()) == std::vector<double>{0, 1, 0, 1, 0, 1});
  check_close(a.silu(), silu(a));
  check_close(a.gelu(), gelu(a));
  CHECK(a.scalar_type() == kFloat64);
  CHECK(a.reshape_as(zeros({3, 2})).sizes() == Shape({3, 2}));
}

TEST_CASE("flip, repeat, nonzero, any / all and new_* tensors") {
  const Tensor a = matrix23();  // [[1, 5, 3], [4, 2, 6]]
  CHECK(values(a.flip({1})) == std::vector<double>{3, 5, 1, 6, 2, 4});
  CHECK(values(a.flip({0, 1})) == std::vector<double>{6, 2, 4, 3, 5, 1});
  CHECK(values(a.t().flip({-1})) == std::vector<double>{4, 1, 2, 5, 6, 3});
  CHECK(error_message([&] { a.flip({1, -1}); }).find("more than once") != std::string::npos);
  const Tensor tiled = a.repeat({2, 2});
  CHECK(tiled.sizes() == Shape({4, 6}));
  CHECK(values(tiled.select(0, 3)) == std::vector<double>{4, 2, 6, 4, 2, 6});
  CHECK(a.repeat({3, 1, 1}).sizes() == Shape({3, 2, 3}));
  CHECK(a.repeat({0, 1}).numel() == 0);
  CHECK(error_message([&] { a.repeat({2}); }).find("[2, 3]") != std::string::npos);
  CHECK(values(a.roll(1, 1)) == std::vector<double>{3, 1, 5, 6, 4, 2});
  CHECK(values(a.roll(-4, 1)) == std::vector<double>{5, 3, 1, 2, 6, 4});  // -4 = -1 (mod 3)
  CHECK(values(a.roll(2, 0)) == values(a));
  CHECK(values(a.prod(1)) == std::vector<double>{15, 48});
  const Tensor where_big = (a > 3.0).nonzero();
  CHECK(where_big.dtype() == kInt64);
  CHECK(where_big.sizes() == Shape({3, 2}));
  CHECK(values(where_big) == std::vector<double>{0, 1, 1, 0, 1, 2});
  CHECK(zeros({2, 2}).nonzero().sizes() == Shape({0, 2}));
  CHECK(tensor({0.0, 7.0, 0.0}, {3}).nonzero().sizes() == Shape({1, 1}));
  CHECK(a.gt(5).any().item<bool>());
  CHECK_FALSE(a.gt(6).any().item<bool>());
  CHECK(a.gt(0).all().item<bool>());
  CHECK(values(a.gt(3).any(1)) == std::vector<double>{1, 1});
  CHECK(values(a.gt(1.5).all(0)) == std::vector<double>{0, 1, 1});
  CHECK(a.gt(3).all(1, /*keepdim=*/true).sizes() == Shape({2, 1}));
  CHECK(any(a, {0, 1}).dtype() == kBool);
  CHECK_FALSE(zeros({0}).any().item<bool>());  // nothing is nonzero in an empty tensor ...
  CHECK(zeros({0}).all().item<bool>());        // ... and nothing fails to be
  const Tensor like = a.new_full({4}, 2.5);
  CHECK(like.dtype() == kFloat64);
  CHECK(values(like) == std::vector<double>(4, 2.5));
  CHECK(values(a.new_zeros({2})) == std::vector<double>{0, 0});
  CHECK(values(a.new_ones({1, 2})) == std::vector<double>{1, 1});
  CHECK(a.new_empty({3, 1}).sizes() == Shape({3, 1}));
  CHECK(a.to(kFloat32).new_zeros({1}).dtype() == kFloat32);
}

TEST_CASE("cdist: p-norm distances against a direct loop; a zero distance has gradient 0") {
  manual_seed(5);
  const Tensor a = randn({4, 3}, kFloat64), b = randn({5, 3}, kFloat64);
  for (const double p : {1.0, 2.0, 3.0, std::numeric_limits<double>::infinity()}) {
    const Tensor d = cdist(a, b, p);
    REQUIRE(d.sizes() == Shape({4, 5}));
    for (std::int64_t i = 0; i < 4; ++i)
      for (std::int64_t j = 0; j < 5; ++j) {
        double total = 0, largest = 0;
        for (std::int64_t k = 0; k < 3; ++k) {
          const double gap = std::abs(a[i][k].item<double>() - b[j][k].item<double>());
          total += std::pow(gap, p == 1.0 || p == 3.0 ? p : 2.0);
          largest = std::max(largest, gap);
        }
        const double expected = std::isinf(p) ? largest : std::pow(total, 1.0 / (p == 1.0 || p == 3.0 ? p : 2.0));
        CHECK(d[i][j].item<double>() == doctest::Approx(expected).epsilon(1e-9));
      }
  }
  CHECK(cdist(a.unsqueeze(0), b.unsqueeze(0)).sizes() == Shape({1, 4, 5}));
  const Tensor x = tensor({1.0, 2.0, 3.0, 5.0}, {2, 2}, kFloat64).requires_grad_();
  cdist(x, x.detach()).sum().backward();  // the diagonal is 0: no NaN, no infinite slope
  CHECK(values(x.grad().isfinite()) == std::vector<double>(4, 1));
  CHECK(error_message([&] { cdist(a, randn({5, 2}, kFloat64)); }).find("[5, 2]") != std::string::npos);
  CHECK(error_message([&] { cdist(a, b, 0.0); }).find("p must be") != std::string::npos);
}

TEST_CASE("Device from strings, kCPU and kCUDA") {
  CHECK(Device("cpu") == kCPU);
  CHECK(Device("cuda:1") == Device::cuda(1));
  CHECK(Device(std::string("cuda")) == kCUDA);
  CHECK(kCUDA.is_cuda());
  CHECK(Device(DeviceType::CUDA, 2).index == 2);
  CHECK(error_message([] { (void)Device("tpu"); }).find("tpu") != std::string::npos);
  CHECK(randn({2}).to(Device("cpu")).is_cpu());
}

TEST_CASE("indexing with cake::indexing") {
  using namespace cake::indexing;
  Tensor x = arange(0.0, 12.0, 1.0, kFloat64).reshape({3, 4});
  check_close(x.index({Slice(), 0}), tensor({0.0, 4.0, 8.0}, {3}, kFloat64));
  check_close(x.index({1}), tensor({4.0, 5.0, 6.0, 7.0}, {4}, kFloat64));
  check_close(x.index({-1, -1}), tensor({11.0}, {}, kFloat64));
  check_close(x.index({Slice(1, None, 2)}), tensor({4.0, 5.0, 6.0, 7.0}, {1, 4}, kFloat64));
  check_close(x.index({Slice(None, 2), Slice(1, 3)}), tensor({1.0, 2.0, 5.0, 6.0}, {2, 2}, kFloat64));
  check_close(x.index({Ellipsis, 1}), tensor({1.0, 5.0, 9.0}, {3}, kFloat64));
  check_close(x.index({"...", 1}), x.index({Slice(), 1}));
  CHECK(x.index({None, Slice(), 2}).sizes() == Shape{1, 3});
  // Basic indices are views of x.
  CHECK(x.index({Slice(), 0}).storage().get() == x.storage().get());
  // Boolean mask: a 1-D result of the picked elements, row-major.
  check_close(x.index({x > 8.5}), tensor({9.0, 10.0, 11.0}, {3}, kFloat64));
  Tensor row_mask = tensor({1.0, 0.0, 1.0}, {3}) > 0.5;
  check_close(x.index({row_mask, 0}), tensor({0.0, 8.0}, {2}, kFloat64));
  // Integer tensor: dim replaced by the index's shape.
  Tensor idx = tensor(std::vector<std::int64_t>{2, 0, 2, 1}, {2, 2});
  CHECK(x.index({Slice(), idx}).sizes() == Shape{3, 2, 2});
  check_close(x.index({1, idx}), tensor({6.0, 4.0, 6.0, 5.0}, {2, 2}, kFloat64));
  CHECK(error_message([&] { x.index({0, 0, 0}); }).find("too many indices") != std::string::npos);
}

TEST_CASE("index_put_ with tensors, scalars and masks") {
  using namespace cake::indexing;
  Tensor x = zeros({3, 4}, kFloat64);
  x.index_put_({Slice(), 0}, 7.0);
  x.index_put_({1}, tensor({1.0, 2.0, 3.0, 4.0}, {4}, kFloat64));
  x.index_put_({2, Slice(2, None)}, tensor({5.0}, {1}, kFloat64));  // broadcast
  check_close(x, tensor({7, 0, 0, 0, 1, 2, 3, 4, 7, 0, 5, 5}, {3, 4}, kFloat64));
  x.index_put_({x > 4.5}, -1.0);
  check_close(x, tensor({-1, 0, 0, 0, 1, 2, 3, 4, -1, 0, -1, -1}, {3, 4}, kFloat64));
  x.index_put_({x < 0}, tensor({10.0, 20.0, 30.0, 40.0}, {4}, kFloat64));  // one value per picked element
  check_close(x, tensor({10, 0, 0, 0, 1, 2, 3, 4, 20, 0, 30, 40}, {3, 4}, kFloat64));
  x.index_put_({Slice(), tensor(std::vector<std::int64_t>{3, 1}, {2})}, tensor({8.0, 9.0}, {2}, kFloat64));
  check_close(x.index({Slice(), 3}), full({3}, 8.0, kFloat64));
  check_close(x.index({Slice(), 1}), full({3}, 9.0, kFloat64));
  Tensor w = randn({2}, kFloat64).requires_grad_();
  CHECK(error_message([&] { w.index_put_({0}, 1.0); }).find("requires grad") != std::string::npos);
}

TEST_CASE("indexing is differentiable") {
  using namespace cake::indexing;
  Tensor x = randn({3, 4}, kFloat64);
  CHECK(autograd::gradcheck([](const tensor_list& v) { return v[0].index({Slice(1, None), 2}) * 3.0; }, {x}));
  CHECK(autograd::gradcheck([](const tensor_list& v) { return v[0].index({v[0].detach() > 0}); }, {x}));
  CHECK(autograd::gradcheck(
      [](const tensor_list& v) { return v[0].index({Ellipsis, tensor(std::vector<std::int64_t>{0, 0, 3}, {3})}); }, {x}));
}

TEST_CASE("accessor, item() as a Scalar, printing sizes") {
  Tensor x = matrix23().to(kFloat32);
  auto a = x.accessor<float, 2>();
  float total = 0;
  for (std::int64_t i = 0; i < a.size(0); ++i)
    for (std::int64_t j = 0; j < a.size(1); ++j) total += a[i][j];
  CHECK(total == 21.0f);
  a[1][2] = 60.0f;
  CHECK(x.max().item<float>() == 60.0f);
  // Through strides: the transpose's accessor reads the same elements. (An accessor points into
  // its tensor's sizes and strides, so that tensor must outlive it, as in libtorch.)
  Tensor xt = x.t();
  auto at = xt.accessor<float, 2>();
  CHECK(at[2][1] == 60.0f);
  CHECK(error_message([&] { x.accessor<double, 2>(); }).find("float64") != std::string::npos);
  CHECK(error_message([&] { x.accessor<float, 3>(); }).find("3-d") != std::string::npos);

  CHECK(x.sum().item().to<double>() == doctest::Approx(75.0));
  Scalar n = arange(5).sum().item();
  CHECK(n.is_integral());
  CHECK(n.to<std::int64_t>() == 10);
  CHECK(tensor({1.0}, {}).item<float>() == 1.0f);  // the template form stays

  CHECK(adl_check::print_sizes(x) == "[2, 3]");
  IntArrayRef sizes = x.sizes();
  CHECK(sizes.size() == 2);
}

TEST_CASE("scatter, scatter_, scatter_add, index_add as Tensor methods (torch.Tensor.scatter)") {
  // PyTorch's documented example: src larger than index is read only within index's extent.
  const Tensor src = arange(1.0, 11.0, 1.0, kFloat64).reshape({2, 5});
  const Tensor index = tensor(std::vector<std::int64_t>{0, 1, 2, 0}, {1, 4}, kInt64);
  const Tensor rows = zeros({3, 5}, kFloat64).scatter(0, index, src);
  CHECK(values(rows) == std::vector<double>{1, 0, 0, 4, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0});
  const Tensor columns = zeros({3, 5}, kFloat64).scatter(1, tensor(std::vector<std::int64_t>{0, 1, 2, 3, 4, 2}, {2, 3}, kInt64), src);
  CHECK(values(columns) == std::vector<double>{1, 2, 3, 0, 0, 0, 0, 8, 6, 7, 0, 0, 0, 0, 0});
  // A scalar value, and a bool tensor (nothing to add, so scatter writes it).
  const Tensor filled = zeros({2, 4}, kFloat64).scatter(1, tensor(std::vector<std::int64_t>{2, 3}, {2, 1}, kInt64), 1.25);
  CHECK(values(filled) == std::vector<double>{0, 0, 1.25, 0, 0, 0, 0, 1.25});
  const Tensor flags = zeros({4}, kBool).scatter(0, tensor(std::vector<std::int64_t>{3, 1}, {2}, kInt64), true);
  CHECK(values(flags) == std::vector<double>{0, 1, 0, 1});
  // Repeated indices on the CPU: the last along dim lands, at any thread count.
  const Tensor repeated = tensor(std::vector<std::int64_t>{0, 0, 2, 0}, {4}, kInt64);
  const Tensor last = zeros({3}, kFloat64).scatter(0, repeated, tensor({1.0, 2.0, 3.0, 4.0}, {4}, kFloat64));
  CHECK(values(last) == std::vector<double>{4, 0, 3});
  // In place: the same tensor back, written.
  Tensor y = zeros({3, 5}, kFloat64);
  Tensor& same = y.scatter_(0, index, src);
  CHECK(&same == &y);
  CHECK(values(y) == values(rows));
  y.scatter_(1, tensor(std::vector<std::int64_t>{4}, {1, 1}, kInt64), -1.0);
  CHECK(y[0][4].item<double>() == -1.0);
  // scatter_add / index_add as methods, out of place and in place.
  const Tensor added = ones({3}, kFloat64).scatter_add(0, repeated, tensor({1.0, 2.0, 3.0, 4.0}, {4}, kFloat64));
  CHECK(values(added) == std::vector<double>{8, 1, 4});
  Tensor sums = zeros({2, 2}, kFloat64);
  sums.index_add_(0, tensor(std::vector<std::int64_t>{1, 1, 0}, {3}, kInt64), arange(6, kFloat64).reshape({3, 2}), 2.0);
  CHECK(values(sums) == std::vector<double>{8, 10, 4, 8});
  CHECK(values(zeros({2, 2}, kFloat64).index_add(1, tensor(std::vector<std::int64_t>{1}, {1}, kInt64), ones({2, 1}, kFloat64))) ==
        std::vector<double>{0, 1, 0, 1});
  Tensor counts = zeros({3}, kFloat64);
  counts.scatter_add_(0, repeated, ones({4}, kFloat64));
  CHECK(values(counts) == std::vector<double>{3, 0, 1});
  // Errors name the op and what is wrong.
  CHECK(error_message([&] { zeros({3}).scatter(0, tensor(std::vector<std::int64_t>{5}, {1}, kInt64), 1.0); })
            .find("scatter: index 5 is out of range for dimension 0 of size 3") != std::string::npos);
  CHECK(error_message([&] { zeros({3, 5}).scatter(0, index, ones({1, 2})); }).find("smaller than index") !=
        std::string::npos);
  CHECK(error_message([&] { zeros({3, 5}).scatter(0, index, ones({4})); }).find("rank of index") != std::string::npos);
}

TEST_CASE("scatter's gradient: zero where x was overwritten, gather(g) for src") {
  const Tensor x = randn({3, 4}, kFloat64).requires_grad_();
  const Tensor src = randn({2, 5}, kFloat64).requires_grad_();  // larger than index: the rest gets 0
  const Tensor index = tensor(std::vector<std::int64_t>{0, 2, 1, 0, 2, 0, 2, 1}, {2, 4}, kInt64);
  const Tensor weights = arange(12, kFloat64).reshape({3, 4}) + 1.0;
  (x.scatter(0, index, src) * weights).sum().backward();
  // Written positions (row index[i][j], column j) get no gradient in x; the rest get weights.
  CHECK(values(x.grad()) == std::vector<double>{0, 0, 3, 0, 5, 6, 0, 0, 0, 0, 0, 12});
  CHECK(values(src.grad()) == std::vector<double>{1, 10, 7, 4, 0, 9, 2, 11, 8, 0});
  // The in-place forms refuse tensors in the graph, destination or source.
  Tensor plain = zeros({3, 4}, kFloat64);
  CHECK(error_message([&] { plain.scatter_(0, index, src); }).find("source requires grad") != std::string::npos);
  CHECK(error_message([&] { plain.scatter_add_(0, index, src); }).find("source requires grad") != std::string::npos);
  Tensor leaf = zeros({3, 4}, kFloat64).requires_grad_();
  CHECK(error_message([&] { leaf.scatter_(0, index, 1.0); }).find("requires grad") != std::string::npos);
}

TEST_CASE("scatter_reduce and its gradients against PyTorch 1.13") {
  // Expected values: torch.Tensor.scatter_reduce on the same inputs, then (y * w).sum().backward().
  const Tensor index = tensor(std::vector<std::int64_t>{0, 1, 3, 1, 3, 0}, {6}, kInt64);
  const Tensor w = tensor({1.0, 10.0, 100.0, 1000.0}, {4}, kFloat64);
  struct Case {
    const char* reduce;
    bool include_self;
    std::vector<double> y, x_grad, src_grad;
  };
  const std::vector<Case> cases = {
      {"sum", true, {8, 1.5, 3, 12}, {1, 10, 100, 1000}, {1, 10, 1000, 10, 1000, 1}},
      {"sum", false, {7, -0.5, 3, 8}, {0, 0, 100, 0}, {1, 10, 1000, 10, 1000, 1}},
      {"prod", true, {10, -1, 3, 64}, {10, -5, 100, 16000}, {2, -20, 16000, 10, 16000, 5}},
      {"prod", false, {10, -0.5, 3, 16}, {0, 0, 100, 0}, {2, -10, 4000, 5, 4000, 5}},
      {"mean", true, {8.0 / 3, 0.5, 3, 4}, {1.0 / 3, 10.0 / 3, 100, 1000.0 / 3}, {1.0 / 3, 10.0 / 3, 1000.0 / 3, 10.0 / 3, 1000.0 / 3, 1.0 / 3}},
      {"mean", false, {3.5, -0.25, 3, 4}, {0, 0, 100, 0}, {0.5, 5, 500, 5, 500, 0.5}},
      // Ties share the gradient: x[3] = 4 = src[2] = src[4] get a third each.
      {"amax", true, {5, 2, 3, 4}, {0, 10, 100, 1000.0 / 3}, {1, 0, 1000.0 / 3, 0, 1000.0 / 3, 0}},
      // Without x's own values the two tied src values get half each. (PyTorch 1.13 counts the
      // excluded x[3] among the ties and gives each a third, so its shares sum to 2/3 of g.)
      {"amax", false, {5, 0.5, 3, 4}, {0, 0, 100, 0}, {1, 10, 500, 0, 500, 0}},
      {"amin", true, {1, -1, 3, 4}, {1, 0, 100, 1000.0 / 3}, {0, 0, 1000.0 / 3, 10, 1000.0 / 3, 0}},
      {"amin", false, {2, -1, 3, 4}, {0, 0, 100, 0}, {0, 0, 500, 10, 500, 1}},
  };
  for (const Case& c : cases) {
    INFO(c.reduce, " include_self ", c.include_self);
    const Tensor x = tensor({1.0, 2.0, 3.0, 4.0}, {4}, kFloat64).requires_grad_();
    const Tensor src = tensor({5.0, 0.5, 4.0, -1.0, 4.0, 2.0}, {6}, kFloat64).requires_grad_();
    const Tensor y = x.scatter_reduce(0, index, src, c.reduce, c.include_self);
    (y * w).sum().backward();
    check_close(y, tensor(c.y, {4}, kFloat64), 1e-12, 1e-12);
    check_close(x.grad(), tensor(c.x_grad, {4}, kFloat64), 1e-12, 1e-12);
    check_close(src.grad(), tensor(c.src_grad, {6}, kFloat64), 1e-12, 1e-12);
  }
  // prod with zeros: a group's only zero gets the product of the others; two zeros give 0 to all.
  const Tensor x = tensor({0.0, 2.0, 3.0}, {3}, kFloat64).requires_grad_();
  const Tensor src = tensor({5.0, 0.0, 0.0, 4.0}, {4}, kFloat64).requires_grad_();
  const Tensor y = x.scatter_reduce(0, tensor(std::vector<std::int64_t>{0, 1, 1, 2}, {4}, kInt64), src, "prod");
  (y * tensor({1.0, 10.0, 100.0}, {3}, kFloat64)).sum().backward();
  CHECK(values(y) == std::vector<double>{0, 0, 12});
  CHECK(values(x.grad()) == std::vector<double>{5, 0, 400});
  CHECK(values(src.grad()) == std::vector<double>{0, 0, 0, 300});
  // In place, on a tensor outside the graph.
  Tensor counts = zeros({2}, kFloat64);
  counts.scatter_reduce_(0, tensor(std::vector<std::int64_t>{1, 1, 0}, {3}, kInt64), tensor({3.0, 5.0, 2.0}, {3}, kFloat64),
                         "amax", false);
  CHECK(values(counts) == std::vector<double>{2, 5});
}
