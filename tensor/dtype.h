// dtype.h: the element types a tensor can hold, and dispatch from a runtime dtype to C++ code.
//
//   cake::DType t = cake::kFloat32;
//   visit_dtype(t, [&]<class T>() { std::cout << sizeof(T); });   // prints 4
//
// Type promotion follows PyTorch: bool < uint8 < int64 < {bfloat16, float16} < float32 < float64,
// and bfloat16 with float16 gives float32.
//
// bfloat16 and float16 (tensor/half.h) are storage types: visit_dtype, which every computing
// kernel uses, refuses them with a message; copies and fills use visit_storage_dtype, which has
// them; matmul and convolution take them by their own paths (float32 accumulation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <utility>

#include "cake/tensor/error.h"
#include "cake/tensor/half.h"

namespace cake {

// The 16-bit types come last so that the older values (saved nowhere, but mirrored by the CUDA
// kernels' ScalarType) keep their numbers.
enum class DType : std::uint8_t { Bool, UInt8, Int64, Float32, Float64, BFloat16, Float16 };

inline constexpr DType kBool = DType::Bool;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kLong = DType::Int64;
inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kDouble = DType::Float64;
inline constexpr DType kBFloat16 = DType::BFloat16;
inline constexpr DType kFloat16 = DType::Float16;
inline constexpr DType kHalf = DType::Float16;

constexpr std::size_t element_size(DType t) {
  switch (t) {
    case DType::Bool:
    case DType::UInt8: return 1;
    case DType::Int64:
    case DType::Float64: return 8;
    case DType::Float32: return 4;
    case DType::BFloat16:
    case DType::Float16: return 2;
  }
  return 0;
}

constexpr bool is_half(DType t) { return t == DType::BFloat16 || t == DType::Float16; }
constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64 || is_half(t); }
constexpr bool is_integral(DType t, bool include_bool = true) {
  return t == DType::UInt8 || t == DType::Int64 || (include_bool && t == DType::Bool);
}

// The smaller dtype that can represent both.
constexpr int promotion_rank(DType t) {
  switch (t) {
    case DType::Bool: return 0;
    case DType::UInt8: return 1;
    case DType::Int64: return 2;
    case DType::BFloat16:
    case DType::Float16: return 3;
    case DType::Float32: return 4;
    case DType::Float64: return 5;
  }
  return 0;
}
constexpr DType promote_types(DType a, DType b) {
  if (a != b && is_half(a) && is_half(b)) return DType::Float32;  // neither holds the other
  return promotion_rank(a) < promotion_rank(b) ? b : a;
}

const char* dtype_name(DType t);  // "float32", ...
std::ostream& operator<<(std::ostream& out, DType t);

// dtype_of<T>() maps a C++ type to its DType.
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::UInt8; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<BFloat16>() { return DType::BFloat16; }
template <> constexpr DType dtype_of<Half>() { return DType::Float16; }

[[noreturn]] void refuse_half_dtype(DType t);  // "<dtype> tensors hold and convert numbers; ..."

// Calls f.template operator()<T>() with T the C++ type of `t`. One switch per op, never per
// element: the kernels inside are ordinary templates.
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f.template operator()<bool>();
    case DType::UInt8: return f.template operator()<std::uint8_t>();
    case DType::Int64: return f.template operator()<std::int64_t>();
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    case DType::BFloat16:
    case DType::Float16: refuse_half_dtype(t);
  }
  CAKE_FAIL("visit_dtype: invalid dtype ", static_cast<int>(t));
}

// Every dtype, the 16-bit floats included: for the kernels that only move and convert elements
// (copy, fill) and for printing.
template <class F>
decltype(auto) visit_storage_dtype(DType t, F&& f) {
  switch (t) {
    case DType::BFloat16: return f.template operator()<BFloat16>();
    case DType::Float16: return f.template operator()<Half>();
    default: return visit_dtype(t, std::forward<F>(f));
  }
}

// The same, restricted to float32/float64; other dtypes are an error naming `op`.
template <class F>
decltype(auto) visit_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    default:
      CAKE_FAIL(op, ": expected a floating-point tensor (float32 or float64), got ", dtype_name(t),
                is_half(t) ? " (16-bit floats are for storage, matmul and convolution: convert with .to(cake::kFloat32))" : "");
  }
}

}  // namespace cake
