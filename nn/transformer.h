// transformer.h: the Transformer of Vaswani et al. 2017 (NeurIPS, "Attention Is All You Need"),
// as libtorch has it: nn::TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer,
// TransformerDecoder and Transformer, with PyTorch's options, argument order, mask conventions,
// parameter names and initialisation. Built from existing differentiable ops (linear, the
// multi-head attention of nn/attention.h, layer_norm, relu/gelu, dropout, add), so gradients
// and every backend come with them.
//
//   namespace nn = cake::nn;
//   nn::TransformerEncoderLayer layer(nn::TransformerEncoderLayerOptions(16, 4).dim_feedforward(32).dropout(0.0));
//   nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(layer, 2).norm(nn::LayerNorm(nn::LayerNormOptions({16}))));
//   cake::Tensor memory = encoder(src);                       // src [S, N, 16] -> [S, N, 16]
//   cake::Tensor causal_memory = encoder(src, nn::Transformer::generate_square_subsequent_mask(src.size(0)));
//   cake::Tensor padded = encoder->forward(src, {}, pad);     // pad [N, S] bool: true = ignore that key
//   nn::Transformer model(nn::TransformerOptions(16, 4).num_encoder_layers(2).num_decoder_layers(2)
//                             .dim_feedforward(32).activation(cake::kGELU));
//   cake::Tensor causal = nn::Transformer::generate_square_subsequent_mask(tgt.size(0));
//   cake::Tensor out = model->forward(src, tgt, {}, causal);  // tgt [T, N, 16] -> [T, N, 16]
//   nn::Transformer custom(nn::TransformerOptions(16, 4).custom_encoder(nn::AnyModule(encoder)));  // as libtorch
//
// Shapes are sequence-first, as libtorch: src [S, N, E], tgt [T, N, E], memory [S, N, E]
// (E = d_model); with batch_first (PyTorch Python's option, off by default) [N, S, E]. A layer
// also takes an unbatched [S, E].
//
// The blocks (section 3.1): an encoder layer is self-attention, then a position-wise
// feed-forward network (section 3.3: FFN(x) = act(x W_1 + b_1) W_2 + b_2, act = relu in the
// paper, gelu as an option); a decoder layer puts attention over the encoder's output (the
// "memory") between the two. Each sub-layer is wrapped in a residual connection and layer
// normalisation. Post-norm, the paper's and PyTorch's default:
//   x = norm1(x + dropout1(self_attn(x)))
//   x = norm2(x + dropout2(ff(x)))          (decoder: norm2 after cross-attention, norm3 after ff)
// With norm_first (pre-norm, Xiong et al. 2020, "On Layer Normalization in the Transformer
// Architecture"): x = x + dropout1(self_attn(norm1(x))), and so on.
// Dropout (section 5.4, "residual dropout") is applied to each sub-layer's output before it is
// added to its input; PyTorch also drops inside the feed-forward block (after the activation)
// and the attention weights, and so does this file, all with the one `dropout` rate.
//
// Masks, as PyTorch's (both kinds may be given; they add up):
//   attention masks (src_mask, tgt_mask, memory_mask) [L, S] (queries x keys), or
//   [N * nhead, L, S] per batch row and head: float, added to the attention logits (-inf
//   forbids), or bool, true = may not attend;
//   key padding masks [N, S]: bool, true = this key is padding (ignored by every query), or
//   float, added.
// A query whose every key is masked gets NaN, as in PyTorch.
//
// Parameter names are PyTorch's state-dict names, so a state dict saved by PyTorch loads name
// for name (after converting its file, e.g. to safetensors): the layers' attention is a
// PackedMultiheadAttention, which keeps PyTorch's packed in-projection
//   self_attn.in_proj_weight [3E, E] (rows: W_q, W_k, W_v), self_attn.in_proj_bias [3E],
//   self_attn.out_proj.weight [E, E], self_attn.out_proj.bias [E]
// (decoder: multihead_attn.* the same), then linear1, linear2, norm1, norm2 (norm3), and for
// the stacks layers.0.<...>, ..., norm.weight, norm.bias; the Transformer prefixes encoder. and
// decoder. (Cake's own nn::MultiheadAttention keeps q_proj, k_proj, v_proj instead:
// in_proj_weight is their three weights stacked row-wise.)
//
// Initialisation, as PyTorch's: the in-projection xavier_uniform_, its bias and out_proj.bias
// zero, out_proj.weight, linear1 and linear2 as nn::Linear, LayerNorms ones and zeros; the
// Transformer then redraws every parameter of two or more dims with xavier_uniform_.
//
// A custom encoder or decoder (TransformerOptions::custom_encoder / custom_decoder, an
// nn::AnyModule of any module) replaces the built-in stack, as in libtorch: the Transformer
// registers a deep copy (clone()) as "encoder" / "decoder", redraws its matrices with the
// rest (reset_parameters), and calls encoder.forward<Tensor>(src, src_mask,
// src_key_padding_mask) and decoder.forward<Tensor>(tgt, memory, tgt_mask, memory_mask,
// tgt_key_padding_mask, memory_key_padding_mask): its forward must take those tensors (an
// absent mask is an undefined Tensor) and return one.
//
// NOTE [ The single-tensor forward of the Transformer layers ]
// Module's virtual `Tensor forward(const Tensor&)` (what Sequential and a Module& call) is the
// encoder layer's and encoder's forward without masks; their masked form takes the mask as a
// second argument, so `layer(src)`, `layer(src, mask)` and `layer->forward(src, {}, pad)` all
// work as in libtorch. The decoder layer, decoder and Transformer need two sequences, so their
// forward hides the virtual, which throws as Module's does.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cake/nn/activation.h"
#include "cake/nn/any_module.h"
#include "cake/nn/attention.h"
#include "cake/nn/linear.h"
#include "cake/nn/module.h"
#include "cake/nn/normalization.h"
#include "cake/nn/options.h"
#include "cake/nn/rnn.h"  // cake::kReLU
#include "cake/nn/sequential.h"

