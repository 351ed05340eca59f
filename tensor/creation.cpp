#include "cake/tensor/creation.h"

#include <cmath>
#include <cstring>

#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/random.h"

namespace cake {

static Tensor finish(Tensor t, const TensorOptions& options) {
  if (options.requires_grad) t.requires_grad_(true);
  return t;
}

Tensor empty(const Shape& shape, TensorOptions options) {
  return finish(make_empty(shape, options.dtype, options.device), options);
}

Tensor full(const Shape& shape, Scalar value, TensorOptions options) {
  Tensor t = make_empty(shape, options.dtype, options.device);
  native::fill_stub(t.device(), t, value);
  return finish(t, options);
}
Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1, options); }

// Values are computed on the CPU in double and converted, then moved to the device.
static Tensor from_doubles(const std::vector<double>& values, const Shape& shape, TensorOptions options) {
  Tensor host = make_empty(shape, kFloat64, kCPU);
  if (!values.empty()) std::memcpy(host.raw_data(), values.data(), values.size() * sizeof(double));
  Tensor out = native::to_device(native::to_dtype(host, options.dtype), options.device);
  return finish(out, options);
}

Tensor arange(std::int64_t end, TensorOptions options) { return arange(0.0, static_cast<double>(end), 1.0, options); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  CAKE_CHECK(step != 0.0, "arange: step must be non-zero");
  const auto n = static_cast<std::int64_t>(std::ceil((end - start) / step));
  std::vector<double> values(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = start + static_cast<double>(i) * step;
  return from_doubles(values, {static_cast<std::int64_t>(values.size())}, options);
}

Tensor linspace(double start, double end, std::int64_t steps, TensorOptions options) {
  CAKE_CHECK(steps >= 0, "linspace: steps must be non-negative, got ", steps);
  std::vector<double> values(static_cast<std::size_t>(steps));
  const double delta = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  for (std::int64_t i = 0; i < steps; ++i) values[i] = i + 1 == steps && steps > 1 ? end : start + delta * i;
  return from_doubles(values, {steps}, options);
}

Tensor eye(std::int64_t n, std::int64_t m, TensorOptions options) {
  if (m < 0) m = n;
  CAKE_CHECK(n >= 0, "eye: n must be non-negative, got ", n);
  std::vector<double> values(static_cast<std::size_t>(n * m), 0.0);
  for (std::int64_t i = 0; i < std::min(n, m); ++i) values[i * m + i] = 1.0;
  return from_doubles(values, {n, m}, options);
}

static Tensor random_tensor(const Shape& shape, TensorOptions options, native::Distribution dist,
                            native::RandomParams params) {
  Tensor t = make_empty(shape, options.dtype, options.device);
  native::fill_random_(t, dist, params);
  return finish(t, options);
}

Tensor rand(const Shape& shape, TensorOptions options) {
  return random_tensor(shape, options, native::Distribution::Uniform, {0.0, 1.0});
}
Tensor randn(const Shape& shape, TensorOptions options) {
  return random_tensor(shape, options, native::Distribution::Normal, {0.0, 1.0});
}
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, TensorOptions options) {
  CAKE_CHECK(high > low, "randint: empty range [", low, ", ", high, ")");
  return random_tensor(shape, options, native::Distribution::RandInt,
                       {static_cast<double>(low), static_cast<double>(high)});
}

Tensor randperm(std::int64_t n, TensorOptions options) {
  CAKE_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
  // Fisher-Yates with one 64-bit draw per position, from the same Philox stream.
  Tensor keys = make_empty({n}, kInt64, kCPU);
  native::fill_random_(keys, native::Distribution::RandInt, {0.0, 9007199254740992.0});
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) perm[i] = i;
  const std::int64_t* r = keys.data_ptr<std::int64_t>();
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[r[i] % (i + 1)]);
  Tensor host = make_empty({n}, kInt64, kCPU);
  if (n) std::memcpy(host.raw_data(), perm.data(), perm.size() * sizeof(std::int64_t));
  return finish(native::to_device(native::to_dtype(host, options.dtype), options.device), options);
}

static Shape shape_for(std::size_t count, const Shape& shape) {
  if (shape.empty() && count != 1) return {static_cast<std::int64_t>(count)};
  CAKE_CHECK(shape_numel(shape) == static_cast<std::int64_t>(count), "tensor: ", count,
             " values do not fill shape ", shape, " (", shape_numel(shape), " elements)");
  return shape;
}

Tensor tensor(std::initializer_list<double> values, const Shape& shape, TensorOptions options) {
  std::vector<double> v(values);
  return from_doubles(v, shape_for(v.size(), shape), options);
}

template <class T>
Tensor tensor(const std::vector<T>& values, const Shape& shape, TensorOptions options) {
  const Shape s = shape_for(values.size(), shape);
  Tensor host = make_empty(s, dtype_of<T>(), kCPU);
  T* out = host.data_ptr<T>();
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return finish(native::to_device(native::to_dtype(host, options.dtype), options.device), options);
}
template Tensor tensor(const std::vector<float>&, const Shape&, TensorOptions);
template Tensor tensor(const std::vector<double>&, const Shape&, TensorOptions);
template Tensor tensor(const std::vector<std::int64_t>&, const Shape&, TensorOptions);
template Tensor tensor(const std::vector<std::uint8_t>&, const Shape&, TensorOptions);
template Tensor tensor(const std::vector<bool>&, const Shape&, TensorOptions);

Tensor from_blob(void* data, const Shape& shape, DType dtype, Device device, std::function<void(void*)> deleter) {
  auto impl = std::make_shared<TensorImpl>();
  const std::size_t nbytes = static_cast<std::size_t>(shape_numel(shape)) * element_size(dtype);
  impl->storage = std::make_shared<StorageImpl>(data, nbytes, device, std::move(deleter));
  impl->sizes = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor empty_like(const Tensor& like) { return make_empty(like.sizes(), like.dtype(), like.device()); }
Tensor zeros_like(const Tensor& like) { return zeros(like.sizes(), {like.dtype(), like.device()}); }
Tensor ones_like(const Tensor& like) { return ones(like.sizes(), {like.dtype(), like.device()}); }
Tensor zeros_like(const Tensor& like, DType dtype) { return zeros(like.sizes(), {dtype, like.device()}); }
Tensor ones_like(const Tensor& like, DType dtype) { return ones(like.sizes(), {dtype, like.device()}); }
Tensor full_like(const Tensor& like, Scalar value) { return full(like.sizes(), value, {like.dtype(), like.device()}); }
Tensor rand_like(const Tensor& like) { return rand(like.sizes(), {like.dtype(), like.device()}); }
Tensor randn_like(const Tensor& like) { return randn(like.sizes(), {like.dtype(), like.device()}); }

}  // namespace cake
