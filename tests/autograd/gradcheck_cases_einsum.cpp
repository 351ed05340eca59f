// Gradient-check rows for cake::einsum (autograd/ops/einsum.cpp): einsum has no backward of its
// own, so these check that its composition (diagonal by reshape and strided slice, sums,
// permutes, one batched matmul per pair, size-1 squeezes) carries the gradient to every
// operand: matrix-product-like equations, three operands (left to right, the greedy order, and an
// explicit path), diagonal and trace, "..." broadcasting, a size-1 label broadcast and a strided
// operand.
#include "gradcheck_table.h"

using namespace cake;
using cake::testing::inputs;
using cake::testing::TensorList;

CAKE_GRADCHECK_CASES(einsum) {
  return {
      {"einsum ij,jk->ik", [] { return inputs({{3, 4}, {4, 2}}); },
       [](const TensorList& x) { return einsum("ij,jk->ik", {x[0], x[1]}); }},
      {"einsum ij,kj->ki (transposed right operand)", [] { return inputs({{3, 4}, {2, 4}}); },
       [](const TensorList& x) { return einsum("ij,kj->ki", {x[0], x[1]}); }},
      {"einsum bij,bjk->bik", [] { return inputs({{2, 3, 4}, {2, 4, 3}}); },
       [](const TensorList& x) { return einsum("bij,bjk->bik", {x[0], x[1]}); }},
      {"einsum i,j->ij (outer)", [] { return inputs({{3}, {4}}); },
       [](const TensorList& x) { return einsum("i,j->ij", {x[0], x[1]}); }},
      {"einsum ij,jk (implicit), strided left operand", [] { return inputs({{4, 3}, {4, 2}}); },
       [](const TensorList& x) { return einsum("ij,jk", {x[0].t(), x[1]}); }},
      {"einsum bn,anm,bm->ba (three operands)", [] { return inputs({{2, 3}, {4, 3, 2}, {2, 2}}); },
       [](const TensorList& x) { return einsum("bn,anm,bm->ba", {x[0], x[1], x[2]}); }},
      {"einsum ij,jk,ki-> (three, cyclic)", [] { return inputs({{2, 3}, {3, 4}, {4, 2}}); },
       [](const TensorList& x) { return einsum("ij,jk,ki->", {x[0], x[1], x[2]}); }},
      {"einsum ij,jk,kl->il, path (1, 2), (0, 1)", [] { return inputs({{3, 4}, {4, 2}, {2, 3}}); },
       [](const TensorList& x) { return einsum("ij,jk,kl->il", {x[0], x[1], x[2]}, {1, 2, 0, 1}); }},
      {"einsum bij,bjk,kl,l->bi, path (0, 3), (0, 1), (1, 0)",
       [] { return inputs({{2, 2, 3}, {2, 3, 4}, {4, 3}, {3}}); },
       [](const TensorList& x) {
         return einsum("bij,bjk,kl,l->bi", {x[0], x[1], x[2], x[3]}, {0, 3, 0, 1, 1, 0});
       }},
      {"einsum ij,jk,kl->il, greedy order (B C first: C is one column)",
       [] { return inputs({{3, 4}, {4, 5}, {5, 1}}); },
       [](const TensorList& x) { return einsum("ij,jk,kl->il", {x[0], x[1], x[2]}); }},
      {"einsum ii-> (trace)", [] { return inputs({{4, 4}}); }, [](const TensorList& x) { return einsum("ii->", {x[0]}); }},
      {"einsum ii->i (diagonal)", [] { return inputs({{3, 3}}); },
       [](const TensorList& x) { return einsum("ii->i", {x[0]}); }},
      {"einsum iji,jk->ik (diagonal inside a product)", [] { return inputs({{3, 2, 3}, {2, 4}}); },
       [](const TensorList& x) { return einsum("iji,jk->ik", {x[0], x[1]}); }},
      {"einsum ...ij,...jk->...ik (broadcast)", [] { return inputs({{2, 1, 3, 4}, {3, 4, 2}}); },
       [](const TensorList& x) { return einsum("...ij,...jk->...ik", {x[0], x[1]}); }},
      {"einsum ...ii->... (batched trace)", [] { return inputs({{2, 3, 3}}); },
       [](const TensorList& x) { return einsum("...ii->...", {x[0]}); }},
      {"einsum ij,jk->ik, j of size 1 broadcast", [] { return inputs({{3, 1}, {4, 2}}); },
       [](const TensorList& x) { return einsum("ij,jk->ik", {x[0], x[1]}); }},
      {"einsum ij->j (sum)", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return einsum("ij->j", {x[0]}); }},
  };
}
