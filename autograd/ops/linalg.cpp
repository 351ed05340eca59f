// autograd/ops/linalg.cpp: differentiable matrix products.
//
// The primitive is matmul, Y = A B, whose backward is the pair of products
//   dA = G B^T,   dB = A^T G          (G = dL/dY)
// summed over any batch dims that broadcasting expanded (native::sum_to, the adjoint of
// broadcasting). mm, bmm and dot are matmul with stricter shape checks, outer is an
// elementwise product. addmm and cdist_squared each run as one fused GEMM, so they carry their
// own backward, also written as GEMMs. In a create_graph backward (create_graph_active()),
// each backward is composed of differentiable ops instead (matmul, transpose, sum_to), so
// that it is recorded and can be differentiated again.
#include <cmath>
#include <vector>

#include "cake/autograd/autocast.h"
#include "cake/autograd/function.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/linalg.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using autograd::create_graph_active;
using autograd::TensorList;

namespace {

// The transpose of the matrices in the last two dims (a view).
Tensor mT(const Tensor& x) { return native::transpose(x, -2, -1); }

// alpha * (x @ y) for matrices, with alpha applied inside the GEMM (no extra pass).
Tensor scaled_product(const Tensor& x, const Tensor& y, Scalar alpha) {
  Tensor out = make_empty({x.size(0), y.size(1)}, x.dtype(), x.device());
  native::gemm(native::blas_compatible(x), native::blas_compatible(y), out, alpha, 0);
  return out;
}

// matmul treats a 1-D left operand as a row [1, K] and a 1-D right one as a column [K, 1],
// then drops the added dim from the result. Backward works on those matrix forms.
Tensor as_left_matrix(const Tensor& a) { return a.dim() == 1 ? native::unsqueeze(a, 0) : a; }
Tensor as_right_matrix(const Tensor& b) { return b.dim() == 1 ? native::unsqueeze(b, 1) : b; }
Shape left_matrix_shape(const Shape& a) { return a.size() == 1 ? Shape{1, a[0]} : a; }
Shape right_matrix_shape(const Shape& b) { return b.size() == 1 ? Shape{b[0], 1} : b; }
// The output gradient with the dims dropped for vector operands put back.
Tensor gradient_as_matrix(const Tensor& g, bool a_vector, bool b_vector) {
  Shape shape = g.sizes();
  if (b_vector) shape.push_back(1);
  if (a_vector) shape.insert(shape.end() - 1, 1);
  return native::reshape(g, shape);
}

// Whether a matrix is the transpose of a dense one (strides [1, rows]): nn.Linear's weight W
// [out, in] enters the product as the view W^T.
bool is_transposed_view(const Tensor& m) {
  return m.dim() == 2 && m.size(0) > 1 && m.size(1) > 1 && m.stride(0) == 1 && m.stride(1) == m.size(0);
}

// dB = A^T G for matrices, laid out as b is (PyTorch's rule, mm_mat2_backward): for a
// transposed b = W^T the product is computed as the dense G^T A and returned transposed, so
// that after the transpose's own backward W's gradient is a dense [out, in] buffer, which
// AccumulateGrad takes as .grad without a copy. Every element is the same sum over the rows
// (OpenBLAS may round the two orders differently in the last bit).
Tensor right_matrix_gradient(const Tensor& a, const Tensor& g, bool b_transposed) {
  return b_transposed ? mT(native::matmul(mT(g), a)) : native::matmul(mT(a), g);
}

// dB = A^T G reduced to b's shape. When b is one matrix shared by a batched a (the nn.Linear
// weight), the sum over the batch of A_i^T G_i is a single GEMM over the stacked rows:
// [batch * M, K]^T @ [batch * M, N].
Tensor right_gradient(const Tensor& a, const Tensor& g, const Shape& b_shape, bool b_transposed) {
  if (b_shape.size() == 2 && a.dim() > 2)
    return right_matrix_gradient(native::reshape(a, {-1, a.size(-1)}), native::reshape(g, {-1, g.size(-1)}), b_transposed);
  if (b_shape.size() == 2 && a.dim() == 2) return right_matrix_gradient(a, g, b_transposed);
  return native::sum_to(native::matmul(mT(a), g), b_shape);
}

}  // namespace

