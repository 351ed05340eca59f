// Gradient-check rows for the recurrent cells and networks (nn/rnn.h): each row's inputs are the
// input, the state and every weight, so the check covers the gates' derivatives, the hidden
// recurrence through time, the reverse direction and the stacking of layers. And the packed
// sequences (nn/utils.h): packing and padding, and the networks over packed rows, where the
// batch shrinks and grows from step to step; and the LSTM's projection (proj_size).
#include "cake/nn/rnn.h"
#include "cake/nn/utils.h"
#include "gradcheck_table.h"
#include "nn/pytorch_reference.h"

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

// x, h0 (and c0), then per layer and direction w_ih [G H, in], w_hh [G H, H], b_ih, b_hh; with
// proj_size P > 0 (an LSTM), h0 is [.., P], w_hh [G H, P] and w_hr [P, H] follows the biases.
TensorList network_inputs(std::int64_t gates, const Shape& x, const Shape& state, bool with_cell, std::int64_t layers,
                          bool bidirectional, std::int64_t proj_size = 0) {
  const std::int64_t hidden = state.back(), directions = bidirectional ? 2 : 1;
  const std::int64_t width = proj_size > 0 ? proj_size : hidden;  // of h
  Shape h_state = state;
  h_state.back() = width;
  std::vector<Shape> shapes{x, h_state};
  if (with_cell) shapes.push_back(state);
  for (std::int64_t layer = 0; layer < layers; ++layer) {
    const std::int64_t in = layer == 0 ? x.back() : directions * width;
    for (std::int64_t d = 0; d < directions; ++d) {
      shapes.push_back({gates * hidden, in});
      shapes.push_back({gates * hidden, width});
      shapes.push_back({gates * hidden});
      shapes.push_back({gates * hidden});
      if (proj_size > 0) shapes.push_back({proj_size, hidden});
    }
  }
  return inputs(shapes);
}

Tensor int64s(const std::vector<std::int64_t>& v) { return tensor(v); }

namespace rnn_utils = nn::utils::rnn;

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
      // LSTM with projections (proj_size 2 of hidden 3): h0 [4, 2, 2], c0 [4, 2, 3], w_hr [2, 3]
      {"lstm proj_size 2 layers bidirectional (output, h_n, c_n)",
       [] { return network_inputs(4, {3, 2, 3}, {4, 2, 3}, true, 2, true, /*proj_size=*/2); },
       [](const TensorList& x) {
         auto [out, h, c] = F::lstm(x[0], x[1], x[2], weights_from(x, 3),
                                    F::RNNFuncOptions().num_layers(2).bidirectional(true));
         return joined({out, h, c});
       }},
      // packed sequences: the padded input x [T 4, B 3, 3] (its padding gets no gradient), packed
      // with lengths [2, 4, 3] (sorted here), then the network over the packed rows; states in
      // the sorted order, as the functional forms take them
      {"pack_padded_sequence unsorted, then pad_packed_sequence batch_first, total_length 5",
       [] { return inputs({{4, 3, 2}}); },
       [](const TensorList& x) {
         const auto packed = rnn_utils::pack_padded_sequence(x[0], int64s({2, 4, 3}), false, false);
         return std::get<0>(rnn_utils::pad_packed_sequence(packed, /*batch_first=*/true, -1.0, 5));
       }},
      {"lstm over packed rows, 2 layers bidirectional (data, h_n, c_n)",
       [] { return network_inputs(4, {4, 3, 3}, {4, 3, 2}, true, 2, true); },
       [](const TensorList& x) {
         const auto packed = rnn_utils::pack_padded_sequence(x[0], int64s({2, 4, 3}), false, false);
         auto [data, h, c] = F::lstm(packed.data(), packed.batch_sizes(), x[1], x[2], weights_from(x, 3),
                                     F::RNNFuncOptions().num_layers(2).bidirectional(true));
         return joined({data, h, c});
       }},
      {"gru over packed rows from pack_sequence, 2 layers bidirectional (data, h_n)",
       [] { return inputs({{4, 3}, {1, 3}, {3, 3}, {4, 3, 2}, {6, 3}, {6, 2}, {6}, {6}, {6, 3}, {6, 2}, {6}, {6},
                           {6, 4}, {6, 2}, {6}, {6}, {6, 4}, {6, 2}, {6}, {6}}); },
       [](const TensorList& x) {
         const auto packed = rnn_utils::pack_sequence({x[0], x[1], x[2]}, /*enforce_sorted=*/false);
         auto [data, h] = F::gru(packed.data(), packed.batch_sizes(), x[3], weights_from(x, 4),
                                 F::RNNFuncOptions().num_layers(2).bidirectional(true));
         return joined({data, h});
       }},
      // the module, whose states come in and go out in the caller's order (index_select by
      // sorted_indices, then unsorted_indices); weights fixed inside the row
      {"LSTM forward_with_packed_input, unsorted, with proj_size (data, h_n, c_n)",
       [] { return inputs({{4, 3, 3}, {2, 3, 2}, {2, 3, 3}}); },
       [](const TensorList& x) {
         nn::LSTM lstm(nn::LSTMOptions(3, 3).proj_size(2).bidirectional(true));
         cake::testing::set_params(*lstm);  // a fixed pattern, so every evaluation has the same weights
         lstm->to(x[0].device(), x[0].dtype());
         const auto packed = rnn_utils::pack_padded_sequence(x[0], int64s({3, 1, 4}), false, false);
         auto [out, state] = lstm->forward_with_packed_input(packed, std::make_tuple(x[1], x[2]));
         return joined({out.data(), std::get<0>(state), std::get<1>(state)});
       }},
  };
}
