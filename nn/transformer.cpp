// The Transformer layers (nn/transformer.h): Vaswani et al. 2017, "Attention Is All You Need",
// composed of linear, multi-head attention (nn/attention.h), layer_norm, the activation,
// dropout and additions, so autograd and every backend come with those ops.
//
// The layout of the work: each layer turns its sequence-first inputs into batch-first views
// (what functional::multi_head_attention takes; a transpose costs nothing), turns PyTorch's
// masks into additive biases on the attention logits, runs its sub-layers with their residual
// connections and norms, and transposes back.
#include "cake/nn/transformer.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"
#include "cake/nn/init.h"
#include "cake/tensor/creation.h"

namespace cake::nn {

// ---- the activation ------------------------------------------------------------------------------

TransformerActivation::TransformerActivation(RNNNonlinearity relu) {
  CAKE_CHECK(relu == RNNNonlinearity::ReLU,
             "TransformerActivation: the activation must be cake::kReLU, cake::kGELU or a function Tensor -> Tensor "
             "(PyTorch's choices); got cake::kTanh");
}

Tensor TransformerActivation::operator()(const Tensor& x) const {
  switch (kind_) {
    case Kind::GELU: return functional::gelu(x);  // the exact (erf) form, as PyTorch's F.gelu
    case Kind::Custom: return (*function_)(x);
    default: return functional::relu(x);
  }
}

std::string TransformerActivation::name() const {
  switch (kind_) {
    case Kind::GELU: return "gelu";
    case Kind::Custom: return "custom";
    default: return "relu";
  }
}

namespace {

// ---- shapes and masks ----------------------------------------------------------------------------

std::string shape_of(const Tensor& t) { return t.defined() ? shape_str(t.sizes()) : std::string("undefined"); }

// A sequence as the layers work on it: batch-first [N, L, E], and how to give it back.
struct Sequence {
  Tensor x;                   // [N, L, E]
  bool unbatched = false;     // the caller's was [L, E]
  bool batch_first = false;   // the caller's was [N, L, E] rather than [L, N, E]
  std::int64_t batch() const { return x.size(0); }
  std::int64_t length() const { return x.size(1); }
  // y [N, L', E] in the caller's layout.
  Tensor restore(const Tensor& y) const {
    if (unbatched) return y.squeeze(0);
    return batch_first ? y : y.transpose(0, 1);
  }
};

// src/tgt/memory [L, N, E] ([N, L, E] with batch_first) or unbatched [L, E], E = d_model.
Sequence batch_first_view(const std::string& who, const char* what, const Tensor& t, std::int64_t d_model,
                          bool batch_first) {
  const char* layout = batch_first ? "[N, L, " : "[L, N, ";
  CAKE_CHECK(t.defined() && (t.dim() == 3 || t.dim() == 2) && t.size(-1) == d_model, who, ": ", what, " must be ",
             layout, d_model, "] (d_model = ", d_model, ") or unbatched [L, ", d_model, "], got shape ", shape_of(t));
  CAKE_CHECK(is_floating(t.dtype()), who, ": ", what, " must be floating-point, got ", t.dtype());
  if (t.dim() == 2) return {t.unsqueeze(0), true, batch_first};
  return {batch_first ? t : t.transpose(0, 1), false, batch_first};
}

// PyTorch's mask conventions as an additive bias on the logits, in `like`'s dtype: a bool mask's
// true (may not attend) becomes -inf, false 0; a float mask is added as it is.
Tensor as_bias(const std::string& who, const char* what, const Tensor& mask, const Tensor& like) {
  if (mask.dtype() == kBool) {
    return zeros(mask.sizes(), {like.dtype(), like.device()}).masked_fill(mask, -std::numeric_limits<double>::infinity());
  }
  CAKE_CHECK(is_floating(mask.dtype()), who, ": ", what, " must be bool (true = masked) or floating-point (added to ",
             "the attention logits), got ", mask.dtype());
  return mask.dtype() == like.dtype() ? mask : mask.to(like.dtype());
}

// An attention mask over queries x keys: [Lq, Lk], or [N * nhead, Lq, Lk] per batch row and
// head (for an unbatched input, N = 1 and [nhead, Lq, Lk]).
Tensor attention_bias(const std::string& who, const char* what, const Tensor& mask, std::int64_t lq, std::int64_t lk,
                      std::int64_t nhead, const Sequence& query) {
  if (!mask.defined()) return {};
  const std::int64_t rows = query.batch() * nhead;
  const bool shared = mask.dim() == 2 && mask.size(0) == lq && mask.size(1) == lk;
  const bool per_head = mask.dim() == 3 && mask.size(0) == rows && mask.size(1) == lq && mask.size(2) == lk;
  CAKE_CHECK(shared || per_head, who, ": ", what, " must be [", lq, ", ", lk, "] (queries x keys) or [N * nhead = ",
             rows, ", ", lq, ", ", lk, "], got shape ", mask.sizes());
  return as_bias(who, what, mask, query.x);
}

// A key padding mask [N, L] (unbatched: [L]) as a bias [N, L].
Tensor key_bias(const std::string& who, const char* what, const Tensor& mask, const Sequence& keys) {
  if (!mask.defined()) return {};
  const std::int64_t n = keys.batch(), l = keys.length();
  if (keys.unbatched) {
    CAKE_CHECK(mask.dim() == 1 && mask.size(0) == l, who, ": ", what, " must be [", l,
               "] for an unbatched input (true = ignore that position), got shape ", mask.sizes());
    return as_bias(who, what, mask.reshape({1, l}), keys.x);
  }
  CAKE_CHECK(mask.dim() == 2 && mask.size(0) == n && mask.size(1) == l, who, ": ", what, " must be [N, L] = [", n, ", ",
             l, "] (true = ignore that position), got shape ", mask.sizes());
  return as_bias(who, what, mask, keys.x);
}

// The feed-forward block (section 3.3): linear2(dropout(act(linear1(x)))).
Tensor feed_forward(const TransformerActivation& act, Linear& linear1, Dropout& dropout, Linear& linear2,
                    const Tensor& x) {
  return linear2.forward(dropout.forward(act(linear1.forward(x))));
}

// One residual sub-layer (section 3.1: LayerNorm(x + Sublayer(x)); pre-norm x + Sublayer(LayerNorm(x))),
// with the sub-layer's dropout (section 5.4) inside `sublayer`.
template <class Sublayer>
Tensor residual(bool norm_first, LayerNorm& norm, const Tensor& x, Sublayer&& sublayer) {
  return norm_first ? x + sublayer(norm.forward(x)) : norm.forward(x + sublayer(x));
}

void check_layer_options(const std::string& who, const TransformerEncoderLayerOptions& o) {
  CAKE_CHECK(o.d_model > 0 && o.nhead >= 1 && o.d_model % o.nhead == 0, who, ": d_model (", o.d_model.get(),
             ") must be positive and divisible by nhead (", o.nhead.get(), ")");
  CAKE_CHECK(o.dim_feedforward > 0, who, ": dim_feedforward must be positive, got ", o.dim_feedforward.get());
  CAKE_CHECK(o.dropout >= 0.0 && o.dropout <= 1.0, who, ": dropout must be in [0, 1], got ", o.dropout.get());
}

}  // namespace

// ---- PackedMultiheadAttention --------------------------------------------------------------------

PackedMultiheadAttention::PackedMultiheadAttention(std::int64_t embed_dim, std::int64_t num_heads, double dropout)
    : embed_dim(embed_dim), num_heads(num_heads), dropout(dropout) {
  CAKE_CHECK(embed_dim > 0 && num_heads >= 1 && embed_dim % num_heads == 0, "MultiheadAttention: embed_dim (",
             embed_dim, ") must be positive and divisible by num_heads (", num_heads, ")");
  CAKE_CHECK(dropout >= 0.0 && dropout <= 1.0, "MultiheadAttention: dropout must be in [0, 1], got ", dropout);
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * embed_dim, embed_dim}));
  in_proj_bias = register_parameter("in_proj_bias", empty({3 * embed_dim}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim));
  reset_parameters();
}

