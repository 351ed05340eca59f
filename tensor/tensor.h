// tensor.h: the n-dimensional array at the centre of Cake.
//
//   cake::Tensor x = cake::randn({2, 3});          // float32 on the CPU
//   cake::Tensor y = (x * 2.0 + 1.0).relu().sum(1);  // a dim is a plain integer, or a list {0, 1}
//   std::cout << y << y.sizes();                     // values, shape, dtype, device; then [2]
//   auto [values, indices] = x.max(1);              // libtorch's spellings work too
//   using namespace cake::indexing;
//   cake::Tensor column = x.index({Slice(), 0});     // x[:, 0]
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

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "cake/tensor/device.h"
#include "cake/tensor/dtype.h"
#include "cake/tensor/error.h"
#include "cake/tensor/scalar.h"
#include "cake/tensor/storage.h"

namespace cake {

// A list of sizes, strides or dims. It is a std::vector of int64 in every way (and converts from
// and to one), but a type of its own in namespace cake, so that `std::cout << x.sizes()` finds
// the operator<< below by argument-dependent lookup from any namespace: for a plain alias of
// std::vector the only associated namespace is std, where no such operator lives.
struct Shape : std::vector<std::int64_t> {
  using Base = std::vector<std::int64_t>;
  using Base::Base;
  Shape() = default;
  Shape(const Base& v) : Base(v) {}             // NOLINT: implicit, a Shape is a vector
  Shape(Base&& v) noexcept : Base(std::move(v)) {}  // NOLINT
};
// libtorch names the sizes() list IntArrayRef; in Cake it is the same type.
using IntArrayRef = Shape;
std::ostream& operator<<(std::ostream& out, const Shape& shape);  // [2, 3]
std::string shape_str(const Shape& shape);
std::int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

namespace autograd {
struct AutogradMeta;
struct Node;
}  // namespace autograd
namespace indexing {
struct TensorIndex;
}  // namespace indexing
template <class T, std::size_t N> class TensorAccessor;
class Tensor;
using TensorList = std::vector<Tensor>;
using tensor_list = std::vector<Tensor>;  // libtorch's spelling

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
  DType scalar_type() const { return dtype(); }  // libtorch's name
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
  // The same as a Scalar (integral for integer and bool tensors): x.item().to<double>().
  Scalar item() const;
  // A view for element loops over a CPU tensor: `auto a = x.accessor<float, 2>(); a[i][j]`.
  // Checks that T is the dtype and N the number of dims.
  template <class T, std::size_t N> TensorAccessor<T, N> accessor() const;

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
  // The functions of autograd/ops.h's "more elementwise maths" (cake::tan, ...).
  Tensor tan() const;
  Tensor asin() const;
  Tensor acos() const;
  Tensor atan() const;
  Tensor sinh() const;
  Tensor cosh() const;
  Tensor asinh() const;
  Tensor acosh() const;
  Tensor atanh() const;
  Tensor expm1() const;
  Tensor exp2() const;
  Tensor log2() const;
  Tensor log10() const;
  Tensor erf() const;
  Tensor erfc() const;
  Tensor erfinv() const;
  Tensor lgamma() const;
  Tensor digamma() const;
  Tensor polygamma(std::int64_t n) const;
  Tensor sinc() const;
  Tensor frac() const;
  Tensor logit(std::optional<double> eps = std::nullopt) const;
  Tensor nan_to_num(double nan = 0.0, std::optional<double> posinf = std::nullopt,
                    std::optional<double> neginf = std::nullopt) const;
  Tensor atan2(const Tensor& other) const;
  Tensor hypot(const Tensor& other) const;
  Tensor copysign(const Tensor& other) const;
  Tensor fmod(const Tensor& other) const;
  Tensor fmod(Scalar other) const;
  Tensor remainder(const Tensor& other) const;
  Tensor remainder(Scalar other) const;
  Tensor floor_divide(const Tensor& other) const;
  Tensor floor_divide(Scalar other) const;
  Tensor logaddexp(const Tensor& other) const;
  Tensor xlogy(const Tensor& other) const;
  Tensor lerp(const Tensor& end, const Tensor& weight) const;
  Tensor lerp(const Tensor& end, Scalar weight) const;
  Tensor addcmul(const Tensor& t1, const Tensor& t2, Scalar value = 1) const;
  Tensor addcdiv(const Tensor& t1, const Tensor& t2, Scalar value = 1) const;
  Tensor isclose(const Tensor& other, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false) const;
  // Comparisons (bool tensors, no grad), as the operators ==, !=, <, <=, >, >=.
  Tensor eq(const Tensor& other) const;
  Tensor ne(const Tensor& other) const;
  Tensor lt(const Tensor& other) const;
  Tensor le(const Tensor& other) const;
  Tensor gt(const Tensor& other) const;
  Tensor ge(const Tensor& other) const;
  Tensor eq(Scalar other) const;
  Tensor ne(Scalar other) const;
  Tensor lt(Scalar other) const;
  Tensor le(Scalar other) const;
  Tensor gt(Scalar other) const;
  Tensor ge(Scalar other) const;

