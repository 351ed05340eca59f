// test_gradcheck.cpp: runs every row of the gradient-check table (gradcheck_table.h) in
// float64 against central finite differences. Rows come from gradcheck_cases_*.cpp.
#include "autograd/function.h"
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
