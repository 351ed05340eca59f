// cuda/backend/binary_kernels.cu: every binary op of the op table on the GPU (see loops.cuh);
// the switch is generated from CAKE_BINARY_OPS like unary_kernels.cu's. A separate file so that
// nvcc compiles the two halves in parallel (each is ~100 kernel instantiations).
#include "cake/cuda/backend/elementwise_ops.cuh"

namespace cake::cuda::kernels {

void launch_binary(native::BinaryOp op, ScalarType type, const Geometry<3>& g, Stream stream) {
  using native::BinaryOp;
  using native::OperandRule;
  using native::ResultRule;
  visit(type, "binary op", [&]<class T>() {
    switch (op) {
#define CAKE_BINARY_CASE(op_, name, operands, result) \
  case BinaryOp::op_:                                 \
    return run<OperandRule::operands, ResultRule::result, ops::op_, T, T, T>(name, ops::op_{}, type, g, stream);
      CAKE_BINARY_OPS(CAKE_BINARY_CASE)
#undef CAKE_BINARY_CASE
    }
  });
}

}  // namespace cake::cuda::kernels
