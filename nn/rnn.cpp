// Recurrent layers and cells (nn/rnn.h): the Elman RNN, the LSTM (Hochreiter & Schmidhuber
// 1997, forget gate of Gers et al. 2000) and the GRU (Cho et al. 2014), composed of linear,
// sigmoid, tanh, relu, elementwise arithmetic, stack and cat, so autograd and every backend
// come with those ops.
//
// The layout of the work: a *step* turns the two projections gi = W_ih x_t + b_ih and
// gh = W_hh h_{t-1} + b_hh into the next state; a *direction* runs the steps of one layer over
// the sequence, with all the gi computed up front in one GEMM; the *network* stacks layers and
// directions. The cells are one step with both projections computed on the spot. A packed input
// runs through the same direction loop: only where its steps lie and how many rows each step
// takes differ (Steps, below).
#include "cake/nn/rnn.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"
#include "cake/nn/init.h"
#include "cake/tensor/creation.h"

namespace cake::nn {

namespace {

using Mode = RecurrentMode;

// Gates stacked in the rows of each weight: the LSTM's i, f, g, o; the GRU's r, z, n.
std::int64_t gate_count(Mode mode) {
  switch (mode) {
    case Mode::LSTM: return 4;
    case Mode::GRU: return 3;
    default: return 1;
  }
}

// The recurrent state: h, and c for the LSTM (undefined otherwise).
struct State {
  Tensor h, c;
};

// One layer-direction's (or one cell's) parameters; the biases may be undefined, and w_hr is
// defined only for an LSTM with projections.
struct Weights {
  Tensor w_ih, w_hh, b_ih, b_hh, w_hr;
};

// ---- one step, from the two projections ------------------------------------------------------
// gi and gh hold the G gates side by side in their last dim ([..., G H]); chunk cuts them into
// views, so no gate is copied out.

// h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).
Tensor elman_step(Mode mode, const Tensor& gi, const Tensor& gh) {
  const Tensor pre = gi + gh;
  return mode == Mode::RNNReLU ? pre.relu() : pre.tanh();
}

// i, f, o = sigma(.), g = tanh(.) of gi + gh; c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t),
// projected to h_t = W_hr (o * tanh(c_t)) when w_hr is defined (LSTMP, Sak et al. 2014).
State lstm_step(const Tensor& gi, const Tensor& gh, const Tensor& c, const Tensor& w_hr) {
  const std::vector<Tensor> gates = (gi + gh).chunk(4, -1);
  const Tensor i = gates[0].sigmoid(), f = gates[1].sigmoid(), g = gates[2].tanh(), o = gates[3].sigmoid();
  Tensor c_next = f * c + i * g;
  Tensor h_next = o * c_next.tanh();
  if (w_hr.defined()) h_next = functional::linear(h_next, w_hr);
  return {std::move(h_next), std::move(c_next)};
}

// r, z = sigma(gi + gh) for their gates; n = tanh(gi_n + r * gh_n); h_t = (1 - z) * n + z * h.
// gi and gh cannot be summed first as for the LSTM: the reset gate scales only gh_n (which
// includes b_hn, which is why PyTorch keeps b_ih and b_hh apart).
Tensor gru_step(const Tensor& gi, const Tensor& gh, const Tensor& h) {
  const std::vector<Tensor> in = gi.chunk(3, -1), hid = gh.chunk(3, -1);
  const Tensor r = (in[0] + hid[0]).sigmoid();
  const Tensor z = (in[1] + hid[1]).sigmoid();
  const Tensor n = (in[2] + r * hid[2]).tanh();
  return n + z * (h - n);  // = (1 - z) * n + z * h, with one op fewer
}

State step(Mode mode, const Tensor& gi, const Tensor& gh, const State& state, const Tensor& w_hr = {}) {
  switch (mode) {
    case Mode::LSTM: return lstm_step(gi, gh, state.c, w_hr);
    case Mode::GRU: return {gru_step(gi, gh, state.h), {}};
    default: return {elman_step(mode, gi, gh), {}};
  }
}

// ---- checks ----------------------------------------------------------------------------------

// A tensor's shape for a message, also when it is undefined.
std::string shape_of(const Tensor& t) { return t.defined() ? shape_str(t.sizes()) : std::string("undefined"); }

// The state, or zeros of `shape` when undefined; a defined state must have that shape.
Tensor state_or_zeros(const std::string& who, const char* what, const Tensor& state, const Shape& shape,
                      const Tensor& input) {
  if (!state.defined()) return zeros(shape, {input.dtype(), input.device()});
  CAKE_CHECK(state.sizes() == shape, who, ": ", what, " has shape ", state.sizes(), ", expected ", shape);
  return state;
}

// A cell's (or a layer-direction's) weights: w_ih [G H, in], w_hh [G H, H], biases [G H] or
// undefined; with a projection w_hr [P, H], w_hh [G H, P]. Returns H.
std::int64_t check_weights(const std::string& who, Mode mode, const Weights& w, const std::string& which = "") {
  const std::int64_t gates = gate_count(mode);
  if (w.w_hr.defined()) {
    CAKE_CHECK(w.w_hr.dim() == 2, who, ": w_hr", which, " must be [proj_size, hidden_size], got shape ",
               w.w_hr.sizes());
    const Shape expected{gates * w.w_hr.size(1), w.w_hr.size(0)};
    CAKE_CHECK(w.w_hh.defined() && w.w_hh.sizes() == expected, who, ": w_hh",
               which, " must be [", gates, " * hidden_size, proj_size] = [", gates * w.w_hr.size(1), ", ",
               w.w_hr.size(0), "] (w_hr is [proj_size, hidden_size] = ", w.w_hr.sizes(), "), got shape ",
               shape_of(w.w_hh));
  } else {
    CAKE_CHECK(w.w_hh.defined() && w.w_hh.dim() == 2 && w.w_hh.size(0) == gates * w.w_hh.size(1), who, ": w_hh",
               which, " must be [", gates, " * hidden_size, hidden_size], got shape ", shape_of(w.w_hh));
  }
  const std::int64_t hidden = w.w_hh.size(0) / gates;
  CAKE_CHECK(w.w_ih.defined() && w.w_ih.dim() == 2 && w.w_ih.size(0) == gates * hidden, who, ": w_ih", which,
             " must be [", gates * hidden, ", input_size] (", gates, " gates of hidden_size ", hidden,
             "), got shape ", shape_of(w.w_ih));
  for (const Tensor* b : {&w.b_ih, &w.b_hh}) {
    CAKE_CHECK(!b->defined() || b->sizes() == Shape{gates * hidden}, who, ": biases", which, " must be [",
               gates * hidden, "], got shape ", b->sizes());
  }
  return hidden;
}

// ---- one cell step ---------------------------------------------------------------------------

// input [B, in] or [in]; states [B, H] or [H] (undefined: zeros).
State run_cell(const std::string& who, Mode mode, const Tensor& input, State state, const Weights& w) {
  const std::int64_t hidden = check_weights(who, mode, w);
  const std::int64_t in = w.w_ih.size(1);
  CAKE_CHECK(input.dim() == 1 || input.dim() == 2, who, ": expected input [batch, ", in, "] or unbatched [", in,
             "], got shape ", input.sizes());
  if (input.size(-1) != in) {
    Shape expected = input.sizes();
    expected.back() = in;
    CAKE_FAIL(who, ": input has shape ", input.sizes(), ", expected ", expected, " (input_size = ", in, ")");
  }
  Shape state_shape = input.sizes();
  state_shape.back() = hidden;
  state.h = state_or_zeros(who, "hx", state.h, state_shape, input);
  if (mode == Mode::LSTM) state.c = state_or_zeros(who, "cx", state.c, state_shape, input);
  return step(mode, functional::linear(input, w.w_ih, w.b_ih), functional::linear(state.h, w.w_hh, w.b_hh), state);
}

// ---- one layer in one direction --------------------------------------------------------------

// x's slices along `dim`, each with that dim dropped. split records one autograd node whose
// backward is one cat; unbind would record a select per step, each of whose gradients is a
// zero tensor as large as x.
std::vector<Tensor> time_steps(const Tensor& x, std::int64_t dim) {
  std::vector<Tensor> steps = x.split(1, dim);
  for (Tensor& s : steps) s = s.squeeze(dim);
  return steps;
}

// Where the steps of a sequence lie in a layer's input and output. Padded: step t is index t
// along time_dim and holds the whole batch. Packed (NOTE [ The packed layout ] in nn/utils.h):
// step t is the next batch_sizes[t] rows, the first batch_sizes[t] sequences.
struct Steps {
  std::int64_t time_dim = 0;
  std::vector<std::int64_t> batch_sizes;  // packed only

