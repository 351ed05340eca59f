// dispatch.h: one kernel per device, chosen once per op.
//
// A native op (tensor/native/*.cpp) checks its arguments, allocates the output, and calls a
// DispatchStub, which holds one function pointer per device type. Each backend registers its
// kernels at load time:
//
//   // tensor/native/elementwise.h
//   using UnaryFn = void (*)(UnaryOp, UnaryParams, const Tensor& x, const Tensor& out);
//   CAKE_DECLARE_DISPATCH(UnaryFn, unary_stub);
//   // tensor/cpu/elementwise_kernels.cpp
//   CAKE_REGISTER_KERNEL(unary_stub, DeviceType::CPU, &unary_kernel);
//   // cuda/backend/elementwise_glue.cpp
//   CAKE_REGISTER_KERNEL(unary_stub, DeviceType::CUDA, &unary_kernel_cuda);
//
// Calling an op on a device with no kernel (CUDA in a CPU-only build) is a cake::Error naming
// the op and the device, never a crash. Adding a backend = registering its kernels in every stub;
// docs/architecture.md walks through it.
#pragma once

#include <array>

#include "cake/tensor/device.h"
#include "cake/tensor/error.h"

namespace cake {

// Set by the CUDA backend when it is compiled in (cuda/runtime.cpp).
bool cuda_backend_compiled();

template <class Fn>
struct DispatchStub {
  const char* name;
  std::array<Fn, kNumDeviceTypes> kernels{};

  Fn operator[](Device device) const {
    Fn fn = kernels[static_cast<int>(device.type)];
    if (fn == nullptr) [[unlikely]] {
      if (device.is_cuda() && !cuda_backend_compiled())
        CAKE_FAIL(name, ": tensor is on ", to_string(device), " but Cake was built without CUDA (CAKE_WITH_CUDA=OFF)");
      CAKE_FAIL(name, ": no kernel registered for device ", to_string(device));
    }
    return fn;
  }
  template <class... Args>
  decltype(auto) operator()(Device device, Args&&... args) const {
    return (*this)[device](std::forward<Args>(args)...);
  }
};

template <class Stub, class Fn>
struct KernelRegistrar {
  KernelRegistrar(Stub& stub, DeviceType type, Fn fn) { stub.kernels[static_cast<int>(type)] = fn; }
};

}  // namespace cake

#define CAKE_DECLARE_DISPATCH(fn_type, stub) extern ::cake::DispatchStub<fn_type> stub
// constinit: the stub is filled in before any registrar (in another file) can run.
#define CAKE_DEFINE_DISPATCH(fn_type, stub) constinit ::cake::DispatchStub<fn_type> stub{#stub}
#define CAKE_REGISTER_KERNEL_CONCAT2(a, b) a##b
#define CAKE_REGISTER_KERNEL_CONCAT(a, b) CAKE_REGISTER_KERNEL_CONCAT2(a, b)
#define CAKE_REGISTER_KERNEL(stub, device_type, fn)                                                    \
  static ::cake::KernelRegistrar<decltype(stub), decltype(fn)> CAKE_REGISTER_KERNEL_CONCAT(              \
      cake_registrar_, __LINE__)(stub, device_type, fn)
