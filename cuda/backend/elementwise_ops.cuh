// cuda/backend/elementwise_ops.cuh: what unary_kernels.cu and binary_kernels.cu share: the
// dtype visit and one generated case's body (nvcc only).
#pragma once

#include "cake/cuda/backend/loops.cuh"
#include "cake/tensor/functors.h"
#include "cake/tensor/half.h"
#include "cake/tensor/native/op_tables.h"

namespace cake::cuda::kernels {

// Every type, for the kernels that only move and convert elements (copy, fill).
template <class F>
void visit_storage(ScalarType t, F&& f) {
  switch (t) {
    case ScalarType::BFloat16: return f.template operator()<BFloat16>();
    case ScalarType::Float16: return f.template operator()<Half>();
    default: return visit(t, "copy", f);
  }
}

// One row of the table for the element type T: launch when the row's operand rule admits T,
// otherwise refuse (the native layer promotes or refuses such operands first, so reaching the
// refusal is a bug; no kernel is compiled for it).

template <native::OperandRule operands, native::ResultRule result, class F, class T, class... In>
void run(const char* name, F f, ScalarType type, const Geometry<1 + sizeof...(In)>& g, Stream stream) {
  if constexpr (native::operand_accepts<T>(operands)) {
    using Out = std::conditional_t<result == native::ResultRule::Bool, bool, T>;
    launch_elementwise<Out, F, In...>(g, f, stream);
  } else {
    refuse(name, type);
  }
}

}  // namespace cake::cuda::kernels