void PackedMultiheadAttention::reset_parameters() {
  // The three projections drawn as one [3E, E] matrix (fan_in E, fan_out 3E), as PyTorch does.
  init::xavier_uniform_(in_proj_weight);
  init::zeros_(in_proj_bias);
  out_proj->reset_parameters();
  init::zeros_(out_proj->bias);
}

functional::AttentionWeights PackedMultiheadAttention::weights() const {
  const std::int64_t e = embed_dim;
  return {in_proj_weight.narrow(0, 0, e),     in_proj_bias.narrow(0, 0, e),
          in_proj_weight.narrow(0, e, e),     in_proj_bias.narrow(0, e, e),
          in_proj_weight.narrow(0, 2 * e, e), in_proj_bias.narrow(0, 2 * e, e),
          out_proj->weight,                   out_proj->bias};
}

Tensor PackedMultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                         const Tensor& key_bias, const Tensor& attn_bias) {
  // The per-head weights come free with the output; only averaging them would cost anything.
  return std::get<0>(forward_with_attn_weights(query, key, value, key_bias, attn_bias, /*average_attn_weights=*/false));
}

std::tuple<Tensor, Tensor> PackedMultiheadAttention::forward_with_attn_weights(const Tensor& query, const Tensor& key,
                                                                               const Tensor& value,
                                                                               const Tensor& key_bias,
                                                                               const Tensor& attn_bias,
                                                                               bool average_attn_weights) {
  CAKE_CHECK(query.defined() && query.dim() == 3 && query.size(2) == embed_dim, "MultiheadAttention: query must be [B, Lq, ",
             embed_dim, "], got shape ", shape_of(query));
  CAKE_CHECK(key.defined() && value.defined() && key.dim() == 3 && value.dim() == 3 && key.size(2) == embed_dim &&
                 value.size(2) == embed_dim,
             "MultiheadAttention: key and value must be [B, Lk, ", embed_dim, "], got shapes ", shape_of(key), " and ",
             shape_of(value));
  return functional::multi_head_attention_with_attn_weights(query, key, value, num_heads, weights(), key_bias,
                                                            attn_bias, is_training() ? dropout : 0.0,
                                                            average_attn_weights);
}

