// test_gradcheck.cpp: runs every row of the gradient-check table (gradcheck_table.h) in
// float64 against central finite differences, with the public cake::autograd::gradcheck; then
// every row again with gradgradcheck (second derivatives through a create_graph backward).
// Rows come from gradcheck_cases_*.cpp.
#include "cake/autograd/function.h"
#include "gradcheck_table.h"

namespace cake::testing {
std::vector<GradCase>& gradcheck_table() {
  static std::vector<GradCase> table;
  return table;
}
}  // namespace cake::testing

TEST_CASE("gradcheck: every differentiable op against finite differences (float64)") {
  using namespace cake;
  auto& table = testing::gradcheck_table();
  REQUIRE(table.size() > 20);
  for (const auto& c : table) {
    SUBCASE(c.name.c_str()) {
      manual_seed(1234);
      INFO("op: ", c.name);
      testing::gradcheck(c.function, c.make_inputs(), 1e-6, c.atol, c.rtol);
    }
  }
}

namespace {
// Rows whose ops are not twice differentiable in Cake, by name prefix, and why. Their
// gradgradcheck must fail with the engine's "double backward is not supported" error (never
// with silently wrong second derivatives).
const std::vector<std::pair<std::string, std::string>> not_twice_differentiable = {
    {"conv2d dilation groups", "grouped convolution: the recorded backward is written for groups = 1 only"},
    {"conv_transpose2d", "backward is the fused convolution kernels"},
    {"conv1d groups", "conv2d with groups on a height-one view: its recorded backward is for groups = 1 only"},
    {"conv_transpose1d", "conv_transpose2d on a height-one view: its backward is the fused convolution kernels"},
    {"batch_norm train", "backward is the fused batch-norm kernel (the statistics' terms in one pass)"},
    {"grid_sample", "backward is the bilinear sampler's own kernel (native::grid_sample_backward)"},
};
const std::string* reason_not_twice_differentiable(const std::string& name) {
  for (const auto& [prefix, reason] : not_twice_differentiable)
    if (name.rfind(prefix, 0) == 0) return &reason;
  return nullptr;
}
}  // namespace

TEST_CASE("gradgradcheck: second derivatives of every row (float64, create_graph)") {
  using namespace cake;
  auto& table = testing::gradcheck_table();
  REQUIRE(table.size() > 20);
  for (const auto& c : table) {
    SUBCASE(c.name.c_str()) {
      manual_seed(1234);
      INFO("op: ", c.name);
      if (const std::string* reason = reason_not_twice_differentiable(c.name)) {
        INFO("not twice differentiable: ", *reason);
        const auto r = testing::gradgradcheck_result(c.function, c.make_inputs());
        CHECK_FALSE(r.ok);
        CHECK(r.message.find("double backward is not supported") != std::string::npos);
      } else {
        // Second differences of first derivatives: a little looser than the first-order check.
        const auto r = testing::gradgradcheck_result(c.function, c.make_inputs(), 1e-6, c.atol * 10, c.rtol * 10);
        CHECK_MESSAGE(r.ok, r.message);
      }
    }
  }
}

TEST_CASE("gradcheck catches a wrong derivative") {
  using namespace cake;
  // exp with the backward of 2x instead of exp(x): the checker must reject it.
  auto wrong_exp = [](const std::vector<Tensor>& x) {
    Tensor y = x[0].detach().exp();
    if (autograd::needs_grad({x[0]}))
      autograd::record("WrongExpBackward", {x[0]}, {y},
                       [](const autograd::TensorList& g) { return autograd::TensorList{g[0] * 2.0}; });
    return y;
  };
  manual_seed(7);
  const auto r = testing::gradcheck_result(wrong_exp, {randn({4}, kFloat64)});
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("autograd") != std::string::npos);
}
