// pytorch_reference.h: what the layer tests that compare with PyTorch share (test_rnn.cpp,
// test_transformer.cpp). Their expected numbers were computed once by PyTorch 1.13 from the same
// deterministic weights and inputs, written by the same formulas on both sides: a parameter's
// values are pattern(shape, k) for the k-th parameter in PyTorch's order (1-based), an input's
// inputs_of(shape, salt). The tests embed the numbers; nothing here runs Python.
#pragma once

#include <cstdint>
#include <vector>

#include "helpers.h"

namespace cake::testing {

// Element j (row-major) = ((7 j + 3 salt) mod 17 - 8) / 20: small, signed, no two neighbours equal.
inline Tensor pattern(const Shape& shape, std::int64_t salt) {
  std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
  for (std::size_t j = 0; j < v.size(); ++j)
    v[j] = static_cast<double>((static_cast<std::int64_t>(j) * 7 + salt * 3) % 17 - 8) / 20.0;
  return tensor(v, shape);
}

// Element j = ((5 j + salt) mod 11 - 5) / 5: inputs in [-1, 1].
inline Tensor inputs_of(const Shape& shape, std::int64_t salt) {
  std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
  for (std::size_t j = 0; j < v.size(); ++j)
    v[j] = static_cast<double>((static_cast<std::int64_t>(j) * 5 + salt) % 11 - 5) / 5.0;
  return tensor(v, shape);
}

// The module in float64 with parameter k set to pattern(shape, k + 1): the names and order are
// PyTorch's, so the same loop sets the same values on both sides.
inline void set_params(nn::Module& m) {
  m.to(kFloat64);
  NoGradGuard no_grad;
  std::int64_t salt = 1;
  for (auto& [name, p] : m.named_parameters()) p.copy_(pattern(p.sizes(), salt++));
}

// Element j = sin(0.7 j + 0.3): distinct values in [-1, 1] with no ties between neighbours, so
// a window's maximum (and its index) is the same on both sides.
inline Tensor sine_wave(const Shape& shape) {
  const Tensor j = arange(0.0, static_cast<double>(shape_numel(shape)), 1.0, kFloat64);
  return sin(j * 0.7 + 0.3).reshape(shape);
}

inline void check_answer(const Tensor& got, const Shape& shape, const std::vector<double>& expected) {
  check_close(got, tensor(expected, shape), 1e-12, 1e-12);
}

}  // namespace cake::testing
