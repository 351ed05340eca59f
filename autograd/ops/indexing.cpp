// autograd/ops/indexing.cpp: differentiable indexing, gathering and joining.
#include "autograd/function.h"
#include "autograd/ops.h"
#include "tensor/creation.h"
#include "tensor/native/indexing.h"

namespace cake {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using autograd::TensorList;

// out = x; out[index[i][j]][j] += src[i][j] (dim 0 case). d out/d x = identity;
// d out/d src = gather(g, dim, index).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor y = native::scatter_add(x, dim, index, src);
  if (needs_grad({x, src})) {
    record("ScatterAddBackward", {x, src}, {y}, [dim, idx = SavedTensor(index)](const TensorList& g) {
      return TensorList{g[0], native::gather(g[0], dim, idx.get())};
    });
  }
  return y;
}

}  // namespace cake