  bool packed() const { return !batch_sizes.empty(); }
  std::vector<Tensor> split(const Tensor& x) const {
    return packed() ? x.split(batch_sizes, 0) : time_steps(x, time_dim);
  }
  Tensor join(const std::vector<Tensor>& steps) const { return packed() ? cat(steps, 0) : stack(steps, time_dim); }
};

// Rows [start, start + count) of a batched state, and states joined row-wise.
State rows_of(const State& s, std::int64_t start, std::int64_t count) {
  return {s.h.narrow(0, start, count), s.c.defined() ? s.c.narrow(0, start, count) : Tensor()};
}
State join_rows(const std::vector<State>& parts) {
  std::vector<Tensor> h, c;
  for (const State& p : parts) {
    h.push_back(p.h);
    if (p.c.defined()) c.push_back(p.c);
  }
  return {cat(h, 0), c.empty() ? Tensor() : cat(c, 0)};
}

// Packed input: the state for a step that runs the first `rows` sequences. Forward in time the
// batch shrinks as sequences end: the rows that leave hold the state after their last step,
// their h_n, kept in `ended`. Backward in time it grows as sequences begin at their own last
// step: the rows that join start from their initial state.
State fit_batch(const State& state, std::int64_t rows, const State& initial, std::vector<State>& ended) {
  const std::int64_t running = state.h.size(0);
  if (rows < running) {
    ended.push_back(rows_of(state, rows, running - rows));
    return rows_of(state, 0, rows);
  }
  if (rows > running) return join_rows({state, rows_of(initial, running, rows - running)});
  return state;
}

// Every sequence's state after its own last step, rows in batch order: those still running
// at the end, then those that ended earlier, latest first (a later end is a longer sequence,
// so an earlier row).
State last_states(State running, std::vector<State> ended) {
  if (ended.empty()) return running;
  ended.push_back(std::move(running));
  std::reverse(ended.begin(), ended.end());
  return join_rows(ended);
}

// Runs one layer in one direction over x (padded [T, B, in], [B, T, in] or [T, in], or packed
// rows [N, in]) from `initial`; returns every step's h (laid out as x, in time order also when
// running in reverse) and each sequence's state after its last step.
std::pair<Tensor, State> run_direction(Mode mode, const Tensor& x, const Steps& steps, const State& initial,
                                       const Weights& w, bool reverse) {
  // Every step's input projection in one GEMM: [rows, in] x [in, G H], rows = T B or N.
  Shape projected_shape = x.sizes();
  projected_shape.back() = w.w_ih.size(0);
  const Tensor projected = functional::linear(x.reshape({-1, x.size(-1)}), w.w_ih, w.b_ih).reshape(projected_shape);
  const std::vector<Tensor> gi = steps.split(projected);
  const auto count = static_cast<std::int64_t>(gi.size());
  auto time_of = [&](std::int64_t s) { return static_cast<std::size_t>(reverse ? count - 1 - s : s); };
  // Packed, the first step taken runs every sequence forward, only the longest ones in reverse.
  State state = steps.packed() ? rows_of(initial, 0, steps.batch_sizes[time_of(0)]) : initial;
  std::vector<State> ended;
  std::vector<Tensor> outputs(gi.size());
  for (std::int64_t s = 0; s < count; ++s) {
    const std::size_t t = time_of(s);
    if (steps.packed()) state = fit_batch(state, steps.batch_sizes[t], initial, ended);
    state = step(mode, gi[t], functional::linear(state.h, w.w_hh, w.b_hh), state, w.w_hr);
    outputs[t] = state.h;
  }
  return {steps.join(outputs), last_states(std::move(state), std::move(ended))};
}

// ---- the network -----------------------------------------------------------------------------

struct Network {
  Mode mode = Mode::RNNTanh;
  std::int64_t num_layers = 1;
  bool has_biases = true, bidirectional = false, batch_first = false, training = false;
  double dropout = 0.0;
};

// What the network runs over: a padded tensor ([T, B, in], [B, T, in] with batch_first, or
// unbatched [T, in]), or a packed sequence's rows [N, in] with its batch sizes and the
// permutation that sorted its batch (undefined when it came sorted).
struct Sequence {
  Tensor x;
  std::vector<std::int64_t> batch_sizes;  // packed only
  Tensor sorted_indices, unsorted_indices;