namespace cake::nn {

// libtorch's kGELU tag (cake::kGELU, below); kReLU is the recurrent layers' constant.
struct GELUTag {};

// The feed-forward block's activation: cake::kReLU (the default), cake::kGELU (exact, erf form,
// as PyTorch's), or any function Tensor -> Tensor, as libtorch's TransformerActivation.
class TransformerActivation {
 public:
  TransformerActivation() = default;  // relu
  TransformerActivation(RNNNonlinearity relu);  // NOLINT: cake::kReLU (kTanh is refused, as PyTorch)
  TransformerActivation(GELUTag) : kind_(Kind::GELU) {}  // NOLINT: cake::kGELU
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, TransformerActivation> && std::invocable<const F&, const Tensor&> &&
             std::convertible_to<std::invoke_result_t<const F&, const Tensor&>, Tensor>)
  TransformerActivation(F function)  // NOLINT: [](const Tensor& x) { return x.tanh(); }
      : kind_(Kind::Custom), function_(std::make_shared<std::function<Tensor(const Tensor&)>>(std::move(function))) {}

  Tensor operator()(const Tensor& x) const;
  std::string name() const;  // "relu", "gelu" or "custom"
  bool is_relu() const { return kind_ == Kind::ReLU; }
  bool is_gelu() const { return kind_ == Kind::GELU; }

 private:
  enum class Kind { ReLU, GELU, Custom };
  Kind kind_ = Kind::ReLU;
  // Behind a shared_ptr so that the options that hold this stay standard-layout (offsetof).
  std::shared_ptr<std::function<Tensor(const Tensor&)>> function_;
};

// A shared_ptr<M> that an option can be given as anything that names a module: a shared_ptr, a
// built-in layer value (moved to the heap if it holds its layer, as register_module does), a
// CAKE_MODULE holder, or an AnyModule (an empty one is no module); libtorch's options take
// holders (and AnyModule for `norm`).
template <class M>
class SharedModule {
 public:
  SharedModule() = default;
  SharedModule(std::nullptr_t) {}  // NOLINT
  template <ModuleLike T>
    requires std::convertible_to<decltype(module_ptr(std::declval<T>())), std::shared_ptr<M>>
  SharedModule(T&& module) : module_(module_ptr(std::forward<T>(module))) {}  // NOLINT
  // libtorch's .norm(AnyModule(nn::LayerNorm(...))); throws if the module is not an M.
  SharedModule(const AnyModule& module) : module_(module.is_empty() ? nullptr : module.ptr<M>()) {}  // NOLINT

