// helpers.h: shared test utilities: tensor comparison with readable failures, naive reference
// loops, and a float64 finite-difference gradient checker.
#pragma once

#include <doctest/doctest.h>

#include <cake/cake.h>

#include <algorithm>
#include <cmath>
#include <complex>  // max_relative_error compares complex vectors too (std::abs must see its overload)
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace cake::testing {

// Values of any tensor as doubles, in row-major order of its (logical) shape.
inline std::vector<double> values(const Tensor& t) {
  Tensor c = t.detach().to(Device::cpu()).to(kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

// CHECKs that a and b have the same shape and values within tolerance; reports the first miss.
inline void check_close(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-6) {
  REQUIRE_MESSAGE(a.sizes() == b.sizes(), "shapes differ: " << shape_str(a.sizes()) << " vs " << shape_str(b.sizes()));
  const auto va = values(a), vb = values(b);
  for (std::size_t i = 0; i < va.size(); ++i) {
    const bool both_nan = std::isnan(va[i]) && std::isnan(vb[i]);
    const bool close = both_nan || va[i] == vb[i] || std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i]);
    if (!close) {
      FAIL_CHECK("element " << i << " differs: " << va[i] << " vs " << vb[i] << " (shape " << shape_str(a.sizes()) << ")");
      return;
    }
  }
}

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first mismatch, when !ok
};

// The float64 finite-difference gradient check (cake::autograd::gradcheck, autograd/gradcheck.h)
// as a result for tests: ok, or the first mismatch.
inline GradcheckResult gradcheck_result(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                        std::vector<Tensor> inputs, double eps = 1e-6, double atol = 1e-5,
                                        double rtol = 1e-4) {
  for (const auto& x : inputs) REQUIRE(x.dtype() == kFloat64);
  try {
    autograd::gradcheck(f, inputs, eps, atol, rtol, /*raise_exception=*/true);
  } catch (const Error& e) {
    return {false, e.what()};
  }
  return {};
}

// The same for second derivatives (cake::autograd::gradgradcheck).
inline GradcheckResult gradgradcheck_result(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                            std::vector<Tensor> inputs, double eps = 1e-6, double atol = 1e-5,
                                            double rtol = 1e-4) {
  try {
    autograd::gradgradcheck(f, inputs, eps, atol, rtol, /*raise_exception=*/true);
  } catch (const Error& e) {
    return {false, e.what()};
  }
  return {};
}

inline void gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                      double eps = 1e-6, double atol = 1e-5, double rtol = 1e-4) {
  const GradcheckResult r = gradcheck_result(f, std::move(inputs), eps, atol, rtol);
  if (!r.ok) FAIL_CHECK(r.message);
}

// The message of the cake::Error that fn throws ("" when it throws none).
template <class Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// max_i |a_i - b_i| / max_i |b_i| over two equally long sequences of real or complex numbers.
template <class Values>
double max_relative_error(const Values& a, const Values& b) {
  double error = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    error = std::max(error, static_cast<double>(std::abs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::abs(b[i])));
  }
  return error / std::max(scale, 1e-300);
}

}  // namespace cake::testing
