// autocast.h: mixed precision by op, per thread, as torch.autocast does it.
//
//   cake::Tensor loss;
//   {
//     cake::autocast guard(cake::kCUDA);             // bfloat16 on the GPU's tensor cores
//     loss = model->forward(x).pow(2).mean();         // matmuls and convolutions in bf16
//   }
//   loss.backward();                                  // their gradients in bf16 as well
//
// Inside the scope, the ops that dominate a network's arithmetic and tolerate 8 significant
// bits (matmul, addmm and hence nn::Linear, conv2d, conv_transpose2d) multiply 16-bit copies of
// their float32 operands on the tensor cores with float32 accumulation; everything else
// (elementwise ops, reductions, softmax, normalisation, losses) stays in float32. This is the
// division of Micikevicius et al., "Mixed precision training" (ICLR 2018), section 3, and of
// PyTorch's autocast op lists. Parameters stay float32 ("master weights", section 3.1), so the
// optimiser is unchanged.
//
// One difference from PyTorch, chosen so that every other op needs no 16-bit kernels: an
// autocast op hands back float32 (its 16-bit result widened, exactly), where PyTorch hands back
// the 16-bit tensor and lets the next op widen it. The values are the same.
//
// float16's range ends at 65504: small gradients underflow to zero unless the loss is scaled
// first (section 3.2 of the paper): use optim::GradScaler (optim/grad_scaler.h) with kFloat16.
// bfloat16 has float32's range and needs no scaling.
#pragma once

#include <initializer_list>

#include "cake/tensor/device.h"
#include "cake/tensor/dtype.h"

namespace cake {

class Tensor;

// RAII: enables (or, with enabled = false, disables) autocast for `device`'s type on this
// thread for its scope, restoring the previous state on exit. dtype: kBFloat16 or kFloat16.
class autocast {
 public:
  explicit autocast(DeviceType device = DeviceType::CUDA, DType dtype = kBFloat16, bool enabled = true);
  explicit autocast(Device device, DType dtype = kBFloat16, bool enabled = true)
      : autocast(device.type, dtype, enabled) {}
  ~autocast();
  autocast(const autocast&) = delete;
  autocast& operator=(const autocast&) = delete;

 private:
  DeviceType device_;
  bool previous_enabled_;
  DType previous_dtype_;
};

bool is_autocast_enabled(DeviceType device);
DType autocast_dtype(DeviceType device);  // the dtype autocast would use (kBFloat16 by default)

namespace autograd {
// The 16-bit dtype an autocast op should compute in for these operands, or nothing when autocast
// is off for their device or an operand is not float32 (float64 is never lowered, and 16-bit
// operands are already there). Undefined operands (an absent bias) are ignored.
bool autocast_applies(std::initializer_list<const Tensor*> operands);
}  // namespace autograd

}  // namespace cake