  // ---- member forms of ops.h and nn_ops.h functions (differentiable) ---------------------------
  Tensor matmul(const Tensor& other) const;
  Tensor mm(const Tensor& other) const;
  Tensor gather(std::int64_t dim, const Tensor& index) const;
  Tensor index_select(std::int64_t dim, const Tensor& index) const;
  // x.scatter(1, index, src): a copy with src[i][j] written at [i][index[i][j]] (torch.scatter);
  // a scalar value in place of src writes that value. scatter_add adds instead; index_add adds
  // alpha * the slices of source at the 1-D index's slices.
  Tensor scatter(std::int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor scatter(std::int64_t dim, const Tensor& index, Scalar value) const;
  Tensor scatter_add(std::int64_t dim, const Tensor& index, const Tensor& src) const;
  // reduce: "sum", "prod", "mean", "amax" or "amin" (torch.Tensor.scatter_reduce).
  Tensor scatter_reduce(std::int64_t dim, const Tensor& index, const Tensor& src, std::string_view reduce,
                        bool include_self = true) const;
  Tensor index_add(std::int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha = 1) const;
  Tensor masked_fill(const Tensor& mask, Scalar value) const;
  Tensor softmax(std::int64_t dim) const;
  Tensor log_softmax(std::int64_t dim) const;
  Tensor silu() const;
  Tensor gelu() const;
  Tensor floor() const;                         // no grad
  Tensor round() const;                         // no grad
  Tensor ceil() const;                          // no grad
  Tensor trunc() const;                         // no grad
  Tensor isnan() const;                         // bool, no grad
  Tensor isfinite() const;
  Tensor logical_not() const;
  Tensor logical_and(const Tensor& other) const;
  Tensor logical_or(const Tensor& other) const;
  Tensor cumsum(std::int64_t dim) const;
  Tensor cumprod(std::int64_t dim) const;
  std::tuple<Tensor, Tensor> cummax(std::int64_t dim) const;
  std::tuple<Tensor, Tensor> cummin(std::int64_t dim) const;
  Tensor logcumsumexp(std::int64_t dim) const;
  Tensor median() const;
  std::tuple<Tensor, Tensor> median(std::int64_t dim, bool keepdim = false) const;
  Tensor nanmedian() const;
  std::tuple<Tensor, Tensor> nanmedian(std::int64_t dim, bool keepdim = false) const;
  std::tuple<Tensor, Tensor> kthvalue(std::int64_t k, std::int64_t dim = -1, bool keepdim = false) const;
  Tensor quantile(double q, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false,
                  std::string_view interpolation = "linear") const;
  Tensor tril(std::int64_t diagonal = 0) const;
  Tensor triu(std::int64_t diagonal = 0) const;
  Tensor diagonal(std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1) const;
  Tensor diag(std::int64_t diagonal = 0) const;
  Tensor diag_embed(std::int64_t offset = 0, std::int64_t dim1 = -2, std::int64_t dim2 = -1) const;
  Tensor movedim(std::int64_t source, std::int64_t destination) const;
  Tensor movedim(const Shape& source, const Shape& destination) const;
  Tensor moveaxis(std::int64_t source, std::int64_t destination) const;
  Tensor swapaxes(std::int64_t dim0, std::int64_t dim1) const;
  Tensor swapdims(std::int64_t dim0, std::int64_t dim1) const;
  Tensor rot90(std::int64_t k = 1, const Shape& dims = {0, 1}) const;
  Tensor tile(const Shape& reps) const;
  Tensor kron(const Tensor& other) const;
  // (values, indices), as libtorch: auto [v, i] = x.topk(3, 1). Values are differentiable.
  std::tuple<Tensor, Tensor> sort(std::int64_t dim = -1, bool descending = false) const;
  std::tuple<Tensor, Tensor> topk(std::int64_t k, std::int64_t dim = -1, bool largest = true, bool sorted = true) const;
  Tensor argsort(std::int64_t dim = -1, bool descending = false) const;  // int64, no grad
  // Views: pieces of split_size (the last may be smaller), of the given sizes, or `chunks` pieces.
  std::vector<Tensor> split(std::int64_t split_size, std::int64_t dim = 0) const;
  std::vector<Tensor> split(const std::vector<std::int64_t>& sizes, std::int64_t dim = 0) const;
  std::vector<Tensor> split_with_sizes(const std::vector<std::int64_t>& sizes, std::int64_t dim = 0) const;
  std::vector<Tensor> chunk(std::int64_t chunks, std::int64_t dim = 0) const;
  std::vector<Tensor> unbind(std::int64_t dim = 0) const;  // x.select(dim, i) for every i
  Tensor flip(const Shape& dims) const;
  Tensor repeat(const Shape& repeats) const;    // tiles: x [2, 3] .repeat({2, 1}) is [4, 3]
  Tensor roll(std::int64_t shift, std::int64_t dim) const;  // x.roll(1, 0): the last row comes first
  Tensor nonzero() const;                       // [n, dim()] int64 coordinates, no grad
  Tensor reshape_as(const Tensor& other) const { return reshape(other.sizes()); }
  // New tensors with this one's dtype and device (libtorch's new_zeros, ...).
  Tensor new_empty(const Shape& shape) const;
  Tensor new_zeros(const Shape& shape) const;
  Tensor new_ones(const Shape& shape) const;
  Tensor new_full(const Shape& shape, Scalar value) const;

  // ---- indexing, as libtorch's Tensor::index (see cake::indexing below) -------------------------
  //   using namespace cake::indexing;
  //   x.index({Slice(), 0});  x.index({Slice(1, None, 2)});  x.index({mask});  x.index({Ellipsis, idx})
  // Integers select (dropping the dim), Slices keep it, None inserts a dim of size 1, Ellipsis
  // stands for all the dims not named, a bool tensor picks the elements where it is true (1-D
  // result over the dims it covers) and an int64 tensor picks entries along its dim.
  // Differentiable, as the views and index_select / masked_select it is made of.
  Tensor index(std::initializer_list<indexing::TensorIndex> indices) const;
  Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
  // Writes `value` into x.index(indices) in place (x must not require grad, as every in-place op).
  Tensor& index_put_(std::initializer_list<indexing::TensorIndex> indices, const Tensor& value);
  Tensor& index_put_(std::initializer_list<indexing::TensorIndex> indices, Scalar value);
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& value);
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, Scalar value);

  // ---- reductions (differentiable unless noted) ---------------------------------------------
  // Empty `dims` means all dimensions. A single dim may be a plain integer: x.sum(1),
  // x.mean(-1, /*keepdim=*/true). (The integer forms are templates so that a braced list, even
  // `{}` or `{1}`, always means the list form.)
  template <std::integral I> Tensor sum(I dim, bool keepdim = false) const { return sum(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  template <std::integral I> Tensor mean(I dim, bool keepdim = false) const { return mean(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  template <std::integral I> Tensor var(I dim, bool keepdim = false, std::int64_t correction = 1) const {
    return var(Shape{static_cast<std::int64_t>(dim)}, keepdim, correction);
  }
  template <std::integral I> Tensor std(I dim, bool keepdim = false, std::int64_t correction = 1) const {
    return std(Shape{static_cast<std::int64_t>(dim)}, keepdim, correction);
  }
  template <std::integral I> Tensor amax(I dim, bool keepdim = false) const { return amax(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  template <std::integral I> Tensor amin(I dim, bool keepdim = false) const { return amin(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  template <std::integral I> Tensor logsumexp(I dim, bool keepdim = false) const {
    return logsumexp(Shape{static_cast<std::int64_t>(dim)}, keepdim);
  }
  // (values, indices) along a dim, as libtorch: auto [v, i] = x.max(1). Values are differentiable.
  std::tuple<Tensor, Tensor> max(std::int64_t dim, bool keepdim = false) const;
  std::tuple<Tensor, Tensor> min(std::int64_t dim, bool keepdim = false) const;
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
  template <std::integral I> Tensor prod(I dim, bool keepdim = false) const { return prod(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  Tensor prod(const Shape& dims = {}, bool keepdim = false) const;   // differentiable for floating x
  // Whether any / every element (over dims) is nonzero: bool, no grad. x.any(), x.all(1).
  template <std::integral I> Tensor any(I dim, bool keepdim = false) const { return any(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  template <std::integral I> Tensor all(I dim, bool keepdim = false) const { return all(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  Tensor any(const Shape& dims = {}, bool keepdim = false) const;
  Tensor all(const Shape& dims = {}, bool keepdim = false) const;
  Tensor nansum(const Shape& dims = {}, bool keepdim = false) const;
  Tensor nanmean(const Shape& dims = {}, bool keepdim = false) const;
  Tensor count_nonzero(const Shape& dims = {}) const;  // int64, no grad
  std::tuple<Tensor, Tensor> aminmax(std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false) const;

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
  Tensor& scatter_(std::int64_t dim, const Tensor& index, const Tensor& src);
  Tensor& scatter_(std::int64_t dim, const Tensor& index, Scalar value);
  Tensor& scatter_add_(std::int64_t dim, const Tensor& index, const Tensor& src);
  Tensor& scatter_reduce_(std::int64_t dim, const Tensor& index, const Tensor& src, std::string_view reduce,
                          bool include_self = true);
  Tensor& index_add_(std::int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha = 1);
  Tensor& uniform_(double low = 0.0, double high = 1.0);
  Tensor& normal_(double mean = 0.0, double std = 1.0);
  Tensor& bernoulli_(double p);
  Tensor bernoulli() const;                     // 0/1 draws with this tensor's probabilities
  Tensor multinomial(std::int64_t num_samples, bool replacement = false) const;  // int64 indices
  void bump_version() const { ++impl().storage->version; }

  // ---- autograd (defined in autograd/) -------------------------------------------------------
  bool requires_grad() const;
  Tensor& requires_grad_(bool enabled = true);
  // The accumulated gradient of a leaf (or of a non-leaf after retain_grad()); undefined if none.
  const Tensor& grad() const;
  Tensor& mutable_grad();                     // for optimisers and zero_grad
  void set_grad(const Tensor& grad);
  // Backpropagates from this tensor. A non-scalar output needs an explicit `gradient`.
  // retain_graph defaults to create_graph; create_graph records the backward pass itself, so
  // the gradients left in .grad() can be differentiated again (see autograd/engine.h).
  void backward(const Tensor& gradient = {}, std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false) const;
  // Calls fn on the gradient of this tensor whenever one is computed (leaf or not). fn returns
  // a replacement gradient (Tensor(Tensor)) or nothing (void(Tensor)). Returns the hook's index.
  template <class Fn> unsigned register_hook(Fn&& fn) const {
    using R = std::invoke_result_t<Fn&, const Tensor&>;
    if constexpr (std::is_void_v<R>) {
      return add_hook([f = std::forward<Fn>(fn)](const Tensor& g) {
        f(g);
        return Tensor();
      });
    } else {
      return add_hook(std::function<Tensor(const Tensor&)>(std::forward<Fn>(fn)));
    }
  }
  unsigned add_hook(std::function<Tensor(const Tensor&)> hook) const;  // an undefined result keeps the gradient
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

// ---- indexing (libtorch's torch::indexing) ---------------------------------------------------
namespace indexing {
// `None`: as a Slice bound, "to the end"; as an index, a new dim of size 1.
inline constexpr std::nullopt_t None = std::nullopt;
struct EllipsisIndexType {};
inline constexpr EllipsisIndexType Ellipsis{};
// start:stop:step, each optional (None), as Python's slice.
struct Slice {
  Slice(std::optional<std::int64_t> start = std::nullopt, std::optional<std::int64_t> stop = std::nullopt,
        std::optional<std::int64_t> step = std::nullopt)
      : start(start), stop(stop), step(step) {}
  std::optional<std::int64_t> start, stop, step;
};
// One entry of an index list: an integer, a Slice, None, Ellipsis ("..."), or a tensor.
struct TensorIndex {
  enum class Kind { Integer, Slice, None, Ellipsis, Tensor };
  template <std::integral I> TensorIndex(I i) : kind(Kind::Integer), integer(static_cast<std::int64_t>(i)) {}  // NOLINT
  TensorIndex(indexing::Slice s) : kind(Kind::Slice), slice(s) {}                                           // NOLINT
  TensorIndex(std::nullopt_t) : kind(Kind::None) {}                                                         // NOLINT
  TensorIndex(EllipsisIndexType) : kind(Kind::Ellipsis) {}                                                  // NOLINT
  TensorIndex(const char* text);  // NOLINT: "..." is the Ellipsis
  TensorIndex(cake::Tensor t) : kind(Kind::Tensor), tensor(std::move(t)) {}                                 // NOLINT
  Kind kind;
  std::int64_t integer = 0;
  indexing::Slice slice;
  cake::Tensor tensor;
};
}  // namespace indexing

// ---- element accessor (Tensor::accessor<T, N>) -------------------------------------------------
// a[i][j]... reads and writes element (i, j, ...) through the strides; no bounds checks, as
// libtorch's. Valid while the tensor it came from is alive.
template <class T, std::size_t N>
class TensorAccessor {
 public:
  TensorAccessor(T* data, const std::int64_t* sizes, const std::int64_t* strides)
      : data_(data), sizes_(sizes), strides_(strides) {}
  decltype(auto) operator[](std::int64_t i) const {
    if constexpr (N == 1) return static_cast<T&>(data_[i * strides_[0]]);
    else return TensorAccessor<T, N - 1>(data_ + i * strides_[0], sizes_ + 1, strides_ + 1);
  }
  std::int64_t size(std::size_t d) const { return sizes_[d]; }
  std::int64_t stride(std::size_t d) const { return strides_[d]; }
  T* data() const { return data_; }

 private:
  T* data_;
  const std::int64_t* sizes_;
  const std::int64_t* strides_;
};

template <class T, std::size_t N>
TensorAccessor<T, N> Tensor::accessor() const {
  static_assert(N > 0, "accessor is for tensors with at least one dimension; use item() for 0-d tensors");
  CAKE_CHECK(dim() == static_cast<std::int64_t>(N), "accessor: expected a ", N, "-d tensor, got shape ", sizes());
  CAKE_CHECK(is_cpu(), "accessor: the tensor is on ", device(), "; copy it with .cpu() first");
  return TensorAccessor<T, N>(data_ptr<T>(), sizes().data(), strides().data());
}

// ---- construction helpers used by the kernels -------------------------------------------------
// A new contiguous tensor with uninitialised memory from the device's allocator.
Tensor make_empty(const Shape& sizes, DType dtype, Device device);
// A view sharing `base`'s storage with the given geometry (no checks beyond bounds).
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset);

}  // namespace cake