  static Sequence padded(const Tensor& x) {
    Sequence s;
    s.x = x;
    return s;
  }
  // The batch sizes are read onto the host: the step loop needs them there.
  static Sequence packed(const utils::rnn::PackedSequence& p) {
    const Tensor sizes = p.batch_sizes().contiguous();  // int64 on the CPU: the PackedSequence checked
    const std::int64_t* first = sizes.data_ptr<std::int64_t>();
    return {.x = p.data(),
            .batch_sizes = std::vector<std::int64_t>(first, first + sizes.numel()),
            .sorted_indices = p.sorted_indices(),
            .unsorted_indices = p.unsorted_indices()};
  }
};

const char* parameter_name(std::size_t k) {
  static const char* const names[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"};
  return names[k];
}

// Which parameters each layer-direction has, in PyTorch's order: w_ih, w_hh, then b_ih, b_hh
// with biases, then w_hr for an LSTM with projections. As torch.lstm does, the LSTM's
// projections are told from the number of parameters.
struct ParamLayout {
  std::size_t per_direction = 4;
  bool projections = false;
};

ParamLayout param_layout(const std::string& who, const Network& net, std::size_t count) {
  const std::int64_t directions = net.bidirectional ? 2 : 1;
  const std::size_t plain = net.has_biases ? 4 : 2;
  const auto slots = static_cast<std::size_t>(net.num_layers * directions);
  const bool projections = net.mode == Mode::LSTM && net.num_layers >= 1 && count == slots * (plain + 1);
  CAKE_CHECK(net.num_layers >= 1 && (count == slots * plain || projections), who, ": expected ", slots * plain,
             " parameters (", net.num_layers, " layers x ", directions, " directions x ", plain, ")",
             net.mode == Mode::LSTM ? ", or " + std::to_string(slots * (plain + 1)) + " with projections" : "",
             ", got ", count);
  return {projections ? plain + 1 : plain, projections};
}

// The checked weights of one layer-direction within PyTorch's flat list.
Weights weights_at(const std::string& who, const Network& net, const ParamLayout& layout,
                   const std::vector<Tensor>& params, std::int64_t layer, std::int64_t direction) {
  const std::size_t first =
      static_cast<std::size_t>(layer * (net.bidirectional ? 2 : 1) + direction) * layout.per_direction;
  Weights w{params[first], params[first + 1], {}, {}, {}};
  if (net.has_biases) {
    w.b_ih = params[first + 2];
    w.b_hh = params[first + 3];
  }
  if (layout.projections) w.w_hr = params[first + layout.per_direction - 1];
  CAKE_CHECK(w.w_ih.defined() && w.w_ih.dim() == 2 && w.w_hh.defined() && w.w_hh.dim() == 2, who,
             ": the weights must be matrices, got shapes ", shape_of(w.w_ih), " and ", shape_of(w.w_hh));
  const std::string which = std::string(" (params[") + std::to_string(first) + "...], layer " + std::to_string(layer) +
                            (direction == 1 ? ", reverse" : "") + ")";
  check_weights(who, net.mode, w, which);
  return w;
}

// A layer's input must be as wide as its w_ih: input_size for the first, D H (D P) above.
void check_input_width(const std::string& who, const Weights& w, std::int64_t layer, std::int64_t direction,
                       std::int64_t in) {
  CAKE_CHECK(w.w_ih.size(1) == in, who, ": ", parameter_name(0), "_l", layer, direction == 1 ? "_reverse" : "",
             " must be [", w.w_ih.size(0), ", ", in, "] (this layer's input width is ", in, "), got shape ",
             w.w_ih.sizes());
}

// Checks the input against input_size; returns where its steps lie and its batch size (-1 for
// an unbatched input).
std::pair<Steps, std::int64_t> steps_of(const std::string& who, const Sequence& input, bool batch_first,
                                        std::int64_t input_size) {
  const Tensor& x = input.x;
  if (!input.batch_sizes.empty()) {
    CAKE_CHECK(x.dim() == 2 && x.size(1) == input_size, who, ": expected packed data [N, ", input_size,
               "] (input_size = ", input_size, "), got shape ", x.sizes());
    return {Steps{0, input.batch_sizes}, input.batch_sizes.front()};
  }
  CAKE_CHECK(x.dim() == 2 || x.dim() == 3, who, ": expected input [T, B, ", input_size, "] ([B, T, ", input_size,
             "] with batch_first) or unbatched [T, ", input_size, "], got shape ", x.sizes());
  if (x.size(-1) != input_size) {
    Shape expected = x.sizes();
    expected.back() = input_size;
    CAKE_FAIL(who, ": input has shape ", x.sizes(), ", expected ", expected, " (input_size = ", input_size, ")");
  }
  const bool batched = x.dim() == 3;
  const std::int64_t time_dim = batched && batch_first ? 1 : 0;
  CAKE_CHECK(x.size(time_dim) >= 1, who, ": the sequence is empty (input shape ", x.sizes(),
             "); expected at least one time step");
  return {Steps{time_dim, {}}, batched ? x.size(1 - time_dim) : -1};
}

// A state's batch (dim 1) reordered by `permutation`, as PyTorch's permute_hidden; unchanged
// when there is none.
Tensor permute_batch(const Tensor& state, const Tensor& permutation) {
  return permutation.defined() && state.defined() ? state.index_select(1, permutation.to(state.device())) : state;
}

// (output, h_n, c_n) of the whole network; c0 and c_n only for the LSTM.
std::tuple<Tensor, Tensor, Tensor> run_network(const std::string& who, const Network& net, const Sequence& input,
                                               const Tensor& h0, const Tensor& c0, const std::vector<Tensor>& params) {
  const std::int64_t directions = net.bidirectional ? 2 : 1;
  const ParamLayout layout = param_layout(who, net, params.size());
  const Weights first = weights_at(who, net, layout, params, 0, 0);
  const std::int64_t hidden = check_weights(who, net.mode, first), state_width = first.w_hh.size(1);
  const auto [steps, batch] = steps_of(who, input, net.batch_first, first.w_ih.size(1));

  // States: h [L D, B, H] (P with projections), c [L D, B, H]; without the B for an unbatched
  // input. A packed batch is sorted: its states are taken into that order, and h_n back out.
  auto state_shape = [&](std::int64_t width) {
    return batch < 0 ? Shape{net.num_layers * directions, width} : Shape{net.num_layers * directions, batch, width};
  };
  const bool lstm = net.mode == Mode::LSTM;
  const Tensor h_all = state_or_zeros(who, "h_0", h0, state_shape(state_width), input.x);
  const Tensor c_all = lstm ? state_or_zeros(who, "c_0", c0, state_shape(hidden), input.x) : Tensor();
  const std::vector<Tensor> h_init = time_steps(permute_batch(h_all, input.sorted_indices), 0);
  const std::vector<Tensor> c_init = lstm ? time_steps(permute_batch(c_all, input.sorted_indices), 0)
                                          : std::vector<Tensor>{};

  Tensor x = input.x;
  std::vector<Tensor> h_n, c_n;
  for (std::int64_t layer = 0; layer < net.num_layers; ++layer) {
    // Dropout on each layer's output but the last, i.e. on the input of every layer above the first.
    if (layer > 0 && net.training && net.dropout > 0) x = functional::dropout(x, net.dropout, true);
    std::vector<Tensor> outputs;
    for (std::int64_t d = 0; d < directions; ++d) {
      const auto index = static_cast<std::size_t>(layer * directions + d);
      const Weights w = weights_at(who, net, layout, params, layer, d);
      check_input_width(who, w, layer, d, x.size(-1));
      auto [out, last] = run_direction(net.mode, x, steps, {h_init[index], lstm ? c_init[index] : Tensor()}, w,
                                       /*reverse=*/d == 1);
      outputs.push_back(std::move(out));
      h_n.push_back(last.h);
      if (lstm) c_n.push_back(last.c);
    }
    x = directions == 1 ? outputs[0] : cat(outputs, -1);  // [..., D H]: forward, then reverse
  }
  return {x, permute_batch(stack(h_n, 0), input.unsorted_indices),
          lstm ? permute_batch(stack(c_n, 0), input.unsorted_indices) : Tensor()};
}

Network network_of(const RNNBase::Layout& layout, bool training) {
  return {.mode = layout.mode,
          .num_layers = layout.num_layers,
          .has_biases = layout.bias,
          .bidirectional = layout.bidirectional,
          .batch_first = layout.batch_first,
          .training = training,
          .dropout = layout.dropout};
}

Network network_of(Mode mode, const functional::RNNFuncOptions& o) {
  return {.mode = mode,
          .num_layers = o.num_layers,
          .has_biases = o.has_biases,
          .bidirectional = o.bidirectional,
          .batch_first = o.batch_first,
          .training = o.train,
          .dropout = o.dropout};
}

}  // namespace

// ---- functional forms ----------------------------------------------------------------------------

namespace functional {

Tensor rnn_tanh_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  return run_cell("rnn_tanh_cell", Mode::RNNTanh, input, {hx, {}}, {w_ih, w_hh, b_ih, b_hh, {}}).h;
}
Tensor rnn_relu_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  return run_cell("rnn_relu_cell", Mode::RNNReLU, input, {hx, {}}, {w_ih, w_hh, b_ih, b_hh, {}}).h;
}
std::tuple<Tensor, Tensor> lstm_cell(const Tensor& input, const Tensor& hx, const Tensor& cx, const Tensor& w_ih,
                                     const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  State next = run_cell("lstm_cell", Mode::LSTM, input, {hx, cx}, {w_ih, w_hh, b_ih, b_hh, {}});
  return {next.h, next.c};
}
Tensor gru_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  return run_cell("gru_cell", Mode::GRU, input, {hx, {}}, {w_ih, w_hh, b_ih, b_hh, {}}).h;
}