std::string PackedMultiheadAttention::extra_repr() const {
  std::ostringstream out;
  out << "embed_dim=" << embed_dim << ", num_heads=" << num_heads;
  if (dropout != 0.0) out << ", dropout=" << dropout;
  return out.str();
}

// ---- TransformerEncoderLayer ---------------------------------------------------------------------

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerEncoderLayerOptions& o) : options(o) {
  check_layer_options("TransformerEncoderLayer", o);
  const std::int64_t e = o.d_model, ff = o.dim_feedforward;
  // PyTorch's registration order, so parameters() and the state dict list them as its do.
  self_attn = register_module("self_attn", std::make_shared<PackedMultiheadAttention>(e, o.nhead, o.dropout));
  linear1 = register_module("linear1", std::make_shared<Linear>(e, ff));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout));
  linear2 = register_module("linear2", std::make_shared<Linear>(ff, e));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{e}, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{e}, o.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout));
}

void TransformerEncoderLayer::reset_parameters() {
  self_attn->reset_parameters();
  linear1->reset_parameters();
  linear2->reset_parameters();
  for (LayerNorm* norm : {norm1.get(), norm2.get()}) {
    init::ones_(norm->weight);
    init::zeros_(norm->bias);
  }
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask) {
  const std::string who = "TransformerEncoderLayer";
  const Sequence seq = batch_first_view(who, "src", src, options.d_model, options.batch_first);
  const Tensor attn = attention_bias(who, "src_mask", src_mask, seq.length(), seq.length(), options.nhead, seq);
  const Tensor keys = key_bias(who, "src_key_padding_mask", src_key_padding_mask, seq);

  auto self_attention = [&](const Tensor& x) { return dropout1->forward(self_attn->forward(x, x, x, keys, attn)); };
  auto ff = [&](const Tensor& x) {
    return dropout2->forward(feed_forward(options.activation, *linear1, *dropout, *linear2, x));
  };
  Tensor x = residual(options.norm_first, *norm1, seq.x, self_attention);
  x = residual(options.norm_first, *norm2, x, ff);
  return seq.restore(x);
}

