// helpers.h: what every test folder shares. Look here before writing a helper of your own:
//   - reading tensors back: values, int_values; building them: matrix, from_values, as_dataset
//   - comparing: check_close (readable failures), max_relative_error
//   - gradients: gradcheck, gradcheck_result, gradgradcheck_result (float64 finite differences)
//   - errors: error_message (what a cake::Error says), contains (a message names a word)
//   - modules: count_parameters, names_and_shapes, names_of
// Helpers for one folder only live in that folder, in an anonymous namespace.
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

// Values of an integer tensor (labels, indices), in row-major order.
inline std::vector<std::int64_t> int_values(const Tensor& t) {
  Tensor c = t.detach().to(Device::cpu()).to(kInt64).contiguous();
  const std::int64_t* p = c.data_ptr<std::int64_t>();
  return std::vector<std::int64_t>(p, p + c.numel());
}

// A float64 (or dtype) matrix with `cols` columns holding `values` row by row.
inline Tensor matrix(const std::vector<double>& values, std::int64_t cols, DType dtype = kFloat64) {
  return tensor(values, {static_cast<std::int64_t>(values.size()) / cols, cols}, dtype);
}

// log(2 pi), of the Gaussian log-densities the tests compute by hand.
inline constexpr double kLog2Pi = 1.8378770664093453;

// The number of scalar parameters of a module.
inline std::int64_t count_parameters(const nn::Module& m) {
  std::int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

// A dataset of the rows of x (for the Trainer and the algorithms that take one).
inline std::shared_ptr<const data::TensorDataset> as_dataset(const Tensor& x) {
  return std::make_shared<const data::TensorDataset>(x);
}

// A tensor of the given shape holding `v` (row-major), converted to dtype.
inline Tensor from_values(const std::vector<double>& v, const Shape& shape, DType dtype = kFloat64) {
  if (shape_numel(shape) == 0) return zeros(shape, dtype);
  return tensor(v, shape, kFloat64).to(dtype);
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

// A module's parameters as (dotted name, shape) pairs, in named_parameters() order.
using NamedShapes = std::vector<std::pair<std::string, Shape>>;
inline NamedShapes names_and_shapes(const nn::Module& m) {
  NamedShapes out;
  for (const auto& [name, p] : m.named_parameters()) out.emplace_back(name, p.sizes());
  return out;
}

// The names of a list of named tensors, in order.
inline std::vector<std::string> names_of(const nn::NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& entry : named) out.push_back(entry.first);
  return out;
}

// Whether `part` occurs in `text` (error messages are checked by the words they must name).
inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

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
