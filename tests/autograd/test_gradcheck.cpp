// test_gradcheck.cpp: runs every row of the gradient-check table (gradcheck_table.h) in
// float64 against central finite differences. Rows come from gradcheck_cases_*.cpp.
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