std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& input, const Tensor& h0, const Tensor& c0,
                                        const std::vector<Tensor>& params, const RNNFuncOptions& options) {
  return run_network("lstm", network_of(Mode::LSTM, options), Sequence::padded(input), h0, c0, params);
}
std::tuple<Tensor, Tensor> gru(const Tensor& input, const Tensor& h0, const std::vector<Tensor>& params,
                               const RNNFuncOptions& options) {
  auto [output, h_n, unused] =
      run_network("gru", network_of(Mode::GRU, options), Sequence::padded(input), h0, {}, params);
  return {output, h_n};
}
std::tuple<Tensor, Tensor> rnn_tanh(const Tensor& input, const Tensor& h0, const std::vector<Tensor>& params,
                                    const RNNFuncOptions& options) {
  auto [output, h_n, unused] =
      run_network("rnn_tanh", network_of(Mode::RNNTanh, options), Sequence::padded(input), h0, {}, params);
  return {output, h_n};
}
std::tuple<Tensor, Tensor> rnn_relu(const Tensor& input, const Tensor& h0, const std::vector<Tensor>& params,
                                    const RNNFuncOptions& options) {
  auto [output, h_n, unused] =
      run_network("rnn_relu", network_of(Mode::RNNReLU, options), Sequence::padded(input), h0, {}, params);
  return {output, h_n};
}

