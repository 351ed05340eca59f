// dtype.h: the element types a tensor can hold, and dispatch from a runtime dtype to C++ code.
//
//   cake::DType t = cake::kFloat32;
//   visit_dtype(t, [&]<class T>() { std::cout << sizeof(T); });   // prints 4
//
// Type promotion follows PyTorch: bool < uint8 < int64 < float32 < float64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>

#include "cake/tensor/error.h"

namespace cake {

enum class DType : std::uint8_t { Bool, UInt8, Int64, Float32, Float64 };

inline constexpr DType kBool = DType::Bool;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kLong = DType::Int64;
inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kDouble = DType::Float64;

constexpr std::size_t element_size(DType t) {
  switch (t) {
    case DType::Bool:
    case DType::UInt8: return 1;
    case DType::Int64:
    case DType::Float64: return 8;
    case DType::Float32: return 4;
  }
  return 0;
}

constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }
constexpr bool is_integral(DType t, bool include_bool = true) {
  return t == DType::UInt8 || t == DType::Int64 || (include_bool && t == DType::Bool);
}

// The smaller dtype that can represent both (the ordering of the enum is the lattice).
constexpr DType promote_types(DType a, DType b) { return a < b ? b : a; }

const char* dtype_name(DType t);  // "float32", ...
std::ostream& operator<<(std::ostream& out, DType t);

// dtype_of<T>() maps a C++ type to its DType.
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::UInt8; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }

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
  }
  CAKE_FAIL("visit_dtype: invalid dtype ", static_cast<int>(t));
}

// The same, restricted to float32/float64; other dtypes are an error naming `op`.
template <class F>
decltype(auto) visit_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    default: CAKE_FAIL(op, ": expected a floating-point tensor (float32 or float64), got ", dtype_name(t));
  }
}

}  // namespace cake
