// creation.h: making tensors.
//
//   auto a = cake::zeros({2, 3});                       // float32, cpu
//   auto b = cake::ones({4}, cake::kInt64);
//   auto c = cake::tensor({1.0, 2.0, 3.0, 4.0}, {2, 2}, cake::kFloat64);
//   auto d = cake::randn({8, 16}, {cake::kFloat32, cake::Device::cuda()});
//   auto e = cake::arange(10);                          // int64 0..9
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake {

// dtype, device and whether the new tensor requires a gradient. Converts implicitly from a
// DType or a Device, so `zeros({2}, kFloat64)` and `zeros({2}, Device::cuda())` both work.
struct TensorOptions {
  DType dtype = kFloat32;
  Device device = kCPU;
  bool requires_grad = false;

  TensorOptions() = default;
  TensorOptions(DType d) : dtype(d) {}            // NOLINT: implicit by design
  TensorOptions(Device d) : device(d) {}          // NOLINT
  TensorOptions(DType d, Device dev, bool grad = false) : dtype(d), device(dev), requires_grad(grad) {}
};

Tensor empty(const Shape& shape, TensorOptions options = {});
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, Scalar value, TensorOptions options = {});
// [0, end) and [start, end) by step; int64 unless options say otherwise.
Tensor arange(std::int64_t end, TensorOptions options = kInt64);
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = kFloat32);
Tensor linspace(double start, double end, std::int64_t steps, TensorOptions options = {});
Tensor eye(std::int64_t n, std::int64_t m = -1, TensorOptions options = {});

// Random (see random.h for seeding): uniform [0, 1), standard normal, integers in [low, high),
// a random permutation of 0..n-1.
Tensor rand(const Shape& shape, TensorOptions options = {});
Tensor randn(const Shape& shape, TensorOptions options = {});
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, TensorOptions options = kInt64);
Tensor randperm(std::int64_t n, TensorOptions options = kInt64);

// From values. With an empty shape the result is 1-D with one entry per value.
Tensor tensor(std::initializer_list<double> values, const Shape& shape = {}, TensorOptions options = {});
template <class T>
Tensor tensor(const std::vector<T>& values, const Shape& shape = {}, TensorOptions options = dtype_of<T>());
// Wraps existing memory without copying; `deleter` (if any) runs when the last view dies.
Tensor from_blob(void* data, const Shape& shape, DType dtype, Device device = kCPU,
                 std::function<void(void*)> deleter = nullptr);

// The *_like forms take their shape, dtype and device from `like` (dtype overridable).
Tensor empty_like(const Tensor& like);
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, Scalar value);
Tensor rand_like(const Tensor& like);
Tensor randn_like(const Tensor& like);
Tensor zeros_like(const Tensor& like, DType dtype);
Tensor ones_like(const Tensor& like, DType dtype);

}  // namespace cake