// The packed forms: the PackedSequence constructor checks data against batch_sizes.
std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& data, const Tensor& batch_sizes, const Tensor& h0,
                                        const Tensor& c0, const std::vector<Tensor>& params,
                                        const RNNFuncOptions& options) {
  const auto input = Sequence::packed(utils::rnn::PackedSequence(data, batch_sizes));
  return run_network("lstm", network_of(Mode::LSTM, options), input, h0, c0, params);
}
std::tuple<Tensor, Tensor> gru(const Tensor& data, const Tensor& batch_sizes, const Tensor& h0,
                               const std::vector<Tensor>& params, const RNNFuncOptions& options) {
  const auto input = Sequence::packed(utils::rnn::PackedSequence(data, batch_sizes));
  auto [output, h_n, unused] = run_network("gru", network_of(Mode::GRU, options), input, h0, {}, params);
  return {output, h_n};
}
std::tuple<Tensor, Tensor> rnn_tanh(const Tensor& data, const Tensor& batch_sizes, const Tensor& h0,
                                    const std::vector<Tensor>& params, const RNNFuncOptions& options) {
  const auto input = Sequence::packed(utils::rnn::PackedSequence(data, batch_sizes));
  auto [output, h_n, unused] = run_network("rnn_tanh", network_of(Mode::RNNTanh, options), input, h0, {}, params);
  return {output, h_n};
}
std::tuple<Tensor, Tensor> rnn_relu(const Tensor& data, const Tensor& batch_sizes, const Tensor& h0,
                                    const std::vector<Tensor>& params, const RNNFuncOptions& options) {
  const auto input = Sequence::packed(utils::rnn::PackedSequence(data, batch_sizes));
  auto [output, h_n, unused] = run_network("rnn_relu", network_of(Mode::RNNReLU, options), input, h0, {}, params);
  return {output, h_n};
}

}  // namespace functional