  M* operator->() const { return module_.get(); }
  M& operator*() const { return *module_; }
  M* get() const { return module_.get(); }
  const std::shared_ptr<M>& ptr() const { return module_; }
  bool is_empty() const { return module_ == nullptr; }
  explicit operator bool() const { return module_ != nullptr; }

 private:
  std::shared_ptr<M> module_;
};

// ---- options -------------------------------------------------------------------------------------

// TransformerEncoderLayerOptions(d_model, nhead).dim_feedforward(2048).dropout(0.1).activation(cake::kGELU)
struct TransformerEncoderLayerOptions {
  using Self = TransformerEncoderLayerOptions;
  CAKE_ARG(std::int64_t, d_model) = 0;
  CAKE_ARG(std::int64_t, nhead) = 1;
  CAKE_ARG(std::int64_t, dim_feedforward) = 2048;
  CAKE_ARG(double, dropout) = 0.1;
  CAKE_ARG(TransformerActivation, activation) = TransformerActivation();
  CAKE_ARG(double, layer_norm_eps) = 1e-5;  // PyTorch Python's options from here on
  CAKE_ARG(bool, batch_first) = false;      // [N, S, E] instead of [S, N, E]
  CAKE_ARG(bool, norm_first) = false;       // pre-norm instead of post-norm
};
using TransformerDecoderLayerOptions = TransformerEncoderLayerOptions;

// ---- the attention the layers hold ---------------------------------------------------------------

// Multi-head attention (nn/attention.h's functional::multi_head_attention) with PyTorch's
// parameter layout: one packed in-projection in_proj_weight [3E, E] (rows W_q, W_k, W_v) and
// in_proj_bias [3E], and out_proj; dropout on the attention weights in training. Batch-first,
// as Cake's MultiheadAttention; the layers below transpose sequence-first inputs.
class PackedMultiheadAttention : public Module, public Holder<PackedMultiheadAttention> {
 public:
  PackedMultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, double dropout = 0.0);
  CAKE_HOLDER_CONSTRUCTORS(PackedMultiheadAttention)
  Tensor forward(const Tensor& x) override { return forward(x, x, x); }  // self-attention
  // query [B, Lq, E], key and value [B, Lk, E]; key_bias [B, Lk], attn_bias [Lq, Lk] or
  // [B * H, Lq, Lk], both additive (see functional::multi_head_attention).
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& key_bias = {},
                 const Tensor& attn_bias = {});
  // (output, attention weights), PyTorch's forward with need_weights: the weights [B, Lq, Lk]
  // averaged over heads, or [B, H, Lq, Lk]; in training, after the attention dropout, as
  // PyTorch returns them (see NOTE [ Attention weights as an output ] in nn/attention.h).
  std::tuple<Tensor, Tensor> forward_with_attn_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                                       const Tensor& key_bias = {}, const Tensor& attn_bias = {},
                                                       bool average_attn_weights = true);
  // xavier_uniform_ on in_proj_weight, zero biases, out_proj.weight as nn::Linear.
  void reset_parameters();
  // The projections as views of the packed parameters (q, k, v: rows 0, E, 2E of in_proj).
  functional::AttentionWeights weights() const;
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<PackedMultiheadAttention>(embed_dim, num_heads, dropout));
  }
  std::string name() const override { return "MultiheadAttention"; }
  std::string extra_repr() const override;

  std::int64_t embed_dim = 0, num_heads = 1;
  double dropout = 0.0;
  Tensor in_proj_weight;  // [3E, E]
  Tensor in_proj_bias;    // [3E]
  std::shared_ptr<Linear> out_proj;
};

// ---- the layers ----------------------------------------------------------------------------------

