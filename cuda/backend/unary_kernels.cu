// cuda/backend/unary_kernels.cu: every unary op of the op table on the GPU (see loops.cuh).
//
// The switch is generated from CAKE_UNARY_OPS (tensor/native/op_tables.h), exactly as the CPU
// kernel's is (NOTE [ A backend's switch ]): each row runs its functor from tensor/functors.h,
// the same code the CPU runs, for the element types its operand rule admits. A new row reaches
// this file without an edit.
#include "cake/cuda/backend/elementwise_ops.cuh"

namespace cake::cuda::kernels {

void launch_unary(native::UnaryOp op, native::UnaryParams p, ScalarType type, const Geometry<2>& g, Stream stream) {
  using native::OperandRule;
  using native::ResultRule;
  using native::UnaryOp;
  visit(type, "unary op", [&]<class T>() {
    switch (op) {
#define CAKE_UNARY_CASE(op_, name, operands, result, params)                                            \
  case UnaryOp::op_:                                                                                    \
    return run<OperandRule::operands, ResultRule::result, ops::op_, T, T>(                              \
        name, native::make_unary_functor<ops::op_, params>(p), type, g, stream);
      CAKE_UNARY_OPS(CAKE_UNARY_CASE)
#undef CAKE_UNARY_CASE
    }
  });
}

}  // namespace cake::cuda::kernels