// ---- TransformerDecoderLayer ---------------------------------------------------------------------

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerDecoderLayerOptions& o) : options(o) {
  check_layer_options("TransformerDecoderLayer", o);
  const std::int64_t e = o.d_model, ff = o.dim_feedforward;
  self_attn = register_module("self_attn", std::make_shared<PackedMultiheadAttention>(e, o.nhead, o.dropout));
  multihead_attn = register_module("multihead_attn", std::make_shared<PackedMultiheadAttention>(e, o.nhead, o.dropout));
  linear1 = register_module("linear1", std::make_shared<Linear>(e, ff));
  dropout = register_module("dropout", std::make_shared<Dropout>(o.dropout));
  linear2 = register_module("linear2", std::make_shared<Linear>(ff, e));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{e}, o.layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{e}, o.layer_norm_eps));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(Shape{e}, o.layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(o.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(o.dropout));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(o.dropout));
}

void TransformerDecoderLayer::reset_parameters() {
  self_attn->reset_parameters();
  multihead_attn->reset_parameters();
  linear1->reset_parameters();
  linear2->reset_parameters();
  for (LayerNorm* norm : {norm1.get(), norm2.get(), norm3.get()}) {
    init::ones_(norm->weight);
    init::zeros_(norm->bias);
  }
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                        const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                        const Tensor& memory_key_padding_mask) {
  const std::string who = "TransformerDecoderLayer";
  const Sequence t = batch_first_view(who, "tgt", tgt, options.d_model, options.batch_first);
  const Sequence m = batch_first_view(who, "memory", memory, options.d_model, options.batch_first);
  CAKE_CHECK(t.unbatched == m.unbatched && t.batch() == m.batch(), who,
             ": tgt and memory must have the same batch size (both batched or both unbatched), got shapes ",
             tgt.sizes(), " and ", memory.sizes());
  const std::int64_t lt = t.length(), ls = m.length();
  const Tensor self_bias = attention_bias(who, "tgt_mask", tgt_mask, lt, lt, options.nhead, t);
  const Tensor cross_bias = attention_bias(who, "memory_mask", memory_mask, lt, ls, options.nhead, t);
  const Tensor tgt_keys = key_bias(who, "tgt_key_padding_mask", tgt_key_padding_mask, t);
  const Tensor memory_keys = key_bias(who, "memory_key_padding_mask", memory_key_padding_mask, m);

  auto self_attention = [&](const Tensor& x) {
    return dropout1->forward(self_attn->forward(x, x, x, tgt_keys, self_bias));
  };
  // Queries from the decoder, keys and values from the encoder's output (section 3.2.3).
  auto cross_attention = [&](const Tensor& x) {
    return dropout2->forward(multihead_attn->forward(x, m.x, m.x, memory_keys, cross_bias));
  };
  auto ff = [&](const Tensor& x) {
    return dropout3->forward(feed_forward(options.activation, *linear1, *dropout, *linear2, x));
  };
  Tensor x = residual(options.norm_first, *norm1, t.x, self_attention);
  x = residual(options.norm_first, *norm2, x, cross_attention);
  x = residual(options.norm_first, *norm3, x, ff);
  return t.restore(x);
}

// ---- the stacks ----------------------------------------------------------------------------------

namespace {
// num_layers deep copies of `prototype` under layers.0, layers.1, ...; and a copy of `norm`.
template <class Layer>
void build_stack(Module& owner, const char* who, const std::shared_ptr<Layer>& prototype, std::int64_t num_layers,
                 const std::shared_ptr<Module>& norm_prototype, std::shared_ptr<ModuleList>& layers,
                 std::vector<std::shared_ptr<Layer>>& stack, std::shared_ptr<Module>& norm) {
  CAKE_CHECK(prototype != nullptr, who, ": the options hold no layer to copy (give one: ", who,
             "Options(layer, num_layers))");
  CAKE_CHECK(num_layers >= 1, who, ": num_layers must be at least 1, got ", num_layers);
  layers = owner.register_module("layers", std::make_shared<ModuleList>());
  for (std::int64_t i = 0; i < num_layers; ++i) {
    auto copy = std::dynamic_pointer_cast<Layer>(prototype->clone());
    layers->push_back(copy);
    stack.push_back(std::move(copy));
  }
  if (norm_prototype) norm = owner.register_module("norm", norm_prototype->clone());
}
}  // namespace

TransformerEncoder::TransformerEncoder(const TransformerEncoderOptions& o) : options(o) {
  build_stack(*this, "TransformerEncoder", o.encoder_layer().ptr(), o.num_layers, o.norm().ptr(), layers, stack, norm);
}

Tensor TransformerEncoder::forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask) {
  Tensor x = src;
  for (const auto& layer : stack) x = layer->forward(x, mask, src_key_padding_mask);
  return norm ? norm->forward(x) : x;
}