// Y = A B: dA = G B^T, dB = A^T G (each summed down to its operand's shape).
namespace {
// Under autocast (autocast.h): the product of 16-bit copies of float32 operands, on the tensor
// cores with float32 accumulation, widened back to float32. Composed of differentiable ops, so
// the backward pass multiplies in 16 bits too (the casts' backward casts the gradients).
Tensor lowered(const Tensor& t) { return to(t, t.device(), autocast_dtype(t.device().type)); }
Tensor widened(const Tensor& t) { return to(t, t.device(), kFloat32); }
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (autograd::autocast_applies({&a, &b})) return widened(matmul(lowered(a), lowered(b)));
  Tensor y = native::matmul(a, b);
  if (needs_grad({a, b})) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    record("MatmulBackward", {a, b}, {y},
           [ga, gb, sa = gb ? SavedTensor(a) : SavedTensor(), sb = ga ? SavedTensor(b) : SavedTensor(),
            a_shape = a.sizes(), b_shape = b.sizes(), b_transposed = is_transposed_view(b)](const TensorList& g) {
             TensorList out(2);
             if (create_graph_active()) {
               // The same products, recorded: dA = G B^T and dB = A^T G on the matrix forms.
               Shape g_shape = g[0].sizes();
               if (b_shape.size() == 1) g_shape.push_back(1);
               if (a_shape.size() == 1) g_shape.insert(g_shape.end() - 1, 1);
               const Tensor gm = reshape(g[0], g_shape);
               if (ga) {
                 const Tensor bv = sb.get();
                 const Tensor bm = bv.dim() == 1 ? unsqueeze(bv, 1) : bv;
                 out[0] = reshape(autograd::sum_to(matmul(gm, transpose(bm, -2, -1)), left_matrix_shape(a_shape)), a_shape);
               }
               if (gb) {
                 const Tensor av = sa.get();
                 const Tensor am = av.dim() == 1 ? unsqueeze(av, 0) : av;
                 out[1] = reshape(autograd::sum_to(matmul(transpose(am, -2, -1), gm), right_matrix_shape(b_shape)), b_shape);
               }
               return out;
             }
             const Tensor g2 = gradient_as_matrix(g[0], a_shape.size() == 1, b_shape.size() == 1);
             if (ga) {
               const Tensor da = native::matmul(g2, mT(as_right_matrix(sb.get())));
               out[0] = native::reshape(native::sum_to(da, left_matrix_shape(a_shape)), a_shape);
             }
             if (gb) {
               const Tensor db = right_gradient(as_left_matrix(sa.get()), g2, right_matrix_shape(b_shape), b_transposed);
               out[1] = native::reshape(db, b_shape);
             }
             return out;
           });
  }
  return y;
}

Tensor mm(const Tensor& a, const Tensor& b) {
  CAKE_CHECK(a.dim() == 2 && b.dim() == 2, "mm: expected two matrices, got shapes ", a.sizes(), " and ", b.sizes());
  return matmul(a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  CAKE_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0),
             "bmm: expected batches [B, M, K] and [B, K, N] of the same B, got shapes ", a.sizes(), " and ", b.sizes());
  return matmul(a, b);
}

Tensor dot(const Tensor& a, const Tensor& b) {
  CAKE_CHECK(a.dim() == 1 && b.dim() == 1 && a.size(0) == b.size(0),
             "dot: expected two vectors of the same length, got shapes ", a.sizes(), " and ", b.sizes());
  return matmul(a, b);
}

