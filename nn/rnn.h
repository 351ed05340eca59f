// rnn.h: recurrent layers (Elman RNN, LSTM, GRU) and their single-step cells, with PyTorch's
// parameter names, shapes, gate order and return types, built from existing differentiable ops
// (linear, sigmoid, tanh, relu, mul, add, stack, cat, narrow, dropout), so their gradient is
// theirs. They also run over packed batches of sequences of different lengths (nn/utils.h).
//
//   cake::nn::LSTM lstm(cake::nn::LSTMOptions(8, 16).num_layers(2).bidirectional(true));
//   auto [out, state] = lstm(x);                     // x [T, B, 8] -> out [T, B, 32]
//   auto [h_n, c_n] = state;                         // each [2 layers * 2 directions, B, 16]
//   auto [out2, state2] = lstm->forward(x, state);   // carry the state on
//   cake::nn::GRU gru(cake::nn::GRUOptions(8, 16).batch_first(true));
//   auto [y, h] = gru(x.transpose(0, 1));            // [B, T, 8] -> y [B, T, 16], h [1, B, 16]
//   cake::nn::RNN rnn(cake::nn::RNNOptions(8, 16).nonlinearity(cake::kReLU));
//   cake::nn::LSTMCell cell(8, 16);
//   auto [h1, c1] = cell(x[0]);                      // one step from a zero state: [B, 8] -> [B, 16] x2
//   auto [h2, c2] = cell(x[1], std::make_tuple(h1, c1));
//   // x's 3 sequences with 5, 3 and 2 real steps: each stops at its own end (NOTE [ The packed
//   // layout ] in nn/utils.h), so h_n is each one's state at its last real step
//   auto packed = cake::nn::utils::rnn::pack_padded_sequence(x, cake::tensor({5, 3, 2}, {3}, cake::kInt64));
//   auto [packed_out, packed_state] = lstm->forward_with_packed_input(packed);  // data [10, 32]
//   auto [padded, lengths] = cake::nn::utils::rnn::pad_packed_sequence(packed_out);  // [5, 3, 32]
//   cake::nn::LSTM projected(cake::nn::LSTMOptions(8, 16).proj_size(4));  // h [1, B, 4], c [1, B, 16]
//
// Shapes: the input is sequence-first [T, B, input_size] by default, [B, T, input_size] with
// batch_first, or unbatched [T, input_size] (batch_first does not apply); the states h_0, c_0
// and h_n, c_n are [num_layers * D, B, hidden_size] ([num_layers * D, hidden_size] unbatched),
// D = 2 if bidirectional else 1, ordered layer by layer, forward direction first. The output
// holds the last layer's h_t for every t, the two directions concatenated: [T, B, D * hidden].
//
// The equations, as PyTorch's documentation states them (sigma the logistic sigmoid, * the
// elementwise product), for input x_t and previous state h_{t-1} (c_{t-1}):
//   Elman RNN:  h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act = tanh or relu
//   LSTM (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", with the forget gate of
//   Gers, Schmidhuber & Cummins 2000, "Learning to Forget"), gates in the order i, f, g, o:
//     i = sigma(W_ii x + b_ii + W_hi h + b_hi)      input gate
//     f = sigma(W_if x + b_if + W_hf h + b_hf)      forget gate
//     g = tanh(W_ig x + b_ig + W_hg h + b_hg)       candidate cell
//     o = sigma(W_io x + b_io + W_ho h + b_ho)      output gate
//     c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t)
//   with proj_size P > 0 (the LSTMP of Sak, Senior & Beaufays 2014, "Long Short-Term Memory
//   Recurrent Neural Network Architectures for Large Scale Acoustic Modeling": their recurrent
//   projection r_t = W_rm m_t, without the peepholes, as PyTorch), the state fed back and
//   output is projected down: h_t = W_hr (o * tanh(c_t)), W_hr [P, hidden];
//   then h is [.., P] where c stays [.., hidden], W_hh is [4 hidden, P] and a layer above the
//   first takes D * P inputs. A narrow recurrent state cuts the W_hh GEMM, the cost of each step.
//   GRU (Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder"), gates
//   in the order r, z, n:
//     r = sigma(W_ir x + b_ir + W_hr h + b_hr)      reset gate
//     z = sigma(W_iz x + b_iz + W_hz h + b_hz)      update gate
//     n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) candidate (the reset gate scales W_hn h + b_hn)
//     h_t = (1 - z) * n + z * h_{t-1}
// The gate weights are stacked row-wise: weight_ih_l{k} is [G * hidden, in] with G = 1, 4, 3
// gates (in = input_size for layer 0, D * hidden_size above it), weight_hh_l{k} is
// [G * hidden, hidden], biases [G * hidden], and with projections weight_hr_l{k} [P, hidden]
// after the biases; the reverse direction's end in "_reverse". All start as U(-1/sqrt(hidden),
// 1/sqrt(hidden)), drawn from Cake's seeded generator. So a state dict saved by PyTorch loads
// name for name.
//
// Cost: per layer and direction, the input projections of all T steps are one GEMM
// ([T B, in] x [in, G H]); each step then adds one GEMM for W_hh h and a few elementwise ops on
// views of the gate columns. A packed input (forward_with_packed_input) is the same with its
// rows in place of T B, and step t on its first batch_sizes[t] rows only.
//
// Packed input, as PyTorch's: the batch comes sorted longest first (sorted_indices records how,
// NOTE [ The packed layout ] in nn/utils.h), so at step t the sequences still running are the
// first batch_sizes[t]. Going forward in time a sequence leaves the batch after its last step,
// keeping that state as its h_n (c_n); the reverse direction starts each sequence at its own
// last step from its h_0, so neither direction ever reads padding. h_0 and the returned h_n
// are in the caller's order (PyTorch permutes them by sorted_indices and back by
// unsorted_indices); the output is packed like the input.
//
// NOTE [ The single-tensor forward of recurrent layers ]
// Module's virtual `Tensor forward(const Tensor&)` is what Sequential and a Module& call. These
// layers' own forward takes a state as well and returns a tuple, as libtorch's; declared in the
// layer, it hides the virtual, so `lstm->forward(x)`, `lstm(x)` and `auto [out, state] =
// lstm(x)` reach the tuple form. The virtual itself (defined once in RNNBase / RNNCellBase) runs
// from a zero state and returns the *output* alone: the output sequence for RNN, LSTM and GRU
// (h_n, c_n are dropped), the new hidden state h' for the cells. So a recurrent layer can sit in
// a Sequential, feeding its output sequence to the next module.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "cake/nn/module.h"
#include "cake/nn/options.h"
#include "cake/nn/utils.h"

