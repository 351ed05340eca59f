// Gradient-check rows for elementwise ops, broadcasting, views and reductions.
#include "gradcheck_table.h"

using namespace cake;
using cake::testing::inputs;
using cake::testing::positive_inputs;
using cake::testing::TensorList;

CAKE_GRADCHECK_CASES(core) {
  return {
      // elementwise, with broadcasting and non-contiguous operands
      {"add broadcast", [] { return inputs({{3, 4}, {4}}); }, [](const TensorList& x) { return x[0] + x[1]; }},
      {"add alpha", [] { return inputs({{3, 1}, {1, 4}}); }, [](const TensorList& x) { return add(x[0], x[1], 2.5); }},
      {"sub broadcast", [] { return inputs({{2, 3, 4}, {3, 1}}); }, [](const TensorList& x) { return x[0] - x[1]; }},
      {"mul transposed", [] { return inputs({{4, 3}, {3, 4}}); },
       [](const TensorList& x) { return x[0].t() * x[1]; }},
      {"div", [] { auto a = inputs({{3, 4}}); a.push_back(positive_inputs({{4}})[0]); return a; },
       [](const TensorList& x) { return x[0] / x[1]; }},
      {"scalar ops", [] { return inputs({{5}}); }, [](const TensorList& x) { return (2.0 - x[0] * 3.0) / 4.0 + 1.0; }},
      {"neg", [] { return inputs({{5}}); }, [](const TensorList& x) { return -x[0]; }},
      {"abs", [] { return positive_inputs({{5}}); }, [](const TensorList& x) { return (x[0] - 1.25).abs(); }},
      {"exp", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].exp(); }},
      {"log", [] { return positive_inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].log(); }},
      {"log1p", [] { return positive_inputs({{6}}); }, [](const TensorList& x) { return x[0].log1p(); }},
      {"sqrt", [] { return positive_inputs({{6}}); }, [](const TensorList& x) { return x[0].sqrt(); }},
      {"rsqrt", [] { return positive_inputs({{6}}); }, [](const TensorList& x) { return x[0].rsqrt(); }},
      {"square", [] { return inputs({{6}}); }, [](const TensorList& x) { return x[0].square(); }},
      {"pow scalar", [] { return positive_inputs({{6}}); }, [](const TensorList& x) { return x[0].pow(2.5); }},
      {"pow tensor", [] { return positive_inputs({{3, 2}, {2}}); }, [](const TensorList& x) { return x[0].pow(x[1]); }},
      {"tanh", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].tanh(); }},
      {"sigmoid", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].sigmoid(); }},
      {"silu", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return silu(x[0] * 4.0); }},
      // ReLU-like kinks: inputs kept at least 0.1 away from 0 so differences never straddle a kink.
      {"relu", [] { return positive_inputs({{8}}); }, [](const TensorList& x) { return (x[0] - 1.2).relu(); }},
      {"leaky_relu", [] { return positive_inputs({{8}}); }, [](const TensorList& x) { return leaky_relu(x[0] - 1.2, 0.1); }},
      {"elu", [] { return positive_inputs({{8}}); }, [](const TensorList& x) { return elu(x[0] - 1.2, 0.7); }},
      {"gelu", [] { return inputs({{8}}); }, [](const TensorList& x) { return gelu(x[0]); }},
      {"sin cos", [] { return inputs({{5}}); }, [](const TensorList& x) { return x[0].sin() * x[0].cos(); }},
      {"reciprocal", [] { return positive_inputs({{5}}); }, [](const TensorList& x) { return x[0].reciprocal(); }},
      {"clamp", [] { return positive_inputs({{8}}); }, [](const TensorList& x) { return x[0].clamp(0.8, 1.6); }},
      {"maximum", [] { return inputs({{3, 4}, {4}}); }, [](const TensorList& x) { return maximum(x[0], x[1]); }},
      {"minimum", [] { return inputs({{3, 4}, {3, 1}}); }, [](const TensorList& x) { return minimum(x[0], x[1]); }},
      {"where", [] { return inputs({{3, 4}, {4}}); }, [](const TensorList& x) { return where(x[0] > 0, x[0], x[1]); }},
      // views
      {"view", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].view({2, 6}) * 2.0; }},
      {"reshape non-contiguous", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].t().reshape({12}); }},
      {"transpose", [] { return inputs({{2, 3, 4}}); }, [](const TensorList& x) { return x[0].transpose(0, 2); }},
      {"permute", [] { return inputs({{2, 3, 4}}); }, [](const TensorList& x) { return x[0].permute({1, 2, 0}); }},
      {"narrow", [] { return inputs({{5, 4}}); }, [](const TensorList& x) { return x[0].narrow(0, 1, 3); }},
      {"slice step", [] { return inputs({{7, 2}}); }, [](const TensorList& x) { return x[0].slice(0, 1, 7, 2); }},
      {"select", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].select(1, 2); }},
      {"unsqueeze squeeze", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].unsqueeze(1).squeeze(); }},
      {"expand", [] { return inputs({{3, 1}}); }, [](const TensorList& x) { return x[0].expand({2, 3, 4}); }},
      {"flatten", [] { return inputs({{2, 3, 4}}); }, [](const TensorList& x) { return x[0].flatten(1); }},
      {"clone contiguous", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].t().contiguous().clone(); }},
      {"flip two dims of a transposed input", [] { return inputs({{3, 4, 2}}); },
       [](const TensorList& x) { return x[0].transpose(0, 1).flip({0, -1}); }},
      {"repeat with an added leading dim", [] { return inputs({{2, 3}}); },
       [](const TensorList& x) { return x[0].repeat({2, 1, 3}); }},
      {"roll by a negative shift", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return x[0].roll(-2, 1); }},
      {"unbind, pieces reweighted", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) {
         auto rows = x[0].unbind(1);
         return rows[0] * 2.0 + rows[3] * rows[1];
       }},
      // reductions
      {"sum all", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].sum(); }},
      {"sum dims keepdim", [] { return inputs({{2, 3, 4}}); }, [](const TensorList& x) { return x[0].sum({0, 2}, true); }},
      {"sum non-contiguous", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return x[0].t().sum({1}); }},
      {"mean", [] { return inputs({{2, 3, 4}}); }, [](const TensorList& x) { return x[0].mean({1}); }},
      {"var", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return x[0].var({1}); }},
      {"std", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return x[0].std({0}, true); }},
      {"amax", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return x[0].amax({1}); }},
      {"amin", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return x[0].amin({0}); }},
      {"max with indices", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return max(x[0], 1).first; }},
      {"logsumexp", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return x[0].logsumexp({1}); }},
      {"norm 2", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return x[0].norm(2.0, {1}); }},
      {"norm 1", [] { return positive_inputs({{3, 5}}); }, [](const TensorList& x) { return x[0].norm(1.0); }},
      {"norm 3", [] { return positive_inputs({{3, 5}}); }, [](const TensorList& x) { return x[0].norm(3.0, {0}); }},
  };
}
