// gradcheck_table.h: the one table of finite-difference gradient checks.
//
// Every differentiable op adds rows here, from the file of its family
// (tests/autograd/gradcheck_cases_<family>.cpp), all compiled into one test program that
// checks every row in float64 (see test_gradcheck.cpp):
//
//   CAKE_GRADCHECK_CASES(elementwise) {
//     return {
//       {"exp", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].exp(); }},
//     };
//   }
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "helpers.h"

namespace cake::testing {

using TensorList = std::vector<Tensor>;

struct GradCase {
  std::string name;
  std::function<TensorList()> make_inputs;               // float64 inputs
  std::function<Tensor(const TensorList&)> function;     // the op under test
  double atol = 1e-5;
  double rtol = 1e-4;
};

std::vector<GradCase>& gradcheck_table();

struct GradCaseRegistrar {
  explicit GradCaseRegistrar(std::vector<GradCase> cases) {
    for (auto& c : cases) gradcheck_table().push_back(std::move(c));
  }
};

// Random float64 inputs of the given shapes (normal entries).
inline TensorList inputs(const std::vector<Shape>& shapes) {
  TensorList out;
  for (const Shape& s : shapes) out.push_back(randn(s, kFloat64));
  return out;
}
// Random float64 inputs kept away from 0 (for log, sqrt, division, ...): |x| in [0.5, 2].
inline TensorList positive_inputs(const std::vector<Shape>& shapes) {
  TensorList out;
  for (const Shape& s : shapes) out.push_back(rand(s, kFloat64) * 1.5 + 0.5);
  return out;
}

}  // namespace cake::testing

#define CAKE_GRADCHECK_CONCAT2(a, b) a##b
#define CAKE_GRADCHECK_CONCAT(a, b) CAKE_GRADCHECK_CONCAT2(a, b)
#define CAKE_GRADCHECK_CASES(family)                                                                  \
  static std::vector<cake::testing::GradCase> CAKE_GRADCHECK_CONCAT(gradcheck_cases_, family)();        \
  static cake::testing::GradCaseRegistrar CAKE_GRADCHECK_CONCAT(gradcheck_registrar_, family)(           \
      CAKE_GRADCHECK_CONCAT(gradcheck_cases_, family)());                                               \
  static std::vector<cake::testing::GradCase> CAKE_GRADCHECK_CONCAT(gradcheck_cases_, family)()
