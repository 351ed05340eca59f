// scalar.h: a number passed to an op (x + 1, x * 0.5) that remembers whether it was integral:
//   cake::DType t = cake::Scalar(1).result_type_with(cake::kInt64);   // int64; 0.5 would give float32, as in PyTorch
#pragma once

#include <concepts>
#include <cstdint>

#include "cake/tensor/dtype.h"

namespace cake {

class Scalar {
 public:
  Scalar() = default;
  template <std::floating_point T>
  Scalar(T v) : value_(static_cast<double>(v)), integral_(false) {}  // NOLINT: implicit by design
  template <std::integral T>
  Scalar(T v) : value_(static_cast<double>(v)), int_value_(static_cast<std::int64_t>(v)), integral_(true) {}  // NOLINT

  double to_double() const { return value_; }
  std::int64_t to_int() const { return integral_ ? int_value_ : static_cast<std::int64_t>(value_); }
  bool is_integral() const { return integral_; }
  template <class T> T to() const {
    if constexpr (std::is_floating_point_v<T>) return static_cast<T>(value_);
    else if constexpr (is_half_v<T>) return T(static_cast<float>(value_));
    else if constexpr (std::is_same_v<T, bool>) return value_ != 0.0;
    else return static_cast<T>(to_int());
  }
  // The dtype a tensor of type `t` combined with this scalar computes in.
  DType result_type_with(DType t) const {
    if (integral_ || is_floating(t)) return t == DType::Bool && integral_ ? DType::Int64 : t;
    return DType::Float32;
  }

 private:
  double value_ = 0.0;
  std::int64_t int_value_ = 0;
  bool integral_ = false;
};

}  // namespace cake
