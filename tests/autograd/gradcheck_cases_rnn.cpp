// Gradient-check rows for the recurrent cells and networks (nn/rnn.h): each row's inputs are the
// input, the state and every weight, so the check covers the gates' derivatives, the hidden
// recurrence through time, the reverse direction and the stacking of layers.
#include "cake/nn/rnn.h"
#include "gradcheck_table.h"

using namespace cake;
using cake::testing::inputs;
using cake::testing::TensorList;

namespace {

namespace F = nn::functional;

// Several outputs as one tensor for the check: their entries, concatenated.
Tensor joined(const std::vector<Tensor>& parts) {
  std::vector<Tensor> flat;
  for (const Tensor& p : parts) flat.push_back(p.reshape({-1}));
  return cat(flat, 0);
}

// x, h0 (and c0), then per layer and direction w_ih [G H, in], w_hh [G H, H], b_ih, b_hh.
TensorList network_inputs(std::int64_t gates, const Shape& x, const Shape& state, bool with_cell, std::int64_t layers,
                          bool bidirectional) {
  const std::int64_t hidden = state.back(), directions = bidirectional ? 2 : 1;
  std::vector<Shape> shapes{x, state};
  if (with_cell) shapes.push_back(state);
  for (std::int64_t layer = 0; layer < layers; ++layer) {
    const std::int64_t in = layer == 0 ? x.back() : directions * hidden;
    for (std::int64_t d = 0; d < directions; ++d) {
      shapes.push_back({gates * hidden, in});
      shapes.push_back({gates * hidden, hidden});
      shapes.push_back({gates * hidden});
      shapes.push_back({gates * hidden});
    }
  }
  return inputs(shapes);
}

// The weights among a row's inputs, from position `first` on.
std::vector<Tensor> weights_from(const TensorList& x, std::size_t first) { return {x.begin() + first, x.end()}; }

}  // namespace

CAKE_GRADCHECK_CASES(rnn) {
  return {
      // cells: input, h (c), w_ih, w_hh, b_ih, b_hh
      {"rnn_tanh_cell", [] { return inputs({{2, 3}, {2, 4}, {4, 3}, {4, 4}, {4}, {4}}); },
       [](const TensorList& x) { return F::rnn_tanh_cell(x[0], x[1], x[2], x[3], x[4], x[5]); }},
      {"rnn_relu_cell", [] { return inputs({{2, 3}, {2, 4}, {4, 3}, {4, 4}, {4}, {4}}); },
       [](const TensorList& x) { return F::rnn_relu_cell(x[0], x[1], x[2], x[3], x[4], x[5]); }},
      {"lstm_cell (h' and c')", [] { return inputs({{2, 3}, {2, 4}, {2, 4}, {16, 3}, {16, 4}, {16}, {16}}); },
       [](const TensorList& x) {
         auto [h, c] = F::lstm_cell(x[0], x[1], x[2], x[3], x[4], x[5], x[6]);
         return joined({h, c});
       }},
      {"lstm_cell unbatched, no biases", [] { return inputs({{3}, {2}, {2}, {8, 3}, {8, 2}}); },
       [](const TensorList& x) {
         auto [h, c] = F::lstm_cell(x[0], x[1], x[2], x[3], x[4]);
         return joined({h, c});
       }},
      {"gru_cell", [] { return inputs({{2, 3}, {2, 4}, {12, 3}, {12, 4}, {12}, {12}}); },
       [](const TensorList& x) { return F::gru_cell(x[0], x[1], x[2], x[3], x[4], x[5]); }},
      // networks: 2 layers, both directions; output and final states
      {"lstm 2 layers bidirectional (output, h_n, c_n)",
       [] { return network_inputs(4, {3, 2, 3}, {4, 2, 2}, true, 2, true); },
       [](const TensorList& x) {
         auto [out, h, c] = F::lstm(x[0], x[1], x[2], weights_from(x, 3),
                                    F::RNNFuncOptions().num_layers(2).bidirectional(true));
         return joined({out, h, c});
       }},
      {"gru 2 layers bidirectional batch_first (output, h_n)",
       [] { return network_inputs(3, {2, 3, 3}, {4, 2, 2}, false, 2, true); },
       [](const TensorList& x) {
         auto [out, h] = F::gru(x[0], x[1], weights_from(x, 2),
                                F::RNNFuncOptions().num_layers(2).bidirectional(true).batch_first(true));
         return joined({out, h});
       }},
      {"rnn_tanh 2 layers unbatched (output, h_n)", [] { return network_inputs(1, {4, 3}, {2, 3}, false, 2, false); },
       [](const TensorList& x) {
         auto [out, h] = F::rnn_tanh(x[0], x[1], weights_from(x, 2), F::RNNFuncOptions().num_layers(2));
         return joined({out, h});
       }},
  };
}