// Self-attention, then the feed-forward block, each with a residual connection and LayerNorm
// (section 3.1, "Encoder").
class TransformerEncoderLayer : public Module, public Holder<TransformerEncoderLayer> {
 public:
  explicit TransformerEncoderLayer(const TransformerEncoderLayerOptions& options);
  TransformerEncoderLayer(std::int64_t d_model, std::int64_t nhead)
      : TransformerEncoderLayer(TransformerEncoderLayerOptions(d_model, nhead)) {}
  CAKE_HOLDER_CONSTRUCTORS(TransformerEncoderLayer)
  // src [S, N, E] -> [S, N, E]; src_mask [S, S] (or [N * nhead, S, S]), src_key_padding_mask
  // [N, S] (see the top of the file).
  Tensor forward(const Tensor& src) override { return forward(src, {}, {}); }
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = {});
  void reset_parameters();
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<TransformerEncoderLayer>(options));
  }
  std::string name() const override { return "TransformerEncoderLayer"; }

  TransformerEncoderLayerOptions options;
  std::shared_ptr<PackedMultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;  // d_model -> dim_feedforward -> d_model
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;  // inside ff; after self_attn; after ff
  std::shared_ptr<LayerNorm> norm1, norm2;
};

// Self-attention (masked, so position t sees only 0..t), attention over the encoder's output,
// then the feed-forward block (section 3.1, "Decoder").
class TransformerDecoderLayer : public Module, public Holder<TransformerDecoderLayer> {
 public:
  explicit TransformerDecoderLayer(const TransformerDecoderLayerOptions& options);
  TransformerDecoderLayer(std::int64_t d_model, std::int64_t nhead)
      : TransformerDecoderLayer(TransformerDecoderLayerOptions(d_model, nhead)) {}
  CAKE_HOLDER_CONSTRUCTORS(TransformerDecoderLayer)
  // tgt [T, N, E], memory [S, N, E] -> [T, N, E]; tgt_mask [T, T], memory_mask [T, S],
  // tgt_key_padding_mask [N, T], memory_key_padding_mask [N, S].
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {});
  void reset_parameters();
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<TransformerDecoderLayer>(options));
  }
  std::string name() const override { return "TransformerDecoderLayer"; }

  TransformerDecoderLayerOptions options;
  std::shared_ptr<PackedMultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2, dropout3;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;
};

// ---- the stacks ----------------------------------------------------------------------------------

// TransformerEncoderOptions(encoder_layer, num_layers).norm(nn::LayerNorm(nn::LayerNormOptions({E}))):
// num_layers deep copies (clone()) of encoder_layer, and an optional final norm (cloned too):
// any module with a single-tensor forward, given as a value, a shared_ptr or an AnyModule.
struct TransformerEncoderOptions {
  using Self = TransformerEncoderOptions;
  CAKE_ARG(SharedModule<TransformerEncoderLayer>, encoder_layer) = nullptr;
  CAKE_ARG(std::int64_t, num_layers) = 1;
  CAKE_ARG(SharedModule<Module>, norm) = nullptr;
};
struct TransformerDecoderOptions {  // TransformerDecoderOptions(decoder_layer, num_layers).norm(...)
  using Self = TransformerDecoderOptions;
  CAKE_ARG(SharedModule<TransformerDecoderLayer>, decoder_layer) = nullptr;
  CAKE_ARG(std::int64_t, num_layers) = 1;
  CAKE_ARG(SharedModule<Module>, norm) = nullptr;
};

// N encoder layers in sequence (section 3.1: N = 6 in the paper), then `norm` if given.
class TransformerEncoder : public Module, public Holder<TransformerEncoder> {
 public:
  explicit TransformerEncoder(const TransformerEncoderOptions& options);
  CAKE_HOLDER_CONSTRUCTORS(TransformerEncoder)
  Tensor forward(const Tensor& src) override { return forward(src, {}, {}); }
  Tensor forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask = {});
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<TransformerEncoder>(options));
  }
  std::string name() const override { return "TransformerEncoder"; }

  TransformerEncoderOptions options;
  std::shared_ptr<ModuleList> layers;                           // "layers.0", "layers.1", ...
  std::vector<std::shared_ptr<TransformerEncoderLayer>> stack;  // the same layers, typed
  std::shared_ptr<Module> norm;                                 // null without a final norm
};