// outer(a, b)[i][j] = a_i b_j: a column times a row, broadcast (no reduction, so no GEMM).
Tensor outer(const Tensor& a, const Tensor& b) {
  CAKE_CHECK(a.dim() == 1 && b.dim() == 1, "outer: expected two vectors, got shapes ", a.sizes(), " and ", b.sizes());
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

// d trace(X) = I: the gradient is g on the diagonal and 0 elsewhere.
Tensor trace(const Tensor& x) {
  Tensor y = native::trace(x);
  if (needs_grad({x})) {
    record("TraceBackward", {x}, {y}, [shape = x.sizes()](const TensorList& g) {
      Tensor grad = zeros(shape, {g[0].dtype(), g[0].device()});
      if (create_graph_active()) {
        // g times the identity pattern (a constant), so the product is recorded.
        native::copy_(native::diagonal(grad), ones({std::min(shape[0], shape[1])}, {g[0].dtype(), g[0].device()}));
        return TensorList{grad * g[0]};
      }
      native::copy_(native::diagonal(grad), g[0]);
      return TensorList{grad};
    });
  }
  return y;
}

// Y = beta C + alpha A B: dC = beta G (summed to c's shape), dA = alpha G B^T, dB = alpha A^T G.
Tensor addmm(const Tensor& c, const Tensor& a, const Tensor& b, Scalar beta, Scalar alpha) {
  if (autograd::autocast_applies({&c, &a, &b})) {  // c is added in float32
    const Tensor product = widened(matmul(lowered(a), lowered(b)));
    const Tensor scaled = alpha.to_double() == 1.0 ? product : product * alpha;
    return beta.to_double() == 0.0 ? scaled : (beta.to_double() == 1.0 ? c : c * beta) + scaled;
  }
  Tensor y = native::addmm(c, a, b, beta, alpha);
  if (needs_grad({c, a, b})) {
    const bool gc = c.requires_grad(), ga = a.requires_grad(), gb = b.requires_grad();
    record("AddmmBackward", {c, a, b}, {y},
           [gc, ga, gb, sa = gb ? SavedTensor(a) : SavedTensor(), sb = ga ? SavedTensor(b) : SavedTensor(),
            c_shape = c.sizes(), beta, alpha, b_transposed = is_transposed_view(b)](const TensorList& g) {
             TensorList out(3);
             if (create_graph_active()) {
               if (gc) out[0] = autograd::sum_to(g[0] * beta, c_shape);
               if (ga) out[1] = matmul(g[0], sb.get().t()) * alpha;
               if (gb) out[2] = matmul(sa.get().t(), g[0]) * alpha;
               return out;
             }
             if (gc) out[0] = native::sum_to(native::binary(native::BinaryOp::Mul, g[0], beta), c_shape);
             if (ga) out[1] = scaled_product(g[0], mT(sb.get()), alpha);
             if (gb)  // laid out as b is, as right_matrix_gradient
               out[2] = b_transposed ? mT(scaled_product(mT(g[0]), sa.get(), alpha)) : scaled_product(mT(sa.get()), g[0], alpha);
             return out;
           });
  }
  return y;
}

// D_ij = |a_i - b_j|^2, so with G = dL/dD:
//   dL/da_i = sum_j G_ij 2 (a_i - b_j) = 2 (rowsum(G)_i a_i - (G b)_i)
//   dL/db_j = sum_i G_ij 2 (b_j - a_i) = 2 (colsum(G)_j b_j - (G^T a)_j)
// Each is one GEMM with alpha = -2, beta = 2 on top of the scaled points. This is the gradient
// of the exact expression; the forward's clamp at 0 only removes rounding error, so it is not
// differentiated.
Tensor cdist_squared(const Tensor& a, const Tensor& b) {
  Tensor y = native::cdist_squared(a, b);
  if (needs_grad({a, b})) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    record("CdistSquaredBackward", {a, b}, {y},
           [ga, gb, sa = SavedTensor(a), sb = SavedTensor(b)](const TensorList& g) {
             const Tensor av = sa.get();
             const Tensor bv = sb.get();
             TensorList out(2);
             if (create_graph_active()) {
               // The formulas above, recorded.
               if (ga) out[0] = (av * sum(g[0], {1}, true) - matmul(g[0], bv)) * 2.0;
               if (gb) out[1] = (bv * sum(g[0], {0}, false).unsqueeze(1) - matmul(g[0].t(), av)) * 2.0;
               return out;
             }
             const Tensor G = native::blas_compatible(g[0]);
             if (ga) {
               Tensor da = native::binary(native::BinaryOp::Mul, av, native::sum(G, {1}, true));
               native::gemm(G, native::blas_compatible(bv), da, -2.0, 2.0);
               out[0] = da;
             }
             if (gb) {
               Tensor db = native::binary(native::BinaryOp::Mul, bv, native::view(native::sum(G, {0}, false), {-1, 1}));
               native::gemm(mT(G), native::blas_compatible(av), db, -2.0, 2.0);
               out[1] = db;
             }
             return out;
           });
  }
  return y;
}

// sqrt where the squared (or p-th power) sum is positive, 0 elsewhere, without the infinite
// slope of sqrt at 0 reaching the inputs: the root is taken of 1 where the sum is 0.
namespace {
Tensor root_where_positive(const Tensor& total, double p) {
  const Tensor positive = total.detach().gt(0.0);
  const Tensor safe = where(positive, total, ones_like(total));
  return where(positive, p == 2.0 ? sqrt(safe) : pow(safe, 1.0 / p), zeros_like(total));
}
}  // namespace

Tensor cdist(const Tensor& a, const Tensor& b, double p) {
  CAKE_CHECK(a.dim() == b.dim() && (a.dim() == 2 || a.dim() == 3) && a.size(-1) == b.size(-1) &&
                 (a.dim() == 2 || a.size(0) == b.size(0)),
             "cdist: expected rows a [P, M] and b [R, M] (or [B, P, M] and [B, R, M]), got shapes ", a.sizes(), " and ",
             b.sizes());
  CAKE_CHECK(p > 0.0, "cdist: p must be > 0 (or infinity), got ", p);
  if (a.dim() == 3) {
    std::vector<Tensor> per_batch;
    for (std::int64_t i = 0; i < a.size(0); ++i) per_batch.push_back(cdist(a.select(0, i), b.select(0, i), p));
    return stack(per_batch, 0);
  }
  if (p == 2.0) return root_where_positive(cdist_squared(a, b).clamp_min(0.0), 2.0);
  const Tensor gaps = (a.unsqueeze(1) - b.unsqueeze(0)).abs();  // [P, R, M]
  if (std::isinf(p)) return amax(gaps, {2});
  return root_where_positive(gaps.pow(p).sum({2}), p);
}

}  // namespace cake
