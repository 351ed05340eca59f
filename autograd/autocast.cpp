// autocast.cpp: the per-thread autocast state (autocast.h).
#include "cake/autograd/autocast.h"

#include "cake/tensor/tensor.h"

namespace cake {
namespace {

struct AutocastState {
  bool enabled[2] = {false, false};  // indexed by DeviceType
  DType dtype[2] = {kBFloat16, kBFloat16};
};
thread_local AutocastState state;

int slot(DeviceType device) { return static_cast<int>(device); }

}  // namespace

autocast::autocast(DeviceType device, DType dtype, bool enabled)
    : device_(device), previous_enabled_(state.enabled[slot(device)]), previous_dtype_(state.dtype[slot(device)]) {
  CAKE_CHECK(is_half(dtype), "autocast: dtype must be bfloat16 or float16, got ", dtype_name(dtype));
  state.enabled[slot(device)] = enabled;
  state.dtype[slot(device)] = dtype;
}

autocast::~autocast() {
  state.enabled[slot(device_)] = previous_enabled_;
  state.dtype[slot(device_)] = previous_dtype_;
}

bool is_autocast_enabled(DeviceType device) { return state.enabled[slot(device)]; }
DType autocast_dtype(DeviceType device) { return state.dtype[slot(device)]; }

namespace autograd {
bool autocast_applies(std::initializer_list<const Tensor*> operands) {
  bool any = false;
  for (const Tensor* t : operands) {
    if (!t->defined()) continue;
    if (t->dtype() != kFloat32 || !is_autocast_enabled(t->device().type)) return false;
    any = true;
  }
  return any;
}
}  // namespace autograd

}  // namespace cake