namespace cake::nn {

// The Elman RNN's activation: RNNOptions(8, 16).nonlinearity(cake::kReLU).
enum class RNNNonlinearity { Tanh, ReLU };

// RNNOptions(input_size, hidden_size).num_layers(2).nonlinearity(cake::kReLU).dropout(0.1), or
// {.input_size = 8, .hidden_size = 16, .bidirectional = true}.
struct RNNOptions {
  using Self = RNNOptions;
  CAKE_ARG(std::int64_t, input_size) = 0;
  CAKE_ARG(std::int64_t, hidden_size) = 0;
  CAKE_ARG(std::int64_t, num_layers) = 1;
  CAKE_ARG(RNNNonlinearity, nonlinearity) = RNNNonlinearity::Tanh;
  CAKE_ARG(bool, bias) = true;
  CAKE_ARG(bool, batch_first) = false;  // [B, T, F] instead of [T, B, F]
  CAKE_ARG(double, dropout) = 0.0;      // on each layer's output but the last, in training only
  CAKE_ARG(bool, bidirectional) = false;
};
struct LSTMOptions {  // LSTMOptions(8, 16).num_layers(2).bidirectional(true)
  using Self = LSTMOptions;
  CAKE_ARG(std::int64_t, input_size) = 0;
  CAKE_ARG(std::int64_t, hidden_size) = 0;
  CAKE_ARG(std::int64_t, num_layers) = 1;
  CAKE_ARG(bool, bias) = true;
  CAKE_ARG(bool, batch_first) = false;
  CAKE_ARG(double, dropout) = 0.0;
  CAKE_ARG(bool, bidirectional) = false;
  CAKE_ARG(std::int64_t, proj_size) = 0;  // > 0: h_t = W_hr (o * tanh(c_t)) of this size (0: none)
};
struct GRUOptions {  // GRUOptions(8, 16).batch_first(true)
  using Self = GRUOptions;
  CAKE_ARG(std::int64_t, input_size) = 0;
  CAKE_ARG(std::int64_t, hidden_size) = 0;
  CAKE_ARG(std::int64_t, num_layers) = 1;
  CAKE_ARG(bool, bias) = true;
  CAKE_ARG(bool, batch_first) = false;
  CAKE_ARG(double, dropout) = 0.0;
  CAKE_ARG(bool, bidirectional) = false;
};
struct RNNCellOptions {  // RNNCellOptions(8, 16).nonlinearity(cake::kReLU)
  using Self = RNNCellOptions;
  CAKE_ARG(std::int64_t, input_size) = 0;
  CAKE_ARG(std::int64_t, hidden_size) = 0;
  CAKE_ARG(bool, bias) = true;
  CAKE_ARG(RNNNonlinearity, nonlinearity) = RNNNonlinearity::Tanh;
};
struct LSTMCellOptions {  // LSTMCellOptions(8, 16).bias(false)
  using Self = LSTMCellOptions;
  CAKE_ARG(std::int64_t, input_size) = 0;
  CAKE_ARG(std::int64_t, hidden_size) = 0;
  CAKE_ARG(bool, bias) = true;
};
using GRUCellOptions = LSTMCellOptions;

namespace functional {

// One step of each cell, as libtorch's torch::rnn_tanh_cell, ... (biases may be undefined):
// input [B, in] or [in], states [B, H] or [H], w_ih [G H, in], w_hh [G H, H], b_ih, b_hh [G H].
// Returns h' (and c' for the LSTM).
Tensor rnn_tanh_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = {}, const Tensor& b_hh = {});
Tensor rnn_relu_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = {}, const Tensor& b_hh = {});
std::tuple<Tensor, Tensor> lstm_cell(const Tensor& input, const Tensor& hx, const Tensor& cx, const Tensor& w_ih,
                                     const Tensor& w_hh, const Tensor& b_ih = {}, const Tensor& b_hh = {});