// ---- RNN, LSTM, GRU ------------------------------------------------------------------------------

RNNBase::RNNBase(const Layout& layout, const char* name) : layout_(layout) {
  CAKE_CHECK(layout.input_size > 0 && layout.hidden_size > 0, name,
             ": input_size and hidden_size must be positive, got ", layout.input_size, " and ", layout.hidden_size);
  CAKE_CHECK(layout.num_layers >= 1, name, ": num_layers must be at least 1, got ", layout.num_layers);
  CAKE_CHECK(layout.dropout >= 0.0 && layout.dropout <= 1.0, name, ": dropout must be in [0, 1], got ", layout.dropout);
  CAKE_CHECK(layout.proj_size >= 0, name, ": proj_size must be positive, or 0 for no projections, got ",
             layout.proj_size);
  CAKE_CHECK(layout.proj_size < layout.hidden_size, name, ": proj_size must be smaller than hidden_size, got ",
             layout.proj_size, " and ", layout.hidden_size);
  const std::int64_t gates = gate_count(layout.mode), hidden = layout.hidden_size;
  const std::int64_t directions = layout.bidirectional ? 2 : 1;
  // The width of h, fed back through W_hh and passed up to the next layer.
  const std::int64_t state_width = layout.proj_size > 0 ? layout.proj_size : hidden;
  // PyTorch's names and order: per layer, per direction, w_ih, w_hh, b_ih, b_hh, w_hr.
  for (std::int64_t layer = 0; layer < layout.num_layers; ++layer) {
    const std::int64_t in = layer == 0 ? layout.input_size : directions * state_width;
    for (std::int64_t d = 0; d < directions; ++d) {
      const std::string suffix = "_l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
      flat_weights_.push_back(register_parameter(parameter_name(0) + suffix, empty({gates * hidden, in})));
      flat_weights_.push_back(register_parameter(parameter_name(1) + suffix, empty({gates * hidden, state_width})));
      if (layout.bias) {
        flat_weights_.push_back(register_parameter(parameter_name(2) + suffix, empty({gates * hidden})));
        flat_weights_.push_back(register_parameter(parameter_name(3) + suffix, empty({gates * hidden})));
      }
      if (layout.proj_size > 0) {
        flat_weights_.push_back(register_parameter(parameter_name(4) + suffix, empty({layout.proj_size, hidden})));
      }
    }
  }
  reset_parameters();
}

