// autograd/tensor_methods.cpp: the Tensor methods declared in tensor/tensor.h, each a one-line
// forward to the public (differentiable) op in ops.h, so x.exp() and cake::exp(x) are the
// same thing.
#include <limits>

#include "cake/autograd/nn_ops.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/indexing.h"

namespace cake {

Tensor Tensor::to(Device device) const { return cake::to(*this, device, dtype()); }
Tensor Tensor::to(DType dtype) const { return cake::to(*this, device(), dtype); }
Tensor Tensor::to(Device device, DType dtype) const { return cake::to(*this, device, dtype); }
Tensor Tensor::contiguous() const { return cake::contiguous(*this); }
Tensor Tensor::clone() const { return cake::clone(*this); }

Tensor Tensor::view(const Shape& shape) const { return cake::view(*this, shape); }
Tensor Tensor::reshape(const Shape& shape) const { return cake::reshape(*this, shape); }
Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const { return cake::transpose(*this, d0, d1); }
Tensor Tensor::t() const {
  CAKE_CHECK(dim() <= 2, "t: expects a tensor with at most 2 dimensions, got shape ", sizes());
  return dim() < 2 ? *this : cake::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Shape& dims) const { return cake::permute(*this, dims); }
Tensor Tensor::narrow(std::int64_t d, std::int64_t s, std::int64_t l) const { return cake::narrow(*this, d, s, l); }
Tensor Tensor::slice(std::int64_t d, std::int64_t s, std::int64_t e, std::int64_t st) const {
  return cake::slice(*this, d, s, e, st);
}
Tensor Tensor::select(std::int64_t d, std::int64_t i) const { return cake::select(*this, d, i); }
Tensor Tensor::unsqueeze(std::int64_t d) const { return cake::unsqueeze(*this, d); }
Tensor Tensor::squeeze() const { return cake::squeeze(*this); }
Tensor Tensor::squeeze(std::int64_t d) const { return cake::squeeze(*this, d); }
Tensor Tensor::expand(const Shape& shape) const { return cake::expand(*this, shape); }
Tensor Tensor::flatten(std::int64_t s, std::int64_t e) const { return cake::flatten(*this, s, e); }
Tensor Tensor::unflatten(std::int64_t dim, const Shape& sizes_in) const {
  CAKE_CHECK(this->dim() > 0, "unflatten: cannot unflatten a 0-d tensor");
  if (dim < 0) dim += this->dim();
  CAKE_CHECK(dim >= 0 && dim < this->dim(), "unflatten: dimension out of range for shape ", sizes());
  Shape shape(sizes().begin(), sizes().begin() + dim);
  Shape inner = sizes_in;
  std::int64_t known = 1;
  for (std::int64_t s : inner) known *= s == -1 ? 1 : s;
  for (std::int64_t& s : inner) if (s == -1) s = known ? sizes()[dim] / known : 0;
  CAKE_CHECK(shape_numel(inner) == sizes()[dim], "unflatten: sizes ", sizes_in, " do not multiply to ", sizes()[dim]);
  shape.insert(shape.end(), inner.begin(), inner.end());
  shape.insert(shape.end(), sizes().begin() + dim + 1, sizes().end());
  return cake::reshape(*this, shape);
}

Tensor Tensor::neg() const { return cake::neg(*this); }
Tensor Tensor::abs() const { return cake::abs(*this); }
Tensor Tensor::exp() const { return cake::exp(*this); }
Tensor Tensor::log() const { return cake::log(*this); }
Tensor Tensor::log1p() const { return cake::log1p(*this); }
Tensor Tensor::sqrt() const { return cake::sqrt(*this); }
Tensor Tensor::rsqrt() const { return cake::rsqrt(*this); }
Tensor Tensor::square() const { return cake::square(*this); }
Tensor Tensor::pow(double e) const { return cake::pow(*this, e); }
Tensor Tensor::pow(const Tensor& e) const { return cake::pow(*this, e); }
Tensor Tensor::tanh() const { return cake::tanh(*this); }
Tensor Tensor::sigmoid() const { return cake::sigmoid(*this); }
Tensor Tensor::relu() const { return cake::relu(*this); }
Tensor Tensor::sin() const { return cake::sin(*this); }
Tensor Tensor::cos() const { return cake::cos(*this); }
Tensor Tensor::clamp(std::optional<double> lo, std::optional<double> hi) const { return cake::clamp(*this, lo, hi); }
Tensor Tensor::sign() const { return cake::sign(*this); }
Tensor Tensor::reciprocal() const { return cake::reciprocal(*this); }
Tensor Tensor::maximum(const Tensor& o) const { return cake::maximum(*this, o); }
Tensor Tensor::minimum(const Tensor& o) const { return cake::minimum(*this, o); }

Tensor Tensor::eq(const Tensor& o) const { return cake::eq(*this, o); }
Tensor Tensor::ne(const Tensor& o) const { return cake::ne(*this, o); }
Tensor Tensor::lt(const Tensor& o) const { return cake::lt(*this, o); }
Tensor Tensor::le(const Tensor& o) const { return cake::le(*this, o); }
Tensor Tensor::gt(const Tensor& o) const { return cake::gt(*this, o); }
Tensor Tensor::ge(const Tensor& o) const { return cake::ge(*this, o); }
Tensor Tensor::eq(Scalar o) const { return *this == o; }
Tensor Tensor::ne(Scalar o) const { return *this != o; }
Tensor Tensor::lt(Scalar o) const { return *this < o; }
Tensor Tensor::le(Scalar o) const { return *this <= o; }
Tensor Tensor::gt(Scalar o) const { return *this > o; }
Tensor Tensor::ge(Scalar o) const { return *this >= o; }

Tensor Tensor::matmul(const Tensor& o) const { return cake::matmul(*this, o); }
Tensor Tensor::mm(const Tensor& o) const { return cake::mm(*this, o); }
Tensor Tensor::gather(std::int64_t d, const Tensor& index) const { return cake::gather(*this, d, index); }
Tensor Tensor::index_select(std::int64_t d, const Tensor& index) const { return cake::index_select(*this, d, index); }
Tensor Tensor::scatter(std::int64_t d, const Tensor& index, const Tensor& src) const { return cake::scatter(*this, d, index, src); }
Tensor Tensor::scatter(std::int64_t d, const Tensor& index, Scalar value) const { return cake::scatter(*this, d, index, value); }
Tensor Tensor::scatter_add(std::int64_t d, const Tensor& index, const Tensor& src) const {
  return cake::scatter_add(*this, d, index, src);
}
Tensor Tensor::scatter_reduce(std::int64_t d, const Tensor& index, const Tensor& src, std::string_view reduce,
                              bool include_self) const {
  return cake::scatter_reduce(*this, d, index, src, reduce, include_self);
}
Tensor Tensor::index_add(std::int64_t d, const Tensor& index, const Tensor& source, Scalar alpha) const {
  return cake::index_add(*this, d, index, source, alpha);
}
Tensor Tensor::masked_fill(const Tensor& mask, Scalar value) const { return cake::masked_fill(*this, mask, value); }
Tensor Tensor::softmax(std::int64_t d) const { return cake::softmax(*this, d); }
Tensor Tensor::log_softmax(std::int64_t d) const { return cake::log_softmax(*this, d); }

Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return cake::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return cake::mean(*this, dims, keepdim); }
Tensor Tensor::var(const Shape& dims, bool keepdim, std::int64_t c) const { return cake::var(*this, dims, keepdim, c); }
Tensor Tensor::std(const Shape& dims, bool keepdim, std::int64_t c) const { return cake::std(*this, dims, keepdim, c); }
Tensor Tensor::max() const { return cake::amax(*this); }
Tensor Tensor::min() const { return cake::amin(*this); }
std::tuple<Tensor, Tensor> Tensor::max(std::int64_t d, bool keepdim) const {
  auto [values, indices] = cake::max(*this, d, keepdim);
  return {values, indices};
}
std::tuple<Tensor, Tensor> Tensor::min(std::int64_t d, bool keepdim) const {
  auto [values, indices] = cake::min(*this, d, keepdim);
  return {values, indices};
}
Tensor Tensor::amax(const Shape& dims, bool keepdim) const { return cake::amax(*this, dims, keepdim); }
Tensor Tensor::amin(const Shape& dims, bool keepdim) const { return cake::amin(*this, dims, keepdim); }
Tensor Tensor::silu() const { return cake::silu(*this); }
Tensor Tensor::gelu() const { return cake::gelu(*this); }
Tensor Tensor::floor() const { return cake::floor(*this); }
Tensor Tensor::round() const { return cake::round(*this); }
Tensor Tensor::ceil() const { return cake::ceil(*this); }
Tensor Tensor::trunc() const { return cake::trunc(*this); }
Tensor Tensor::isnan() const { return cake::isnan(*this); }
Tensor Tensor::isfinite() const { return cake::isfinite(*this); }
Tensor Tensor::logical_not() const { return cake::logical_not(*this); }
Tensor Tensor::logical_and(const Tensor& other) const { return cake::logical_and(*this, other); }
Tensor Tensor::logical_or(const Tensor& other) const { return cake::logical_or(*this, other); }
Tensor Tensor::cumsum(std::int64_t dim) const { return cake::cumsum(*this, dim); }
std::tuple<Tensor, Tensor> Tensor::sort(std::int64_t dim, bool descending) const {
  auto [values, indices] = cake::sort(*this, dim, descending);
  return {values, indices};
}
std::tuple<Tensor, Tensor> Tensor::topk(std::int64_t k, std::int64_t dim, bool largest, bool sorted) const {
  auto [values, indices] = cake::topk(*this, k, dim, largest, sorted);
  return {values, indices};
}
Tensor Tensor::argsort(std::int64_t dim, bool descending) const { return cake::argsort(*this, dim, descending); }
std::vector<Tensor> Tensor::split(std::int64_t split_size, std::int64_t dim) const { return cake::split(*this, split_size, dim); }
std::vector<Tensor> Tensor::split(const std::vector<std::int64_t>& sizes, std::int64_t dim) const {
  return cake::split(*this, sizes, dim);
}
std::vector<Tensor> Tensor::split_with_sizes(const std::vector<std::int64_t>& sizes, std::int64_t dim) const {
  return cake::split(*this, sizes, dim);
}
std::vector<Tensor> Tensor::chunk(std::int64_t chunks, std::int64_t dim) const { return cake::chunk(*this, chunks, dim); }
std::vector<Tensor> Tensor::unbind(std::int64_t dim) const { return cake::unbind(*this, dim); }
Tensor Tensor::flip(const Shape& dims) const { return cake::flip(*this, dims); }
Tensor Tensor::repeat(const Shape& repeats) const { return cake::repeat(*this, repeats); }
Tensor Tensor::roll(std::int64_t shift, std::int64_t dim) const { return cake::roll(*this, shift, dim); }
Tensor Tensor::nonzero() const { return cake::nonzero(*this); }
Tensor Tensor::new_empty(const Shape& shape) const { return cake::empty(shape, TensorOptions(dtype(), device())); }
Tensor Tensor::new_zeros(const Shape& shape) const { return cake::zeros(shape, TensorOptions(dtype(), device())); }
Tensor Tensor::new_ones(const Shape& shape) const { return cake::ones(shape, TensorOptions(dtype(), device())); }
Tensor Tensor::new_full(const Shape& shape, Scalar value) const {
  return cake::full(shape, value, TensorOptions(dtype(), device()));
}
Tensor Tensor::any(const Shape& dims, bool keepdim) const { return cake::any(*this, dims, keepdim); }
Tensor Tensor::all(const Shape& dims, bool keepdim) const { return cake::all(*this, dims, keepdim); }
Tensor Tensor::argmax(std::optional<std::int64_t> dim, bool keepdim) const { return cake::argmax(*this, dim, keepdim); }
Tensor Tensor::argmin(std::optional<std::int64_t> dim, bool keepdim) const { return cake::argmin(*this, dim, keepdim); }
Tensor Tensor::logsumexp(const Shape& dims, bool keepdim) const { return cake::logsumexp(*this, dims, keepdim); }
Tensor Tensor::norm(double p, const Shape& dims, bool keepdim) const { return cake::norm(*this, p, dims, keepdim); }
Tensor Tensor::prod(const Shape& dims, bool keepdim) const { return cake::prod(*this, dims, keepdim); }