Tensor gru_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih = {},
                const Tensor& b_hh = {});

// The whole multi-layer network over a sequence, as libtorch's torch::lstm / torch::gru /
// torch::rnn_tanh / torch::rnn_relu: `params` is the flat list in PyTorch's order (per layer,
// per direction: w_ih, w_hh, then b_ih, b_hh if has_biases, then w_hr for an LSTM with
// projections), i.e. the layer's parameters(). lstm tells projections from the number of
// params, as torch.lstm does. States may be undefined (zeros). Returns (output, h_n) or
// (output, h_n, c_n).
struct RNNFuncOptions {  // RNNFuncOptions().num_layers(2).bidirectional(true)
  using Self = RNNFuncOptions;
  CAKE_ARG(bool, has_biases) = true;
  CAKE_ARG(std::int64_t, num_layers) = 1;
  CAKE_ARG(double, dropout) = 0.0;
  CAKE_ARG(bool, train) = false;  // dropout applies only when training
  CAKE_ARG(bool, bidirectional) = false;
  CAKE_ARG(bool, batch_first) = false;
};
std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& input, const Tensor& h0, const Tensor& c0,
                                        const std::vector<Tensor>& params, const RNNFuncOptions& options = {});
std::tuple<Tensor, Tensor> gru(const Tensor& input, const Tensor& h0, const std::vector<Tensor>& params,
                               const RNNFuncOptions& options = {});
std::tuple<Tensor, Tensor> rnn_tanh(const Tensor& input, const Tensor& h0, const std::vector<Tensor>& params,
                                    const RNNFuncOptions& options = {});
std::tuple<Tensor, Tensor> rnn_relu(const Tensor& input, const Tensor& h0, const std::vector<Tensor>& params,
                                    const RNNFuncOptions& options = {});

// The same over a packed sequence's rows, as libtorch's torch::lstm(data, batch_sizes, ...):
// data [N, in], batch_sizes 1-D int64 on the CPU (NOTE [ The packed layout ] in nn/utils.h),
// states in the packed batch's sorted order (the layers' forward_with_packed_input permute
// them); batch_first does not apply. Returns the output rows [N, D H] and the states.
std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& data, const Tensor& batch_sizes, const Tensor& h0,
                                        const Tensor& c0, const std::vector<Tensor>& params,
                                        const RNNFuncOptions& options = {});
std::tuple<Tensor, Tensor> gru(const Tensor& data, const Tensor& batch_sizes, const Tensor& h0,
                               const std::vector<Tensor>& params, const RNNFuncOptions& options = {});
