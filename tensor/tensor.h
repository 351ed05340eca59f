// tensor.h: the n-dimensional array at the centre of Cake.
//
//   cake::Tensor x = cake::randn({2, 3});          // float32 on the CPU
//   cake::Tensor y = (x * 2.0 + 1.0).relu().sum(1);
//   std::cout << y;                                  // values, shape, dtype, device
//
// A Tensor is a cheap handle (one shared_ptr) to a TensorImpl, which is a *view*: sizes,
// strides in elements, an offset and a dtype, over a Storage (the bytes, see storage.h). Many
// views share one storage: transpose, narrow, select, expand and friends never copy.
// Row-major: the last dimension is the fastest-moving one in a contiguous tensor.
//
// Autograd hangs off the view as a pointer that is null when no gradient is needed (as in
// PyTorch's c10), so plain arrays pay nothing for it. The maths methods below are
// differentiable: they are defined in autograd/ (tensor_methods.cpp) and record a graph node
// when an input requires a gradient.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tensor/scalar.h"
#include "tensor/storage.h"

namespace cake {

using Shape = std::vector<std::int64_t>;
std::ostream& operator<<(std::ostream& out, const Shape& shape);  // [2, 3]
std::string shape_str(const Shape& shape);
std::int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

namespace autograd {
struct AutogradMeta;
struct Node;
}  // namespace autograd

// The view: what a Tensor handle points to.
struct TensorImpl {
  Storage storage;
  Shape sizes;
  Shape strides;  // in elements, not bytes
  std::int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;
  std::shared_ptr<autograd::AutogradMeta> autograd;  // null: no gradient needed
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata -----------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& sizes() const { return impl().sizes; }
  const Shape& shape() const { return impl().sizes; }
  const Shape& strides() const { return impl().strides; }
  std::int64_t size(std::int64_t dim) const;    // negative dims count from the end
  std::int64_t stride(std::int64_t dim) const;
  std::int64_t dim() const { return static_cast<std::int64_t>(impl().sizes.size()); }
  std::int64_t numel() const;
  DType dtype() const { return impl().dtype; }
  Device device() const;
  bool is_cpu() const { return device().is_cpu(); }
  bool is_cuda() const { return device().is_cuda(); }
  std::int64_t storage_offset() const { return impl().offset; }
  std::size_t element_size() const { return cake::element_size(dtype()); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * element_size(); }
  bool is_contiguous() const;
  bool is_floating_point() const { return cake::is_floating(dtype()); }
  const Storage& storage() const { return impl().storage; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  TensorImpl& impl() const {
    CAKE_CHECK(impl_ != nullptr, "operation on an undefined tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // Raw element access. data_ptr<T>() checks that T matches the dtype.
  void* raw_data() const;
  template <class T> T* data_ptr() const {
    CAKE_CHECK(dtype_of<T>() == dtype(), "data_ptr: tensor has dtype ", dtype_name(dtype()),
               ", asked for ", dtype_name(dtype_of<T>()));
    return static_cast<T*>(raw_data());
  }
  // The single value of a one-element tensor, converted to T (copies from the GPU if needed).
  template <class T> T item() const;

  // ---- conversion and copies (differentiable) -----------------------------------------------
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor to(Device device, DType dtype) const;
  Tensor cpu() const { return to(Device::cpu()); }
  Tensor cuda(int index = 0) const { return to(Device::cuda(index)); }
  Tensor contiguous() const;
  Tensor clone() const;

  // ---- views (no copy; differentiable) ------------------------------------------------------
  Tensor view(const Shape& shape) const;      // one size may be -1
  Tensor reshape(const Shape& shape) const;   // view when possible, else copy
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  Tensor t() const;                           // transpose of a matrix
  Tensor permute(const Shape& dims) const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor operator[](std::int64_t index) const { return select(0, index); }
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor squeeze() const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor expand(const Shape& shape) const;    // -1 keeps a size
  Tensor expand_as(const Tensor& other) const { return expand(other.sizes()); }
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor unflatten(std::int64_t dim, const Shape& sizes) const;
  Tensor view_as(const Tensor& other) const { return view(other.sizes()); }

  // ---- elementwise maths (differentiable) ---------------------------------------------------
  Tensor neg() const;
  Tensor abs() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor log1p() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor square() const;
  Tensor pow(double exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor clamp(std::optional<double> min, std::optional<double> max) const;
  Tensor clamp_min(double min) const { return clamp(min, std::nullopt); }
  Tensor clamp_max(double max) const { return clamp(std::nullopt, max); }
  Tensor sign() const;                          // not differentiable (zero gradient)
  Tensor reciprocal() const;
  Tensor maximum(const Tensor& other) const;
  Tensor minimum(const Tensor& other) const;

  // ---- reductions (differentiable unless noted) ---------------------------------------------
  // Empty `dims` means all dimensions.
  Tensor sum(const Shape& dims = {}, bool keepdim = false) const;
  Tensor mean(const Shape& dims = {}, bool keepdim = false) const;
  Tensor var(const Shape& dims = {}, bool keepdim = false, std::int64_t correction = 1) const;
  Tensor std(const Shape& dims = {}, bool keepdim = false, std::int64_t correction = 1) const;
  Tensor max() const;                           // over everything
  Tensor min() const;
  Tensor amax(const Shape& dims, bool keepdim = false) const;
  Tensor amin(const Shape& dims, bool keepdim = false) const;
  Tensor argmax(std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false) const;  // int64, no grad
  Tensor argmin(std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor logsumexp(const Shape& dims, bool keepdim = false) const;
  Tensor norm(double p = 2.0, const Shape& dims = {}, bool keepdim = false) const;
  Tensor prod(const Shape& dims = {}, bool keepdim = false) const;   // not differentiable

  // ---- in-place (not differentiable on tensors that require grad; bump the version) ----------
  Tensor& zero_();
  Tensor& fill_(Scalar value);
  Tensor& copy_(const Tensor& src);             // broadcasts src, converts dtype/device
  Tensor& add_(const Tensor& other, Scalar alpha = 1);
  Tensor& add_(Scalar other);
  Tensor& sub_(const Tensor& other, Scalar alpha = 1);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(Scalar other);
  Tensor& div_(const Tensor& other);
  Tensor& div_(Scalar other);
  Tensor& clamp_(std::optional<double> min, std::optional<double> max);
  Tensor& masked_fill_(const Tensor& mask, Scalar value);
  Tensor& uniform_(double low = 0.0, double high = 1.0);
  Tensor& normal_(double mean = 0.0, double std = 1.0);
  Tensor& bernoulli_(double p);
  void bump_version() const { ++impl().storage->version; }

  // ---- autograd (defined in autograd/) -------------------------------------------------------
  bool requires_grad() const;
  Tensor& requires_grad_(bool enabled = true);
  // The accumulated gradient of a leaf (or of a non-leaf after retain_grad()); undefined if none.
  const Tensor& grad() const;
  Tensor& mutable_grad();                     // for optimisers and zero_grad
  void set_grad(const Tensor& grad);
  // Backpropagates from this tensor. A non-scalar output needs an explicit `gradient`.
  void backward(const Tensor& gradient = {}, bool retain_graph = false) const;
  void retain_grad() const;
  bool is_leaf() const;
  std::shared_ptr<autograd::Node> grad_fn() const;
  // A new view of the same storage, cut from the graph (shares the version counter).
  Tensor detach() const;
  Tensor& detach_();
  std::uint64_t version() const { return impl().storage->version; }

  friend std::ostream& operator<<(std::ostream& out, const Tensor& t);
  std::string to_string() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// ---- arithmetic operators (differentiable, NumPy broadcasting) -------------------------------
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, Scalar b);
Tensor operator-(const Tensor& a, Scalar b);
Tensor operator*(const Tensor& a, Scalar b);
Tensor operator/(const Tensor& a, Scalar b);
Tensor operator+(Scalar a, const Tensor& b);
Tensor operator-(Scalar a, const Tensor& b);
Tensor operator*(Scalar a, const Tensor& b);
Tensor operator/(Scalar a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor& operator+=(Tensor& a, const Tensor& b);
Tensor& operator-=(Tensor& a, const Tensor& b);
Tensor& operator*=(Tensor& a, const Tensor& b);
Tensor& operator/=(Tensor& a, const Tensor& b);
Tensor& operator+=(Tensor& a, Scalar b);
Tensor& operator-=(Tensor& a, Scalar b);
Tensor& operator*=(Tensor& a, Scalar b);
Tensor& operator/=(Tensor& a, Scalar b);
// Comparisons return bool tensors, as in PyTorch (use cake::equal for a single bool).
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, Scalar b);
Tensor operator!=(const Tensor& a, Scalar b);
Tensor operator<(const Tensor& a, Scalar b);
Tensor operator<=(const Tensor& a, Scalar b);
Tensor operator>(const Tensor& a, Scalar b);
Tensor operator>=(const Tensor& a, Scalar b);
Tensor operator!(const Tensor& a);  // logical not of a bool tensor
Tensor operator&(const Tensor& a, const Tensor& b);  // logical and of bool tensors
Tensor operator|(const Tensor& a, const Tensor& b);

// ---- construction helpers used by the kernels -------------------------------------------------
// A new contiguous tensor with uninitialised memory from the device's allocator.
Tensor make_empty(const Shape& sizes, DType dtype, Device device);
// A view sharing `base`'s storage with the given geometry (no checks beyond bounds).
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset);

}  // namespace cake