// In-place methods: refused on tensors in the autograd graph unless grad mode is off (the
// optimisers' case), and they bump the version counter (NOTE [ Version counter ]).
static void check_inplace(const Tensor& t, const char* op) {
  CAKE_CHECK(!(GradMode::is_enabled() && t.requires_grad()), op,
             ": in-place operation on a tensor that requires grad; use the out-of-place form, or run it under NoGradGuard");
}
Tensor& Tensor::zero_() { return fill_(0); }
Tensor& Tensor::fill_(Scalar v) { check_inplace(*this, "fill_"); native::fill_(*this, v); return *this; }
Tensor& Tensor::copy_(const Tensor& src) { check_inplace(*this, "copy_"); native::copy_(*this, src); return *this; }
Tensor& Tensor::add_(const Tensor& o, Scalar alpha) {
  check_inplace(*this, "add_");
  if (alpha.to_double() == 1.0) native::binary_(native::BinaryOp::Add, *this, o);
  else native::binary_(native::BinaryOp::Add, *this, native::binary(native::BinaryOp::Mul, o, alpha));
  return *this;
}
Tensor& Tensor::add_(Scalar o) { check_inplace(*this, "add_"); native::binary_(native::BinaryOp::Add, *this, o); return *this; }
Tensor& Tensor::sub_(const Tensor& o, Scalar alpha) { return add_(o, Scalar(-alpha.to_double())); }
Tensor& Tensor::mul_(const Tensor& o) { check_inplace(*this, "mul_"); native::binary_(native::BinaryOp::Mul, *this, o); return *this; }
Tensor& Tensor::mul_(Scalar o) { check_inplace(*this, "mul_"); native::binary_(native::BinaryOp::Mul, *this, o); return *this; }
Tensor& Tensor::div_(const Tensor& o) { check_inplace(*this, "div_"); native::binary_(native::BinaryOp::Div, *this, o); return *this; }
Tensor& Tensor::div_(Scalar o) { check_inplace(*this, "div_"); native::binary_(native::BinaryOp::Div, *this, o); return *this; }
Tensor& Tensor::clamp_(std::optional<double> lo, std::optional<double> hi) {
  check_inplace(*this, "clamp_");
  native::unary_(native::UnaryOp::Clamp, *this,
                 {lo.value_or(-std::numeric_limits<double>::infinity()), hi.value_or(std::numeric_limits<double>::infinity())});
  return *this;
}
// The in-place scatters are not recorded either: a source that requires grad would lose its
// gradient without a word, so it is refused as the destination is.
static void check_inplace_source(const Tensor& src, const char* op) {
  CAKE_CHECK(!(GradMode::is_enabled() && src.requires_grad()), op,
             ": the source requires grad, which an in-place operation does not record; use the out-of-place form");
}
Tensor& Tensor::scatter_(std::int64_t d, const Tensor& index, const Tensor& src) {
  check_inplace(*this, "scatter_");
  check_inplace_source(src, "scatter_");
  native::scatter_(*this, d, index, src);
  return *this;
}
Tensor& Tensor::scatter_(std::int64_t d, const Tensor& index, Scalar value) {
  check_inplace(*this, "scatter_");
  native::scatter_(*this, d, index, value);
  return *this;
}
Tensor& Tensor::scatter_add_(std::int64_t d, const Tensor& index, const Tensor& src) {
  check_inplace(*this, "scatter_add_");
  check_inplace_source(src, "scatter_add_");
  native::scatter_add_(*this, d, index, src);
  return *this;
}
Tensor& Tensor::scatter_reduce_(std::int64_t d, const Tensor& index, const Tensor& src, std::string_view reduce,
                                bool include_self) {
  check_inplace(*this, "scatter_reduce_");
  check_inplace_source(src, "scatter_reduce_");
  native::scatter_reduce_(*this, d, index, src, reduce, include_self);
  return *this;
}
Tensor& Tensor::index_add_(std::int64_t d, const Tensor& index, const Tensor& source, Scalar alpha) {
  check_inplace(*this, "index_add_");
  check_inplace_source(source, "index_add_");
  native::index_add_(*this, d, index, source, alpha);
  return *this;
}
Tensor& Tensor::masked_fill_(const Tensor& mask, Scalar value) {
  check_inplace(*this, "masked_fill_");
  Tensor filled = native::where(mask, native::scalar_tensor(value, dtype(), device()), *this);
  native::copy_(*this, filled);
  return *this;
}

}  // namespace cake