std::tuple<Tensor, Tensor> rnn_tanh(const Tensor& data, const Tensor& batch_sizes, const Tensor& h0,
                                    const std::vector<Tensor>& params, const RNNFuncOptions& options = {});
std::tuple<Tensor, Tensor> rnn_relu(const Tensor& data, const Tensor& batch_sizes, const Tensor& h0,
                                    const std::vector<Tensor>& params, const RNNFuncOptions& options = {});

}  // namespace functional

// Which recurrence a layer or cell runs.
enum class RecurrentMode { RNNTanh, RNNReLU, LSTM, GRU };

// What RNN, LSTM and GRU share: the stacked, possibly bidirectional network, its parameters and
// the single-tensor forward (see the NOTE at the top of the file).
class RNNBase : public Module {
 public:
  // Runs from a zero state and returns the output sequence only (for Sequential and Module&).
  Tensor forward(const Tensor& input) override;
  // Every weight and bias in PyTorch's order (per layer, per direction: w_ih, w_hh, b_ih, b_hh,
  // w_hr).
  std::vector<Tensor> all_weights() const { return flat_weights_; }
  // Draws every parameter again from U(-1/sqrt(hidden), 1/sqrt(hidden)).
  void reset_parameters();
  // libtorch's (and PyTorch's) call to compact the weights for cuDNN; the weights here are
  // separate tensors already, so there is nothing to do.
  void flatten_parameters() {}
  std::string extra_repr() const override;

  // The configuration the layer was built with (options in the derived class say the same).
  struct Layout {
    RecurrentMode mode = RecurrentMode::RNNTanh;
    std::int64_t input_size = 0, hidden_size = 0, num_layers = 1;
    bool bias = true, batch_first = false, bidirectional = false;
    double dropout = 0.0;
    std::int64_t proj_size = 0;  // the LSTM's only
  };
  const Layout& layout() const { return layout_; }

 protected:
  RNNBase() = default;  // for the holders' empty handles
  RNNBase(const Layout& layout, const char* name);
  // (output, h_n, c_n) for input and states (undefined: zeros); c0 and c_n only for the LSTM.
  std::tuple<Tensor, Tensor, Tensor> run(const Tensor& input, const Tensor& h0, const Tensor& c0);
  // The same over a packed input; the output is packed as the input, the states in the caller's order.
  std::tuple<utils::rnn::PackedSequence, Tensor, Tensor> run_packed(const utils::rnn::PackedSequence& input,
                                                                     const Tensor& h0, const Tensor& c0);

 private:
  Layout layout_;
  std::vector<Tensor> flat_weights_;
};

// The Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).
class RNN : public RNNBase, public Holder<RNN> {
 public:
  explicit RNN(const RNNOptions& options);
  RNN(std::int64_t input_size, std::int64_t hidden_size) : RNN(RNNOptions(input_size, hidden_size)) {}
  CAKE_HOLDER_CONSTRUCTORS(RNN)
  // (output, h_n): output [T, B, D H] (batch-first: [B, T, D H]), h_n [L D, B, H]; hx = h_0.
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {});
  // (output, h_n) over a packed batch: output packed as the input, data [N, D H]; hx and h_n
  // [L D, B, H] in the caller's order (see "Packed input" at the top of the file).
  std::tuple<utils::rnn::PackedSequence, Tensor> forward_with_packed_input(
      const utils::rnn::PackedSequence& packed_input, const Tensor& hx = {});
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<RNN>(options)); }
  std::string name() const override { return "RNN"; }

  RNNOptions options;
};

// The LSTM (Hochreiter & Schmidhuber 1997; forget gate: Gers et al. 2000).
class LSTM : public RNNBase, public Holder<LSTM> {
 public:
  explicit LSTM(const LSTMOptions& options);
  LSTM(std::int64_t input_size, std::int64_t hidden_size) : LSTM(LSTMOptions(input_size, hidden_size)) {}
  CAKE_HOLDER_CONSTRUCTORS(LSTM)
  // (output, (h_n, c_n)); hx = (h_0, c_0), both [L D, B, H], or nothing for zeros. With
  // proj_size P the output and h are [.., P] (output [T, B, D P]), c stays [L D, B, H].
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& input,
                                                         std::optional<std::tuple<Tensor, Tensor>> hx = {});
  // The same over a packed batch, as RNN's.
  std::tuple<utils::rnn::PackedSequence, std::tuple<Tensor, Tensor>> forward_with_packed_input(
      const utils::rnn::PackedSequence& packed_input, std::optional<std::tuple<Tensor, Tensor>> hx = {});
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<LSTM>(options)); }
  std::string name() const override { return "LSTM"; }

  LSTMOptions options;
};

