// Gradient-check rows for the elementwise maths of autograd/ops/math.cpp (trigonometric,
// hyperbolic, exponential and special functions, the division family, the composites), the scans
// and order statistics of autograd/ops/scan.cpp, the differentiable prod and the NaN-skipping
// reductions, and the rearrangements of autograd/ops/structure.cpp. Inputs are kept inside each
// function's domain and away from its kinks and poles (a squashing tanh or a shift, written in
// the row), so that the finite differences never straddle one.
#include <limits>

#include "gradcheck_table.h"

using namespace cake;
using cake::testing::inputs;
using cake::testing::positive_inputs;
using cake::testing::TensorList;

namespace {
// |x| < 0.9: inside the domains of asin, acos, atanh and erfinv.
Tensor inside_unit(const Tensor& x) { return x.tanh() * 0.9; }
Tensor fixed(std::initializer_list<double> values, const Shape& shape = {}) { return tensor(values, shape, kFloat64); }
}  // namespace

CAKE_GRADCHECK_CASES(math) {
  return {
      // trigonometric and hyperbolic
      {"tan", [] { return inputs({{6}}); }, [](const TensorList& x) { return tan(x[0].tanh()); }},
      {"asin", [] { return inputs({{6}}); }, [](const TensorList& x) { return asin(inside_unit(x[0])); }},
      {"acos", [] { return inputs({{6}}); }, [](const TensorList& x) { return acos(inside_unit(x[0])); }},
      {"atan", [] { return inputs({{6}}); }, [](const TensorList& x) { return x[0].atan(); }},
      {"sinh cosh", [] { return inputs({{6}}); }, [](const TensorList& x) { return x[0].sinh() + x[0].cosh() * 0.5; }},
      {"asinh", [] { return inputs({{6}}); }, [](const TensorList& x) { return x[0].asinh(); }},
      {"acosh", [] { return positive_inputs({{6}}); }, [](const TensorList& x) { return (x[0] + 1.0).acosh(); }},
      {"atanh", [] { return inputs({{6}}); }, [](const TensorList& x) { return atanh(inside_unit(x[0])); }},
      // exponentials and logarithms
      {"expm1", [] { return inputs({{6}}); }, [](const TensorList& x) { return x[0].expm1(); }},
      {"exp2", [] { return inputs({{6}}); }, [](const TensorList& x) { return x[0].exp2(); }},
      {"log2 log10", [] { return positive_inputs({{6}}); }, [](const TensorList& x) { return x[0].log2() + x[0].log10(); }},
      // error and gamma functions
      {"erf erfc", [] { return inputs({{6}}); }, [](const TensorList& x) { return x[0].erf() + x[0].erfc() * x[0]; }},
      {"erfinv", [] { return inputs({{6}}); }, [](const TensorList& x) { return erfinv(inside_unit(x[0])); }},
      {"lgamma", [] { return positive_inputs({{6}}); }, [](const TensorList& x) { return (x[0] * 3.0).lgamma(); }},
      {"lgamma between the poles -2 and -1", [] { return positive_inputs({{6}}); },
       [](const TensorList& x) { return lgamma(x[0] * 0.2 - 1.5); }},
      {"digamma", [] { return positive_inputs({{6}}); }, [](const TensorList& x) { return (x[0] * 2.0).digamma(); }},
      {"digamma reflected", [] { return positive_inputs({{6}}); },
       [](const TensorList& x) { return digamma(x[0] * 0.2 - 1.5); }},
      {"polygamma 1 and 2", [] { return positive_inputs({{6}}); },
       [](const TensorList& x) { return polygamma(1, x[0]) + polygamma(2, x[0] * 2.0); }},
      {"polygamma 3 reflected", [] { return positive_inputs({{6}}); },
       [](const TensorList& x) { return polygamma(3, x[0] * 0.2 - 0.7); }},
      // piecewise and composites
      {"sinc", [] { return inputs({{6}}); }, [](const TensorList& x) { return (x[0] * 2.0).sinc(); }},
      {"frac", [] { return positive_inputs({{6}}); }, [](const TensorList& x) { return (x[0] * 0.4 + 2.1).frac(); }},
      {"logit", [] { return inputs({{6}}); }, [](const TensorList& x) { return x[0].sigmoid().logit(); }},
      {"logit with eps, inside", [] { return inputs({{6}}); },
       [](const TensorList& x) { return logit(x[0].sigmoid() * 0.4 + 0.3, 0.1); }},
      {"nan_to_num of finite values", [] { return inputs({{6}}); }, [](const TensorList& x) { return nan_to_num(x[0] * 2.0); }},
      {"atan2 broadcast", [] { return inputs({{3, 4}, {4}}); }, [](const TensorList& x) { return atan2(x[0], x[1]); }},
      {"hypot", [] { return inputs({{3, 4}, {3, 4}}); }, [](const TensorList& x) { return hypot(x[0], x[1]); }},
      {"copysign", [] { return TensorList{positive_inputs({{5}})[0], fixed({1.0, -2.0, 0.5, -0.3, 3.0})}; },
       [](const TensorList& x) { return copysign(x[0], x[1]); }},
      {"fmod", [] { return TensorList{fixed({5.3, -2.7, 7.1, -4.4}), fixed({2.0, 1.3, -3.0, 1.7})}; },
       [](const TensorList& x) { return fmod(x[0], x[1]); }},
      {"remainder", [] { return TensorList{fixed({5.3, -2.7, 7.1, -4.4}), fixed({2.0, 1.3, -3.0, 1.7})}; },
       [](const TensorList& x) { return remainder(x[0], x[1]); }},
      {"logaddexp", [] { return inputs({{3, 4}, {4}}); }, [](const TensorList& x) { return logaddexp(x[0] * 3.0, x[1]); }},
      {"xlogy", [] { return TensorList{inputs({{5}})[0], positive_inputs({{5}})[0]}; },
       [](const TensorList& x) { return xlogy(x[0], x[1]); }},
      {"lerp tensor weight", [] { return inputs({{3, 4}, {3, 4}, {4}}); },
       [](const TensorList& x) { return lerp(x[0], x[1], x[2].sigmoid()); }},
      {"lerp scalar weights below and above 1/2", [] { return inputs({{5}, {5}}); },
       [](const TensorList& x) { return lerp(x[0], x[1], 0.3) * lerp(x[0], x[1], 0.8); }},
      {"addcmul addcdiv", [] { auto a = inputs({{3, 4}, {4}, {3, 4}}); a.push_back(positive_inputs({{3, 1}})[0]); return a; },
       [](const TensorList& x) { return addcdiv(addcmul(x[0], x[1], x[2], 0.5), x[2], x[3], -2.0); }},
      // products and NaN-skipping reductions
      {"prod all", [] { return positive_inputs({{2, 3}}); }, [](const TensorList& x) { return x[0].prod(); }},
      {"prod over two dims, with a zero", [] { return TensorList{fixed({1.3, 0.0, -0.7, 2.1, 0.9, -1.1}, {3, 2})}; },
       [](const TensorList& x) { return x[0].prod({0, 1}, true); }},
      {"prod along a dim, a zero in one row", [] { return TensorList{fixed({1.3, 0.0, -0.7, 2.1, 0.9, -1.1}, {2, 3})}; },
       [](const TensorList& x) { return x[0].prod(1); }},
      {"nansum nanmean of finite values", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) { return nansum(x[0], {1}) + nanmean(x[0], {1}); }},
      {"var_mean", [] { return inputs({{3, 5}}); },
       [](const TensorList& x) {
         auto [v, m] = var_mean(x[0], {1});
         return v + m * m;
       }},
      // scans and order statistics
      {"cumprod with a zero", [] { return TensorList{fixed({1.3, 0.0, -0.7, 2.1, 0.9, -1.1, 0.6})}; },
       [](const TensorList& x) { return cumprod(x[0], 0); }},
      {"cumprod along dim 0 of a transposed input", [] { return inputs({{3, 5}}); },
       [](const TensorList& x) { return cumprod(x[0].t(), 0); }},
      {"cummax cummin", [] { return inputs({{3, 6}}); },
       [](const TensorList& x) { return cummax(x[0], 1).first + cummin(x[0], 1).first * 2.0; }},
      {"logcumsumexp", [] { return inputs({{3, 7}}); }, [](const TensorList& x) { return logcumsumexp(x[0], 1); }},
      {"median of all", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].median(); }},
      {"median along a dim", [] { return inputs({{4, 5}}); }, [](const TensorList& x) { return median(x[0], 0).first; }},
      {"kthvalue along a dim", [] { return inputs({{4, 5}}); }, [](const TensorList& x) { return kthvalue(x[0], 2, 1).first; }},
      {"nanmedian with a NaN", [] { return TensorList{fixed({0.4, std::numeric_limits<double>::quiet_NaN(), -1.2, 2.5, 0.7, -0.3})}; },
       [](const TensorList& x) { return nanmedian(x[0]) + nanmedian(x[0].view({2, 3}), 1).first.sum(); }},
      {"quantile linear", [] { return inputs({{3, 6}}); },
       [](const TensorList& x) { return quantile(x[0], tensor({0.1, 0.5, 0.85}, {}, kFloat64), 1); }},
      {"quantile midpoint of all", [] { return inputs({{2, 5}}); },
       [](const TensorList& x) { return quantile(x[0], 0.3, std::nullopt, false, "midpoint"); }},
      // matrices and rearrangements
      {"tril triu", [] { return inputs({{2, 3, 4}}); }, [](const TensorList& x) { return x[0].tril(1) + x[0].triu(-1) * 2.0; }},
      {"diagonal offset of dims 0 and 2", [] { return inputs({{4, 2, 5}}); },
       [](const TensorList& x) { return diagonal(x[0], 1, 2, 0); }},
      {"diag of a vector and of a matrix", [] { return inputs({{3}, {4, 3}}); },
       [](const TensorList& x) { return diag(x[0], -1).sum(0) + diag(x[1], 0).sum(); }},
      {"diag_embed", [] { return inputs({{2, 3}}); }, [](const TensorList& x) { return diag_embed(x[0], 1, 0, 2); }},
      {"movedim rot90 tile", [] { return inputs({{2, 3, 4}}); },
       [](const TensorList& x) { return movedim(x[0], {0, 2}, {2, 0}).rot90(1, {0, 1}).tile({2, 1, 1}); }},
      {"kron", [] { return inputs({{2, 3}, {2, 2}}); }, [](const TensorList& x) { return kron(x[0], x[1]); }},
      {"tensordot", [] { return inputs({{2, 3, 4}, {4, 3, 5}}); },
       [](const TensorList& x) { return tensordot(x[0], x[1], {1, 2}, {1, 0}); }},
      {"block_diag", [] { return inputs({{2, 2}, {3}, {}}); }, [](const TensorList& x) { return block_diag({x[0], x[1], x[2]}); }},
      {"meshgrid xy, cartesian_prod", [] { return inputs({{3}, {2}}); },
       [](const TensorList& x) {
         auto grids = meshgrid({x[0], x[1]}, "xy");
         return grids[0] * grids[1] + cartesian_prod({x[0], x[1]}).sum(1).reshape({2, 3});
       }},
  };
}
