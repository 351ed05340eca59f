// Gradient-check rows for the activations and distances of nn::functional written as compositions
// (prelu, softplus with beta and threshold, mish, hardtanh, relu6, softsign, selu, celu,
// hardsigmoid, hardswish, logsigmoid, softmin, glu, threshold, the shrinkage functions, dropout2d,
// pairwise_distance). Inputs are scaled so that both sides of every kink and cut-off are reached;
// with the table's fixed seed none lands within the checker's step of one.
#include "cake/nn/functional.h"
#include "gradcheck_table.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::inputs;
using cake::testing::positive_inputs;
using cake::testing::TensorList;

CAKE_GRADCHECK_CASES(activations) {
  return {
      {"prelu per channel", [] { return TensorList{randn({2, 3, 4}, kFloat64), rand({3}, kFloat64)}; },
       [](const TensorList& x) { return F::prelu(x[0], x[1]); }},
      {"prelu shared slope", [] { return inputs({{5, 2}, {1}}); },
       [](const TensorList& x) { return F::prelu(x[0], x[1]); }},
      {"softplus beta threshold", [] { return inputs({{12}}); },
       [](const TensorList& x) { return F::softplus(x[0] * 3.0, 2.0, 3.0); }},  // x itself past 1.5
      {"mish", [] { return inputs({{8}}); }, [](const TensorList& x) { return F::mish(x[0] * 3.0); }},
      {"hardtanh", [] { return inputs({{10}}); },
       [](const TensorList& x) { return F::hardtanh(x[0] * 2.0, -0.5, 1.5); }},
      {"relu6", [] { return positive_inputs({{10}}); },
       [](const TensorList& x) { return F::relu6(x[0] * 5.0 - 3.0); }},  // spans [-0.5, 7]
      {"softsign", [] { return inputs({{8}}); }, [](const TensorList& x) { return F::softsign(x[0] * 3.0); }},
      {"selu", [] { return inputs({{8}}); }, [](const TensorList& x) { return F::selu(x[0] * 3.0); }},
      {"celu alpha 0.5", [] { return inputs({{8}}); }, [](const TensorList& x) { return F::celu(x[0] * 3.0, 0.5); }},
      {"hardsigmoid, hardswish", [] { return inputs({{12}}); },
       [](const TensorList& x) { return F::hardsigmoid(x[0] * 4.0) + F::hardswish(x[0] * 4.0); }},  // past +-3
      {"logsigmoid", [] { return inputs({{8}}); }, [](const TensorList& x) { return F::logsigmoid(x[0] * 5.0); }},
      {"softmin", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return F::softmin(x[0], 1); }},
      {"glu along dim 0", [] { return inputs({{4, 3}}); }, [](const TensorList& x) { return F::glu(x[0], 0); }},
      {"threshold", [] { return inputs({{10}}); }, [](const TensorList& x) { return F::threshold(x[0] * 2.0, 0.3, -1.0); }},
      {"tanhshrink, softshrink, hardshrink", [] { return inputs({{12}}); },
       [](const TensorList& x) {
         return F::tanhshrink(x[0]) + F::softshrink(x[0] * 2.0, 0.4) + F::hardshrink(x[0] * 2.0, 0.4);
       }},
      {"dropout2d (a fixed mask)", [] { return inputs({{2, 4, 2, 3}}); },
       [](const TensorList& x) {
         manual_seed(7);  // the same channels dropped on every evaluation
         return F::dropout2d(x[0], 0.5);
       }},
      {"pairwise_distance", [] { return inputs({{3, 4}, {3, 4}}); },
       [](const TensorList& x) { return F::pairwise_distance(x[0], x[1]); }},
      {"pairwise_distance p=1 keepdim broadcast", [] { return inputs({{3, 4}, {4}}); },
       [](const TensorList& x) { return F::pairwise_distance(x[0], x[1], 1.0, 1e-6, true); }},
      {"pairwise_distance p=3", [] { return inputs({{2, 5}, {2, 5}}); },
       [](const TensorList& x) { return F::pairwise_distance(x[0], x[1], 3.0); }},
  };
}
