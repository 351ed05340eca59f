// native/indexing.cpp: argument checks and CPU loops for gather/scatter.
#include "tensor/native/indexing.h"

#include "tensor/native/elementwise.h"
#include "tensor/native/view.h"

namespace cake::native {

namespace {
void check_index(const Tensor& x, std::int64_t dim, const Tensor& index, const char* op) {
  CAKE_CHECK(index.dtype() == kInt64, op, ": index must be int64, got ", dtype_name(index.dtype()));
  CAKE_CHECK(index.dim() == x.dim(), op, ": index of shape ", index.sizes(), " must have the rank of the input ",
             x.sizes());
  CAKE_CHECK(x.device().is_cpu(), op, ": only implemented on the CPU so far, got ", to_string(x.device()));
  (void)dim;
}

// Visits every position of `shape` (row-major) calling f(linear index, multi-index).
template <class F>
void for_each_index(const Shape& shape, F f) {
  const std::int64_t n = shape_numel(shape);
  std::vector<std::int64_t> idx(shape.size(), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    f(i, idx);
    for (std::size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

std::int64_t offset_of(const Tensor& t, const std::vector<std::int64_t>& idx) {
  std::int64_t off = 0;
  for (std::size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[d];
  return off;
}
}  // namespace

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  dim = wrap_dim(dim, x.dim(), "gather");
  check_index(x, dim, index, "gather");
  Tensor out = make_empty(index.sizes(), x.dtype(), x.device());
  const std::int64_t size = x.sizes()[dim];
  visit_dtype(x.dtype(), [&]<class T>() {
    const T* in = static_cast<const T*>(x.raw_data());
    const std::int64_t* ix = static_cast<const std::int64_t*>(index.raw_data());
    T* o = out.data_ptr<T>();
    for_each_index(index.sizes(), [&](std::int64_t i, std::vector<std::int64_t>& pos) {
      const std::int64_t at = ix[offset_of(index, pos)];
      CAKE_CHECK(at >= 0 && at < size, "gather: index ", at, " out of range for dimension ", dim, " of size ", size);
      const std::int64_t keep = pos[dim];
      pos[dim] = at;
      o[i] = in[offset_of(x, pos)];
      pos[dim] = keep;
    });
  });
  return out;
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  dim = wrap_dim(dim, x.dim(), "scatter_add");
  check_index(x, dim, index, "scatter_add");
  CAKE_CHECK(src.sizes() == index.sizes(), "scatter_add: src of shape ", src.sizes(), " must match index ",
             index.sizes());
  Tensor out = clone(x);
  const Tensor s = to_dtype(src, x.dtype());
  const std::int64_t size = x.sizes()[dim];
  visit_dtype(x.dtype(), [&]<class T>() {
    const T* in = static_cast<const T*>(s.raw_data());
    const std::int64_t* ix = static_cast<const std::int64_t*>(index.raw_data());
    T* o = out.data_ptr<T>();
    for_each_index(index.sizes(), [&](std::int64_t, std::vector<std::int64_t>& pos) {
      const std::int64_t at = ix[offset_of(index, pos)];
      CAKE_CHECK(at >= 0 && at < size, "scatter_add: index ", at, " out of range for dimension ", dim, " of size ",
                 size);
      const T value = in[offset_of(s, pos)];
      const std::int64_t keep = pos[dim];
      pos[dim] = at;
      o[offset_of(out, pos)] += value;
      pos[dim] = keep;
    });
  });
  return out;
}

}  // namespace cake::native