// U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as PyTorch's recurrent layers start.
void RNNBase::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(layout_.hidden_size));
  for (const Tensor& p : flat_weights_) init::uniform_(p, -bound, bound);
}

std::tuple<Tensor, Tensor, Tensor> RNNBase::run(const Tensor& input, const Tensor& h0, const Tensor& c0) {
  return run_network(name(), network_of(layout_, is_training()), Sequence::padded(input), h0, c0, flat_weights_);
}

std::tuple<utils::rnn::PackedSequence, Tensor, Tensor> RNNBase::run_packed(const utils::rnn::PackedSequence& input,
                                                                             const Tensor& h0, const Tensor& c0) {
  auto [output, h_n, c_n] =
      run_network(name(), network_of(layout_, is_training()), Sequence::packed(input), h0, c0, flat_weights_);
  return {utils::rnn::PackedSequence(output, input.batch_sizes(), input.sorted_indices(), input.unsorted_indices()),
          h_n, c_n};
}

// See NOTE [ The single-tensor forward of recurrent layers ] in rnn.h.
Tensor RNNBase::forward(const Tensor& input) { return std::get<0>(run(input, {}, {})); }

std::string RNNBase::extra_repr() const {
  std::ostringstream out;
  out << layout_.input_size << ", " << layout_.hidden_size;
  if (layout_.mode == Mode::RNNReLU) out << ", nonlinearity=relu";
  if (layout_.proj_size != 0) out << ", proj_size=" << layout_.proj_size;
  if (layout_.num_layers != 1) out << ", num_layers=" << layout_.num_layers;
  if (!layout_.bias) out << ", bias=false";
  if (layout_.batch_first) out << ", batch_first=true";
  if (layout_.dropout != 0.0) out << ", dropout=" << layout_.dropout;
  if (layout_.bidirectional) out << ", bidirectional=true";
  return out.str();
}

namespace {
template <class Options>
RNNBase::Layout layout_of(Mode mode, const Options& o) {
  RNNBase::Layout layout{.mode = mode,
                         .input_size = o.input_size,
                         .hidden_size = o.hidden_size,
                         .num_layers = o.num_layers,
                         .bias = o.bias,
                         .batch_first = o.batch_first,
                         .bidirectional = o.bidirectional,
                         .dropout = o.dropout};
  if constexpr (requires { o.proj_size; }) layout.proj_size = o.proj_size;
  return layout;
}
Mode rnn_mode(RNNNonlinearity nonlinearity) {
  return nonlinearity == RNNNonlinearity::ReLU ? Mode::RNNReLU : Mode::RNNTanh;
}
}  // namespace

RNN::RNN(const RNNOptions& o) : RNNBase(layout_of(rnn_mode(o.nonlinearity), o), "RNN"), options(o) {}

std::tuple<Tensor, Tensor> RNN::forward(const Tensor& input, const Tensor& hx) {
  auto [output, h_n, unused] = run(input, hx, {});
  return {output, h_n};
}

std::tuple<utils::rnn::PackedSequence, Tensor> RNN::forward_with_packed_input(
    const utils::rnn::PackedSequence& packed_input, const Tensor& hx) {
  auto [output, h_n, unused] = run_packed(packed_input, hx, {});
  return {output, h_n};
}