// ---- more elementwise maths, scans, order statistics and rearrangements ------------------------
namespace cake {

Tensor Tensor::tan() const { return cake::tan(*this); }
Tensor Tensor::asin() const { return cake::asin(*this); }
Tensor Tensor::acos() const { return cake::acos(*this); }
Tensor Tensor::atan() const { return cake::atan(*this); }
Tensor Tensor::sinh() const { return cake::sinh(*this); }
Tensor Tensor::cosh() const { return cake::cosh(*this); }
Tensor Tensor::asinh() const { return cake::asinh(*this); }
Tensor Tensor::acosh() const { return cake::acosh(*this); }
Tensor Tensor::atanh() const { return cake::atanh(*this); }
Tensor Tensor::expm1() const { return cake::expm1(*this); }
Tensor Tensor::exp2() const { return cake::exp2(*this); }
Tensor Tensor::log2() const { return cake::log2(*this); }
Tensor Tensor::log10() const { return cake::log10(*this); }
Tensor Tensor::erf() const { return cake::erf(*this); }
Tensor Tensor::erfc() const { return cake::erfc(*this); }
Tensor Tensor::erfinv() const { return cake::erfinv(*this); }
Tensor Tensor::lgamma() const { return cake::lgamma(*this); }
Tensor Tensor::digamma() const { return cake::digamma(*this); }
Tensor Tensor::polygamma(std::int64_t n) const { return cake::polygamma(n, *this); }
Tensor Tensor::sinc() const { return cake::sinc(*this); }
Tensor Tensor::frac() const { return cake::frac(*this); }
Tensor Tensor::logit(std::optional<double> eps) const { return cake::logit(*this, eps); }
Tensor Tensor::nan_to_num(double nan, std::optional<double> posinf, std::optional<double> neginf) const {
  return cake::nan_to_num(*this, nan, posinf, neginf);
}
Tensor Tensor::atan2(const Tensor& other) const { return cake::atan2(*this, other); }
Tensor Tensor::hypot(const Tensor& other) const { return cake::hypot(*this, other); }
Tensor Tensor::copysign(const Tensor& other) const { return cake::copysign(*this, other); }
Tensor Tensor::fmod(const Tensor& other) const { return cake::fmod(*this, other); }
Tensor Tensor::fmod(Scalar other) const { return cake::fmod(*this, other); }
Tensor Tensor::remainder(const Tensor& other) const { return cake::remainder(*this, other); }
Tensor Tensor::remainder(Scalar other) const { return cake::remainder(*this, other); }
Tensor Tensor::floor_divide(const Tensor& other) const { return cake::floor_divide(*this, other); }
Tensor Tensor::floor_divide(Scalar other) const { return cake::floor_divide(*this, other); }
Tensor Tensor::logaddexp(const Tensor& other) const { return cake::logaddexp(*this, other); }
Tensor Tensor::xlogy(const Tensor& other) const { return cake::xlogy(*this, other); }
Tensor Tensor::lerp(const Tensor& end, const Tensor& weight) const { return cake::lerp(*this, end, weight); }
Tensor Tensor::lerp(const Tensor& end, Scalar weight) const { return cake::lerp(*this, end, weight); }
Tensor Tensor::addcmul(const Tensor& t1, const Tensor& t2, Scalar value) const { return cake::addcmul(*this, t1, t2, value); }
Tensor Tensor::addcdiv(const Tensor& t1, const Tensor& t2, Scalar value) const { return cake::addcdiv(*this, t1, t2, value); }
Tensor Tensor::isclose(const Tensor& other, double rtol, double atol, bool equal_nan) const {
  return cake::isclose(*this, other, rtol, atol, equal_nan);
}

Tensor Tensor::cumprod(std::int64_t dim) const { return cake::cumprod(*this, dim); }
std::tuple<Tensor, Tensor> Tensor::cummax(std::int64_t dim) const {
  auto [values, indices] = cake::cummax(*this, dim);
  return {values, indices};
}
std::tuple<Tensor, Tensor> Tensor::cummin(std::int64_t dim) const {
  auto [values, indices] = cake::cummin(*this, dim);
  return {values, indices};
}
Tensor Tensor::logcumsumexp(std::int64_t dim) const { return cake::logcumsumexp(*this, dim); }
Tensor Tensor::median() const { return cake::median(*this); }
std::tuple<Tensor, Tensor> Tensor::median(std::int64_t dim, bool keepdim) const {
  auto [values, indices] = cake::median(*this, dim, keepdim);
  return {values, indices};
}
Tensor Tensor::nanmedian() const { return cake::nanmedian(*this); }
std::tuple<Tensor, Tensor> Tensor::nanmedian(std::int64_t dim, bool keepdim) const {
  auto [values, indices] = cake::nanmedian(*this, dim, keepdim);
  return {values, indices};
}
std::tuple<Tensor, Tensor> Tensor::kthvalue(std::int64_t k, std::int64_t dim, bool keepdim) const {
  auto [values, indices] = cake::kthvalue(*this, k, dim, keepdim);
  return {values, indices};
}
Tensor Tensor::quantile(double q, std::optional<std::int64_t> dim, bool keepdim, std::string_view interpolation) const {
  return cake::quantile(*this, q, dim, keepdim, interpolation);
}
Tensor Tensor::tril(std::int64_t diagonal) const { return cake::tril(*this, diagonal); }
Tensor Tensor::triu(std::int64_t diagonal) const { return cake::triu(*this, diagonal); }
Tensor Tensor::diagonal(std::int64_t offset, std::int64_t dim1, std::int64_t dim2) const {
  return cake::diagonal(*this, offset, dim1, dim2);
}
Tensor Tensor::diag(std::int64_t diagonal) const { return cake::diag(*this, diagonal); }
Tensor Tensor::diag_embed(std::int64_t offset, std::int64_t dim1, std::int64_t dim2) const {
  return cake::diag_embed(*this, offset, dim1, dim2);
}
Tensor Tensor::movedim(std::int64_t source, std::int64_t destination) const { return cake::movedim(*this, source, destination); }
Tensor Tensor::movedim(const Shape& source, const Shape& destination) const { return cake::movedim(*this, source, destination); }
Tensor Tensor::moveaxis(std::int64_t source, std::int64_t destination) const { return cake::moveaxis(*this, source, destination); }
Tensor Tensor::swapaxes(std::int64_t dim0, std::int64_t dim1) const { return cake::swapaxes(*this, dim0, dim1); }
Tensor Tensor::swapdims(std::int64_t dim0, std::int64_t dim1) const { return cake::swapdims(*this, dim0, dim1); }
Tensor Tensor::rot90(std::int64_t k, const Shape& dims) const { return cake::rot90(*this, k, dims); }
Tensor Tensor::tile(const Shape& reps) const { return cake::tile(*this, reps); }
Tensor Tensor::kron(const Tensor& other) const { return cake::kron(*this, other); }

Tensor Tensor::nansum(const Shape& dims, bool keepdim) const { return cake::nansum(*this, dims, keepdim); }
Tensor Tensor::nanmean(const Shape& dims, bool keepdim) const { return cake::nanmean(*this, dims, keepdim); }
Tensor Tensor::count_nonzero(const Shape& dims) const { return cake::count_nonzero(*this, dims); }
std::tuple<Tensor, Tensor> Tensor::aminmax(std::optional<std::int64_t> dim, bool keepdim) const {
  auto [low, high] = cake::aminmax(*this, dim, keepdim);
  return {low, high};
}
Tensor Tensor::bernoulli() const { return cake::bernoulli(*this); }
Tensor Tensor::multinomial(std::int64_t num_samples, bool replacement) const {
  return cake::multinomial(*this, num_samples, replacement);
}

}  // namespace cake