TransformerDecoder::TransformerDecoder(const TransformerDecoderOptions& o) : options(o) {
  build_stack(*this, "TransformerDecoder", o.decoder_layer().ptr(), o.num_layers, o.norm().ptr(), layers, stack, norm);
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                   const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                   const Tensor& memory_key_padding_mask) {
  Tensor x = tgt;
  for (const auto& layer : stack) {
    x = layer->forward(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask);
  }
  return norm ? norm->forward(x) : x;
}

// ---- Transformer ---------------------------------------------------------------------------------

Transformer::Transformer(const TransformerOptions& o) : options(o) {
  const auto layer_options = TransformerEncoderLayerOptions(o.d_model, o.nhead)
                                 .dim_feedforward(o.dim_feedforward)
                                 .dropout(o.dropout)
                                 .activation(o.activation)
                                 .layer_norm_eps(o.layer_norm_eps)
                                 .batch_first(o.batch_first)
                                 .norm_first(o.norm_first);
  check_layer_options("Transformer", layer_options);
  const Shape features{o.d_model};
  // A custom module is copied, as libtorch does, so that the model owns its parameters.
  encoder_module = !o.custom_encoder().is_empty()
                       ? o.custom_encoder().clone()
                       : AnyModule(std::make_shared<TransformerEncoder>(
                             TransformerEncoderOptions(std::make_shared<TransformerEncoderLayer>(layer_options),
                                                       o.num_encoder_layers)
                                 .norm(std::make_shared<LayerNorm>(features, o.layer_norm_eps))));
  decoder_module = !o.custom_decoder().is_empty()
                       ? o.custom_decoder().clone()
                       : AnyModule(std::make_shared<TransformerDecoder>(
                             TransformerDecoderOptions(std::make_shared<TransformerDecoderLayer>(layer_options),
                                                       o.num_decoder_layers)
                                 .norm(std::make_shared<LayerNorm>(features, o.layer_norm_eps))));
  register_module("encoder", encoder_module.ptr());
  register_module("decoder", decoder_module.ptr());
  encoder = std::dynamic_pointer_cast<TransformerEncoder>(encoder_module.ptr());
  decoder = std::dynamic_pointer_cast<TransformerDecoder>(decoder_module.ptr());
  reset_parameters();  // custom modules' matrices too, as libtorch's and PyTorch's
}

void Transformer::reset_parameters() {
  for (const Tensor& p : parameters()) {
    if (p.dim() > 1) init::xavier_uniform_(p);
  }
}

Tensor Transformer::forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask, const Tensor& tgt_mask,
                            const Tensor& memory_mask, const Tensor& src_key_padding_mask,
                            const Tensor& tgt_key_padding_mask, const Tensor& memory_key_padding_mask) {
  // src and tgt must agree on the batch; the layers check the rest.
  const std::int64_t batch_dim = options.batch_first ? 0 : 1;
  CAKE_CHECK(src.defined() && tgt.defined() && src.dim() == tgt.dim() &&
                 (src.dim() != 3 || src.size(batch_dim) == tgt.size(batch_dim)),
             "Transformer: src and tgt must have the same batch size (", options.batch_first ? "[N, S, E], [N, T, E]"
                                                                                           : "[S, N, E], [T, N, E]",
             "), got shapes ", shape_of(src), " and ", shape_of(tgt));
  // libtorch's calls, the same for the built-in stacks and custom modules.
  const Tensor memory = encoder_module.forward<Tensor>(src, src_mask, src_key_padding_mask);
  return decoder_module.forward<Tensor>(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                                        memory_key_padding_mask);
}

Tensor Transformer::generate_square_subsequent_mask(std::int64_t size) {
  CAKE_CHECK(size >= 0, "Transformer::generate_square_subsequent_mask: size must be non-negative, got ", size);
  std::vector<float> mask(static_cast<std::size_t>(size * size), 0.0F);
  for (std::int64_t i = 0; i < size; ++i) {
    for (std::int64_t j = i + 1; j < size; ++j) {
      mask[static_cast<std::size_t>(i * size + j)] = -std::numeric_limits<float>::infinity();  // j is after i
    }
  }
  return tensor(mask, {size, size});
}

}  // namespace cake::nn
