// cuda/backend/kernel_api.h: what the host glue (.cpp, compiled by g++) hands the kernels
// (.cu, compiled by nvcc).
//
// nvcc costs several times more than g++ per line, and Tensor's headers are large, so the .cu
// files see no Tensor: the glue (cuda/backend/*_glue.cpp) checks arguments, collapses the
// operands' dims into a Geometry of plain numbers and pointers, and calls a launcher below.
//
//   Geometry<2> g = make_geometry<2>({&out, &x});          // in the glue (tensor_geometry.h)
//   kernels::launch_copy(ScalarType::Float64, ScalarType::Float32, g, stream);
#pragma once

#include <cstdint>

#include "cake/cuda/device_api.h"
#include "cake/tensor/native/op_tables.h"  // the op enums; needs no Tensor

namespace cake::cuda::kernels {

// Same order as cake::DType (checked by static_assert in the glue).
enum class ScalarType : std::uint8_t { Bool, UInt8, Int64, Float32, Float64, BFloat16, Float16 };

inline constexpr int kMaxDims = 16;

// N operands (the output first) of identical sizes, iterated together. Dims are outermost
// first, with size-1 dims dropped and neighbours merged where every operand allows; strides are
// in elements (0 for a broadcast dim). `contiguous`: every operand is one dense run.
template <int N>
struct Geometry {
  int ndim = 0;
  std::int64_t numel = 0;
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t strides[N][kMaxDims] = {};
  void* data[N] = {};
  bool contiguous = false;
};

// ---- launchers (cuda/backend/*.cu); all queue work on `stream` and return ----
// dst = convert(src): geometry {dst, src}.
void launch_copy(ScalarType dst, ScalarType src, const Geometry<2>& g, Stream stream);
// dst = value (value already converted to dst's type, passed as its bit pattern in 8 bytes).
void launch_fill(ScalarType type, const Geometry<1>& g, const void* value, Stream stream);
// out = cond ? a : b: geometry {out, cond, a, b}; cond is bool, a/b/out of `type`.
void launch_where(ScalarType type, const Geometry<4>& g, Stream stream);

// The op-table families (native/op_tables.h): unary {out, x}, binary {out, a, b}; `type` is the
// inputs' element type, the output's is the row's result rule applied to it.
void launch_unary(native::UnaryOp op, native::UnaryParams params, ScalarType type, const Geometry<2>& g,
                  Stream stream);
void launch_binary(native::BinaryOp op, ScalarType type, const Geometry<3>& g, Stream stream);

// Throws cake::Error "<op> on CUDA: not supported for dtype <type>" (errors.cpp).
[[noreturn]] void refuse(const char* op, ScalarType type);

// Calls f.template operator()<T>() with T the C++ type of `t`, for the types the kernels
// compute in; the 16-bit floats are storage types (tensor/half.h) and are refused, naming `op`.
//   visit(type, "gather", [&]<class T>() { gather_kernel<T><<<...>>>(...); });
template <class F>
void visit(ScalarType t, const char* op, F&& f) {
  switch (t) {
    case ScalarType::Bool: return f.template operator()<bool>();
    case ScalarType::UInt8: return f.template operator()<std::uint8_t>();
    case ScalarType::Int64: return f.template operator()<std::int64_t>();
    case ScalarType::Float32: return f.template operator()<float>();
    case ScalarType::Float64: return f.template operator()<double>();
    case ScalarType::BFloat16:
    case ScalarType::Float16: refuse(op, t);
  }
}

// Reductions over a tensor viewed as [outer, reduced, inner], contiguous (the glue copies when
// needed): out[o, i] = op over r of x[o, r, i]. Each run is reduced in `pieces` parts first (a
// two-pass reduction; pieces = reduce_pieces(...), and `partials` holds outer * inner * pieces
// elements of the type when pieces > 1), so that few long runs still fill the GPU.
std::int64_t reduce_pieces(std::int64_t outer, std::int64_t reduced, std::int64_t inner);
void launch_reduce(native::ReduceOp op, ScalarType type, const void* x, void* out, std::int64_t outer,
                   std::int64_t reduced, std::int64_t inner, std::int64_t pieces, void* partials, Stream stream);

}  // namespace cake::cuda::kernels
