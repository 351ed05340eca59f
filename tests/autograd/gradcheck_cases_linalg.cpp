// Gradient-check rows for the matrix products (autograd/ops/linalg.cpp): matmul in every
// shape case (matrices, batches with broadcasting, vectors, transposed views), mm, bmm,
// addmm, outer, dot, trace, cdist_squared and cdist; matmul and addmm inside an autocast scope.
#include <limits>

#include "gradcheck_table.h"

using namespace cake;
using cake::testing::inputs;
using cake::testing::TensorList;

CAKE_GRADCHECK_CASES(linalg) {
  return {
      {"matmul 2-D", [] { return inputs({{3, 4}, {4, 5}}); }, [](const TensorList& x) { return matmul(x[0], x[1]); }},
      {"matmul transposed inputs", [] { return inputs({{4, 3}, {5, 4}}); },
       [](const TensorList& x) { return matmul(x[0].t(), x[1].t()); }},
      {"matmul narrowed input", [] { return inputs({{3, 6}, {4, 2}}); },
       [](const TensorList& x) { return matmul(x[0].narrow(1, 1, 4), x[1]); }},
      {"matmul batched broadcast", [] { return inputs({{2, 1, 3, 4}, {3, 4, 2}}); },
       [](const TensorList& x) { return matmul(x[0], x[1]); }},
      {"matmul batch @ matrix", [] { return inputs({{2, 3, 4}, {4, 5}}); },
       [](const TensorList& x) { return matmul(x[0], x[1]); }},
      {"matmul transposed batch @ matrix", [] { return inputs({{2, 4, 3}, {4, 5}}); },
       [](const TensorList& x) { return matmul(x[0].transpose(1, 2), x[1]); }},
      // nn.Linear's x W^T: the right operand a transposed view, whose gradient is computed in its
      // layout (autograd/ops/linalg.cpp, right_matrix_gradient).
      {"matmul batch @ transposed matrix", [] { return inputs({{2, 3, 4}, {5, 4}}); },
       [](const TensorList& x) { return matmul(x[0], x[1].t()); }},
      {"matmul matrix @ batch", [] { return inputs({{3, 4}, {2, 4, 5}}); },
       [](const TensorList& x) { return matmul(x[0], x[1]); }},
      {"matmul vector @ matrix", [] { return inputs({{4}, {4, 5}}); }, [](const TensorList& x) { return matmul(x[0], x[1]); }},
      {"matmul matrix @ vector", [] { return inputs({{3, 4}, {4}}); }, [](const TensorList& x) { return matmul(x[0], x[1]); }},
      {"matmul vector @ vector", [] { return inputs({{4}, {4}}); }, [](const TensorList& x) { return matmul(x[0], x[1]); }},
      {"matmul vector @ batch", [] { return inputs({{4}, {2, 4, 3}}); },
       [](const TensorList& x) { return matmul(x[0], x[1]); }},
      {"matmul batch @ vector", [] { return inputs({{2, 3, 4}, {4}}); },
       [](const TensorList& x) { return matmul(x[0], x[1]); }},
      {"matmul same input twice", [] { return inputs({{3, 3}}); }, [](const TensorList& x) { return matmul(x[0], x[0].t()); }},
      // Inside an autocast scope (autograd/autocast.h) float64 is never lowered: the same exact
      // gradients (the lowered float32 case is tested against its 16-bit products in test_autocast.cpp).
      {"matmul in an autocast scope", [] { return inputs({{3, 4}, {4, 5}}); },
       [](const TensorList& x) {
         const autocast scope(x[0].device(), kBFloat16);
         return matmul(x[0], x[1]);
       }},
      {"addmm in an autocast scope", [] { return inputs({{5}, {3, 4}, {4, 5}}); },
       [](const TensorList& x) {
         const autocast scope(x[0].device(), kFloat16);
         return addmm(x[0], x[1], x[2], 0.5, 2.0);
       }},
      {"mm", [] { return inputs({{3, 4}, {4, 2}}); }, [](const TensorList& x) { return mm(x[0], x[1]); }},
      {"bmm", [] { return inputs({{2, 3, 4}, {2, 4, 5}}); }, [](const TensorList& x) { return bmm(x[0], x[1]); }},
      {"addmm broadcast c", [] { return inputs({{5}, {3, 4}, {4, 5}}); },
       [](const TensorList& x) { return addmm(x[0], x[1], x[2], 0.5, 2.0); }},
      {"addmm scaled, transposed right operand", [] { return inputs({{5}, {3, 4}, {5, 4}}); },
       [](const TensorList& x) { return addmm(x[0], x[1], x[2].t(), 0.5, 2.0); }},
      {"addmm transposed", [] { return inputs({{5, 3}, {4, 3}, {5, 4}}); },
       [](const TensorList& x) { return addmm(x[0].t(), x[1].t(), x[2].t()); }},
      {"outer", [] { return inputs({{3}, {4}}); }, [](const TensorList& x) { return outer(x[0], x[1]); }},
      {"dot", [] { return inputs({{5}, {5}}); }, [](const TensorList& x) { return dot(x[0], x[1]); }},
      {"trace square", [] { return inputs({{4, 4}}); }, [](const TensorList& x) { return trace(x[0]); }},
      {"trace wide transposed", [] { return inputs({{5, 3}}); }, [](const TensorList& x) { return trace(x[0].t()); }},
      {"cdist_squared", [] { return inputs({{4, 3}, {5, 3}}); },
       [](const TensorList& x) { return cdist_squared(x[0], x[1]); }},
      {"cdist_squared transposed", [] { return inputs({{3, 4}, {3, 2}}); },
       [](const TensorList& x) { return cdist_squared(x[0].t(), x[1].t()); }},
      // cdist: random rows are never at distance 0, and their coordinate gaps never tie (p = inf)
      {"cdist p=2", [] { return inputs({{4, 3}, {5, 3}}); }, [](const TensorList& x) { return cdist(x[0], x[1]); }},
      {"cdist p=1 batched", [] { return inputs({{2, 3, 4}, {2, 2, 4}}); },
       [](const TensorList& x) { return cdist(x[0], x[1], 1.0); }},
      {"cdist p=3", [] { return inputs({{3, 2}, {4, 2}}); }, [](const TensorList& x) { return cdist(x[0], x[1], 3.0); }},
      {"cdist p=inf", [] { return inputs({{3, 4}, {2, 4}}); },
       [](const TensorList& x) { return cdist(x[0], x[1], std::numeric_limits<double>::infinity()); }},
  };
}