LSTM::LSTM(const LSTMOptions& o) : RNNBase(layout_of(Mode::LSTM, o), "LSTM"), options(o) {}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTM::forward(const Tensor& input,
                                                             std::optional<std::tuple<Tensor, Tensor>> hx) {
  const auto [h0, c0] = hx.value_or(std::tuple<Tensor, Tensor>{});
  auto [output, h_n, c_n] = run(input, h0, c0);
  return {output, {h_n, c_n}};
}

std::tuple<utils::rnn::PackedSequence, std::tuple<Tensor, Tensor>> LSTM::forward_with_packed_input(
    const utils::rnn::PackedSequence& packed_input, std::optional<std::tuple<Tensor, Tensor>> hx) {
  const auto [h0, c0] = hx.value_or(std::tuple<Tensor, Tensor>{});
  auto [output, h_n, c_n] = run_packed(packed_input, h0, c0);
  return {output, {h_n, c_n}};
}

GRU::GRU(const GRUOptions& o) : RNNBase(layout_of(Mode::GRU, o), "GRU"), options(o) {}

std::tuple<Tensor, Tensor> GRU::forward(const Tensor& input, const Tensor& hx) {
  auto [output, h_n, unused] = run(input, hx, {});
  return {output, h_n};
}

std::tuple<utils::rnn::PackedSequence, Tensor> GRU::forward_with_packed_input(
    const utils::rnn::PackedSequence& packed_input, const Tensor& hx) {
  auto [output, h_n, unused] = run_packed(packed_input, hx, {});
  return {output, h_n};
}

// ---- the cells -----------------------------------------------------------------------------------

RNNCellBase::RNNCellBase(Mode mode, std::int64_t input_size, std::int64_t hidden_size, bool bias, const char* name)
    : input_size(input_size), hidden_size(hidden_size), mode_(mode) {
  CAKE_CHECK(input_size > 0 && hidden_size > 0, name, ": input_size and hidden_size must be positive, got ", input_size,
             " and ", hidden_size);
  const std::int64_t rows = gate_count(mode) * hidden_size;
  weight_ih = register_parameter("weight_ih", empty({rows, input_size}));
  weight_hh = register_parameter("weight_hh", empty({rows, hidden_size}));
  if (bias) {
    bias_ih = register_parameter("bias_ih", empty({rows}));
    bias_hh = register_parameter("bias_hh", empty({rows}));
  }
  reset_parameters();
}

void RNNCellBase::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  for (const Tensor* p : {&weight_ih, &weight_hh, &bias_ih, &bias_hh}) {
    if (p->defined()) init::uniform_(*p, -bound, bound);
  }
}

std::tuple<Tensor, Tensor> RNNCellBase::step(const Tensor& input, const Tensor& hx, const Tensor& cx) {
  State next = run_cell(name(), mode_, input, {hx, cx}, {weight_ih, weight_hh, bias_ih, bias_hh, {}});
  return {next.h, next.c};
}

// See NOTE [ The single-tensor forward of recurrent layers ] in rnn.h: h' from a zero state.
Tensor RNNCellBase::forward(const Tensor& input) { return std::get<0>(step(input, {}, {})); }

std::string RNNCellBase::extra_repr() const {
  std::ostringstream out;
  out << input_size << ", " << hidden_size;
  if (!bias_ih.defined()) out << ", bias=false";
  if (mode_ == Mode::RNNReLU) out << ", nonlinearity=relu";
  return out.str();
}

RNNCell::RNNCell(const RNNCellOptions& o)
    : RNNCellBase(rnn_mode(o.nonlinearity), o.input_size, o.hidden_size, o.bias, "RNNCell"), options(o) {}

Tensor RNNCell::forward(const Tensor& input, const Tensor& hx) { return std::get<0>(step(input, hx, {})); }

LSTMCell::LSTMCell(const LSTMCellOptions& o)
    : RNNCellBase(Mode::LSTM, o.input_size, o.hidden_size, o.bias, "LSTMCell"), options(o) {}

std::tuple<Tensor, Tensor> LSTMCell::forward(const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx) {
  const auto [h, c] = hx.value_or(std::tuple<Tensor, Tensor>{});
  return step(input, h, c);
}

GRUCell::GRUCell(const GRUCellOptions& o)
    : RNNCellBase(Mode::GRU, o.input_size, o.hidden_size, o.bias, "GRUCell"), options(o) {}

Tensor GRUCell::forward(const Tensor& input, const Tensor& hx) { return std::get<0>(step(input, hx, {})); }

}  // namespace cake::nn