// The GRU (Cho et al. 2014).
class GRU : public RNNBase, public Holder<GRU> {
 public:
  explicit GRU(const GRUOptions& options);
  GRU(std::int64_t input_size, std::int64_t hidden_size) : GRU(GRUOptions(input_size, hidden_size)) {}
  CAKE_HOLDER_CONSTRUCTORS(GRU)
  // (output, h_n), as RNN's.
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {});
  std::tuple<utils::rnn::PackedSequence, Tensor> forward_with_packed_input(
      const utils::rnn::PackedSequence& packed_input, const Tensor& hx = {});
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<GRU>(options)); }
  std::string name() const override { return "GRU"; }

  GRUOptions options;
};

// What the three cells share: one step of the recurrence, its four parameters and the
// single-tensor forward (a step from a zero state, returning h').
class RNNCellBase : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  void reset_parameters();
  std::string extra_repr() const override;

  std::int64_t input_size = 0, hidden_size = 0;
  Tensor weight_ih;  // [G H, input_size]
  Tensor weight_hh;  // [G H, H]
  Tensor bias_ih;    // [G H], undefined without bias
  Tensor bias_hh;    // [G H], undefined without bias

 protected:
  RNNCellBase() = default;  // for the holders' empty handles
  RNNCellBase(RecurrentMode mode, std::int64_t input_size, std::int64_t hidden_size, bool bias, const char* name);
  // (h', c') from input and states (undefined: zeros); c only for the LSTM cell.
  std::tuple<Tensor, Tensor> step(const Tensor& input, const Tensor& hx, const Tensor& cx);
  RecurrentMode mode_ = RecurrentMode::RNNTanh;
};

class RNNCell : public RNNCellBase, public Holder<RNNCell> {
 public:
  explicit RNNCell(const RNNCellOptions& options);
  RNNCell(std::int64_t input_size, std::int64_t hidden_size) : RNNCell(RNNCellOptions(input_size, hidden_size)) {}
  CAKE_HOLDER_CONSTRUCTORS(RNNCell)
  // h' [B, H] (or [H] for an unbatched input [in]); hx = h, zeros when undefined.
  Tensor forward(const Tensor& input, const Tensor& hx = {});
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<RNNCell>(options)); }
  std::string name() const override { return "RNNCell"; }

  RNNCellOptions options;
};

class LSTMCell : public RNNCellBase, public Holder<LSTMCell> {
 public:
  explicit LSTMCell(const LSTMCellOptions& options);
  LSTMCell(std::int64_t input_size, std::int64_t hidden_size) : LSTMCell(LSTMCellOptions(input_size, hidden_size)) {}
  CAKE_HOLDER_CONSTRUCTORS(LSTMCell)
  // (h', c'); hx = (h, c), zeros when absent.
  std::tuple<Tensor, Tensor> forward(const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx = {});
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<LSTMCell>(options)); }
  std::string name() const override { return "LSTMCell"; }

  LSTMCellOptions options;
};

class GRUCell : public RNNCellBase, public Holder<GRUCell> {
 public:
  explicit GRUCell(const GRUCellOptions& options);
  GRUCell(std::int64_t input_size, std::int64_t hidden_size) : GRUCell(GRUCellOptions(input_size, hidden_size)) {}
  CAKE_HOLDER_CONSTRUCTORS(GRUCell)
  // h'; hx = h, zeros when undefined.
  Tensor forward(const Tensor& input, const Tensor& hx = {});
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<GRUCell>(options)); }
  std::string name() const override { return "GRUCell"; }

  GRUCellOptions options;
};

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using RNNImpl = RNN;
using LSTMImpl = LSTM;
using GRUImpl = GRU;
using RNNCellImpl = RNNCell;
using LSTMCellImpl = LSTMCell;
using GRUCellImpl = GRUCell;

}  // namespace cake::nn

namespace cake {
// libtorch's spellings of the Elman RNN's activations: RNNOptions(8, 16).nonlinearity(cake::kReLU).
inline constexpr nn::RNNNonlinearity kTanh = nn::RNNNonlinearity::Tanh;
inline constexpr nn::RNNNonlinearity kReLU = nn::RNNNonlinearity::ReLU;
}  // namespace cake
