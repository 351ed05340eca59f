// Gradient-check rows for indexing, joining, sorting and scans. Index tensors are fixed (with
// repeated indices, so that gradients must accumulate); sort/topk inputs have no ties (distinct
// values 0.1 apart), so finite differences never reorder them.
#include "gradcheck_table.h"

using namespace cake;
using cake::testing::inputs;
using cake::testing::TensorList;

namespace {
Tensor ints(std::vector<std::int64_t> v, const Shape& shape) { return tensor(v, shape, kInt64); }

// Distinct values in random order: a permutation of 0..n-1 scaled by 0.1, plus a little noise.
Tensor untied(const Shape& shape) {
  const std::int64_t n = shape_numel(shape);
  return (randperm(n).to(kFloat64) * 0.1 + rand({n}, kFloat64) * 0.01).reshape(shape);
}
}  // namespace

CAKE_GRADCHECK_CASES(indexing) {
  return {
      // gather / scatter_add / scatter / index_select / index_add
      {"gather dim 1", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) { return gather(x[0], 1, ints({0, 3, 3, 1, 2, 2, 0, 0, 1}, {3, 3})); }},
      {"gather dim 0 transposed", [] { return inputs({{4, 3}}); },
       [](const TensorList& x) { return gather(x[0].t(), 0, ints({2, 0, 2, 1, 2, 1}, {2, 3})); }},
      {"scatter_add", [] { return inputs({{3, 4}, {2, 4}}); },
       [](const TensorList& x) { return scatter_add(x[0], 0, ints({0, 2, 2, 1, 0, 0, 2, 1}, {2, 4}), x[1]); }},
      {"scatter_add dim -1 non-contiguous src", [] { return inputs({{2, 3}, {4, 2}}); },
       [](const TensorList& x) { return scatter_add(x[0], -1, ints({1, 1, 0, 2, 2, 2, 0, 1}, {2, 4}), x[1].t()); }},
      // scatter: no index repeats along dim (with a repeat, only one src element lands, and the
      // others' finite-difference gradient is zero where PyTorch's rule gives gather(g))
      {"scatter", [] { return inputs({{3, 4}, {2, 4}}); },
       [](const TensorList& x) { return scatter(x[0], 0, ints({0, 2, 1, 0, 2, 0, 2, 1}, {2, 4}), x[1]); }},
      {"scatter dim -1 non-contiguous src", [] { return inputs({{2, 3}, {2, 2}}); },
       [](const TensorList& x) { return scatter(x[0], -1, ints({2, 0, 1, 2}, {2, 2}), x[1].t()); }},
      {"scatter a value", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) { return scatter(x[0], 0, ints({1, 0, 2, 1, 2, 2}, {2, 3}), -0.5); }},
      // scatter_reduce: random values, so no ties for amax / amin and no zeros for prod
      {"scatter_reduce sum, x left out", [] { return inputs({{3, 4}, {2, 4}}); },
       [](const TensorList& x) { return scatter_reduce(x[0], 0, ints({0, 2, 2, 1, 0, 0, 2, 1}, {2, 4}), x[1], "sum", false); }},
      {"scatter_reduce prod", [] { return inputs({{3, 4}, {2, 4}}); },
       [](const TensorList& x) { return scatter_reduce(x[0], 0, ints({0, 2, 2, 1, 0, 0, 2, 1}, {2, 4}), x[1], "prod"); }},
      {"scatter_reduce mean dim 1", [] { return inputs({{2, 3}, {2, 4}}); },
       [](const TensorList& x) { return scatter_reduce(x[0], 1, ints({1, 1, 0, 2, 2, 2, 0, 1}, {2, 4}), x[1], "mean"); }},
      {"scatter_reduce mean, x left out", [] { return inputs({{2, 3}, {2, 4}}); },
       [](const TensorList& x) { return scatter_reduce(x[0], 1, ints({1, 1, 0, 2, 2, 2, 0, 1}, {2, 4}), x[1], "mean", false); }},
      {"scatter_reduce amax", [] { return inputs({{3, 4}, {2, 4}}); },
       [](const TensorList& x) { return scatter_reduce(x[0], 0, ints({0, 2, 2, 1, 0, 0, 2, 1}, {2, 4}), x[1], "amax"); }},
      {"scatter_reduce amin, x left out", [] { return inputs({{3, 4}, {2, 4}}); },
       [](const TensorList& x) { return scatter_reduce(x[0], 0, ints({0, 2, 2, 1, 0, 0, 2, 1}, {2, 4}), x[1], "amin", false); }},
      {"index_select", [] { return inputs({{4, 3}}); },
       [](const TensorList& x) { return index_select(x[0], 0, ints({3, 0, 3, 3, 1}, {5})); }},
      {"index_select dim 1 transposed", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) { return index_select(x[0].t(), 1, ints({2, 2, 0}, {3})); }},
      {"index_add alpha", [] { return inputs({{4, 3}, {5, 3}}); },
       [](const TensorList& x) { return index_add(x[0], 0, ints({1, 3, 1, 0, 1}, {5}), x[1], 2.5); }},
      {"index_add dim 1", [] { return inputs({{2, 3}, {2, 4}}); },
       [](const TensorList& x) { return index_add(x[0], 1, ints({2, 0, 2, 2}, {4}), x[1]); }},
      // masks
      {"masked_fill", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) {
         return masked_fill(x[0], tensor(std::vector<bool>{true, false, false, true}, {4}), -1.5);
       }},
      {"masked_select broadcast", [] { return inputs({{1, 4}}); },
       [](const TensorList& x) {
         return masked_select(x[0], tensor(std::vector<bool>{true, false, true, true, false, true}, {3, 2}).expand({2, 3, 2})
                                        .reshape({3, 4}));
       }},
      {"masked_select transposed", [] { return inputs({{4, 3}}); },
       [](const TensorList& x) { return masked_select(x[0].t(), tensor(std::vector<bool>{true, false, true, true}, {4})); }},
      // joining and splitting
      {"cat dim 1 mixed layouts", [] { return inputs({{2, 3}, {4, 2}, {2, 1}}); },
       [](const TensorList& x) { return cat({x[0], x[1].t(), x[2]}, 1); }},
      {"cat dim 0 with an empty piece", [] { return inputs({{2, 3}, {1, 3}}); },
       [](const TensorList& x) { return cat({x[0], empty({0}, kFloat64), x[1]}, 0); }},
      {"stack dim -1", [] { return inputs({{2, 3}, {2, 3}, {3, 2}}); },
       [](const TensorList& x) { return stack({x[0], x[1], x[2].t()}, -1); }},
      {"split unused piece", [] { return inputs({{3, 7}}); },
       [](const TensorList& x) {
         auto p = split(x[0], 3, 1);
         return cat({p[0] * 2.0, p[2]}, 1);
       }},
      {"split sizes", [] { return inputs({{5, 2}}); },
       [](const TensorList& x) {
         auto p = split(x[0], std::vector<std::int64_t>{1, 3, 1}, 0);
         return p[1] * p[1].sum() + p[0];
       }},
      {"chunk", [] { return inputs({{2, 6}}); },
       [](const TensorList& x) {
         auto p = chunk(x[0], 3, -1);
         return p[0] * p[2] - p[1];
       }},
      // sorting
      {"sort", [] { return TensorList{untied({3, 5})}; },
       [](const TensorList& x) { return sort(x[0], 1).first; }},
      {"sort descending dim 0 transposed", [] { return TensorList{untied({4, 3})}; },
       [](const TensorList& x) { return sort(x[0].t(), 0, true).first; }},
      {"topk", [] { return TensorList{untied({3, 6})}; },
       [](const TensorList& x) { return topk(x[0], 2, -1).first; }},
      {"topk smallest unsorted dim 0", [] { return TensorList{untied({5, 3})}; },
       [](const TensorList& x) { return topk(x[0], 3, 0, false, false).first; }},
      // embedding
      {"embedding", [] { return inputs({{5, 3}}); },
       [](const TensorList& x) { return embedding(x[0], ints({4, 0, 4, 2, 4, 1}, {2, 3})); }},
      // scans
      {"cumsum dim 1", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return cumsum(x[0], 1); }},
      {"cumsum dim 0 transposed", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return cumsum(x[0].t(), 0); }},
      {"cumsum dim -2 of 3-d", [] { return inputs({{2, 3, 4}}); }, [](const TensorList& x) { return cumsum(x[0], -2); }},
  };
}