// N decoder layers in sequence, each attending to the same memory, then `norm` if given.
class TransformerDecoder : public Module, public Holder<TransformerDecoder> {
 public:
  explicit TransformerDecoder(const TransformerDecoderOptions& options);
  CAKE_HOLDER_CONSTRUCTORS(TransformerDecoder)
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {}, const Tensor& memory_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {});
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<TransformerDecoder>(options));
  }
  std::string name() const override { return "TransformerDecoder"; }

  TransformerDecoderOptions options;
  std::shared_ptr<ModuleList> layers;
  std::vector<std::shared_ptr<TransformerDecoderLayer>> stack;
  std::shared_ptr<Module> norm;
};

// ---- the whole model -----------------------------------------------------------------------------

// TransformerOptions().d_model(512).nhead(8).num_encoder_layers(6).num_decoder_layers(6)
// .dim_feedforward(2048).dropout(0.1), or positionally TransformerOptions(d_model, nhead,
// num_encoder_layers, num_decoder_layers). The defaults are the paper's base model (Table 3).
// .custom_encoder(AnyModule(...)) / .custom_decoder(AnyModule(...)) replace a built-in stack
// (see the top of the file); the layer options then only shape the other one.
struct TransformerOptions {
  using Self = TransformerOptions;
  CAKE_ARG(std::int64_t, d_model) = 512;
  CAKE_ARG(std::int64_t, nhead) = 8;
  CAKE_ARG(std::int64_t, num_encoder_layers) = 6;
  CAKE_ARG(std::int64_t, num_decoder_layers) = 6;
  CAKE_ARG(std::int64_t, dim_feedforward) = 2048;
  CAKE_ARG(double, dropout) = 0.1;
  CAKE_ARG(TransformerActivation, activation) = TransformerActivation();
  CAKE_ARG(double, layer_norm_eps) = 1e-5;  // PyTorch Python's options from here on
  CAKE_ARG(bool, batch_first) = false;
  CAKE_ARG(bool, norm_first) = false;
  CAKE_ARG(AnyModule, custom_encoder) = AnyModule();  // libtorch's options; empty: the built-in stack
  CAKE_ARG(AnyModule, custom_decoder) = AnyModule();
};

// The encoder-decoder model of Figure 1: encoder (with a final LayerNorm) over src, decoder
// (with a final LayerNorm) over tgt attending to the encoder's output. Embeddings, positional
// encodings and the output projection are the caller's, as in PyTorch.
class Transformer : public Module, public Holder<Transformer> {
 public:
  explicit Transformer(const TransformerOptions& options = {});
  CAKE_HOLDER_CONSTRUCTORS(Transformer)
  // src [S, N, E], tgt [T, N, E] -> [T, N, E]; the masks as the layers' (src_mask [S, S],
  // tgt_mask [T, T], memory_mask [T, S], key padding masks [N, S], [N, T], [N, S]).
  Tensor forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask = {}, const Tensor& tgt_mask = {},
                 const Tensor& memory_mask = {}, const Tensor& src_key_padding_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {});
  // xavier_uniform_ on every parameter with two or more dims, as PyTorch's nn.Transformer.
  void reset_parameters();
  // The causal mask [size, size], float32: 0 on and below the diagonal, -inf above, so that
  // position i attends to positions 0..i only (section 3.2.3).
  static Tensor generate_square_subsequent_mask(std::int64_t size);
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<Transformer>(options)); }
  std::string name() const override { return "Transformer"; }

  TransformerOptions options;
  // What forward calls, registered as "encoder" and "decoder" (libtorch's encoder and decoder):
  // the built-in stacks, or copies of the custom modules.
  AnyModule encoder_module, decoder_module;
  // The same modules as their types; null when a custom module is of another type.
  std::shared_ptr<TransformerEncoder> encoder;
  std::shared_ptr<TransformerDecoder> decoder;
};

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using TransformerEncoderLayerImpl = TransformerEncoderLayer;
using TransformerDecoderLayerImpl = TransformerDecoderLayer;
using TransformerEncoderImpl = TransformerEncoder;
using TransformerDecoderImpl = TransformerDecoder;
using TransformerImpl = Transformer;

}  // namespace cake::nn

namespace cake {
// libtorch's spelling of the GELU activation: TransformerEncoderLayerOptions(8, 2).activation(cake::kGELU).
inline constexpr nn::GELUTag kGELU{};
}  // namespace cake
