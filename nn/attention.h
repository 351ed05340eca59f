// attention.h: multi-head scaled dot-product attention (Vaswani et al. 2017, NeurIPS,
// "Attention Is All You Need", section 3.2), built from existing differentiable ops (linear,
// matmul, softmax), so its gradient is theirs.
//
//   cake::nn::MultiheadAttention attention(cake::nn::MultiheadAttentionOptions(64, 4));
//   cake::Tensor y = attention.forward(queries, keys, values);   // [B, Lq, 64], [B, Lk, 64] x2 -> [B, Lq, 64]
//   cake::Tensor z = attention.forward(x);                        // self-attention: x as queries, keys, values
//   // keys to ignore: an additive bias [B, Lk] on the attention logits (0 keeps, -1e9 drops;
//   // log p weighs key j by a soft presence p_j, as the Set Transformer of the Stacked Capsule
//   // Autoencoder does with its part presences)
//   cake::Tensor w = attention.forward(queries, keys, values, bias);
//   // the attention weights too, as PyTorch's need_weights: averaged over heads [B, Lq, Lk], or
//   // per head [B, H, Lq, Lk] with average_attn_weights = false
//   auto [out, attn] = attention.forward_with_attn_weights(queries, keys, values);
//
// Per head h of H, with d = embed_dim / H:
//   Q_h = query W_q,h + b_q,h,  K_h = key W_k,h + b_k,h,  V_h = value W_v,h + b_v,h
//   head_h = softmax(Q_h K_h^T / sqrt(d) + bias) V_h                               (eq. 1)
//   output = concat(head_1, ..., head_H) W_o + b_o                                  (section 3.2.2)
// Tensors are batch-first ([batch, length, features]), PyTorch's batch_first = true.
//
// NOTE [ Attention weights as an output ]
// The attention weights are softmax(Q_h K_h^T / sqrt(d) + bias), the "attn_output_weights" that
// PyTorch 1.13's nn.MultiheadAttention returns with need_weights: after the masks and, in
// training with attention dropout, after the dropout (zeros where dropped, the rest scaled by
// 1 / (1 - p)), since its F.multi_head_attention_forward drops them in place before returning
// them; averaged over the heads ([B, Lq, Lk], average_attn_weights = true, the default) or one
// map per head ([B, H, Lq, Lk]). They are differentiable like the output. (Not to be confused
// with functional::AttentionWeights below: the *projection* matrices of a layer.)
// Why a method of its own, forward_with_attn_weights, rather than libtorch's flag: libtorch's
// forward always returns the pair (and need_weights = false gives an undefined second tensor);
// Cake's forward returns the Tensor that every caller uses, C++ cannot choose a return type from
// a runtime flag, and a name that says what comes back reads better than a bool argument. The
// Tensor forms run the same code and drop the weights, which costs nothing: the per-head
// weights are computed anyway (the product with V needs them) and only averaging is extra.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

#include "cake/nn/linear.h"
#include "cake/nn/module.h"
#include "cake/nn/options.h"

namespace cake::nn {

struct MultiheadAttentionOptions {  // MultiheadAttentionOptions(64, 4).kdim(32)
  using Self = MultiheadAttentionOptions;
  CAKE_ARG(std::int64_t, embed_dim) = 0;
  CAKE_ARG(std::int64_t, num_heads) = 1;
  CAKE_ARG(std::int64_t, kdim) = 0;  // features of the keys; 0: embed_dim
  CAKE_ARG(std::int64_t, vdim) = 0;  // features of the values; 0: embed_dim
  CAKE_ARG(bool, bias) = true;
};

namespace functional {

// softmax(q k^T / sqrt(d) + bias) v for q [..., Lq, d], k [..., Lk, d], v [..., Lk, dv]; bias
// (optional) broadcasts against the logits [..., Lq, Lk]. dropout_p > 0 zeroes each attention
// weight with that probability (scaling the rest by 1 / (1 - p)), as PyTorch's attention
// dropout; pass 0 outside training.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias = {},
                                    double dropout_p = 0.0);
// The same, and the attention weights [..., Lq, Lk] (after dropout; see NOTE [ Attention weights
// as an output ]): (output, attn_weights), with output = attn_weights v.
std::tuple<Tensor, Tensor> scaled_dot_product_attention_with_attn_weights(const Tensor& q, const Tensor& k,
                                                                          const Tensor& v, const Tensor& bias = {},
                                                                          double dropout_p = 0.0);

// The projections of one multi-head attention layer (biases may be undefined).
struct AttentionWeights {
  Tensor q_weight, q_bias;    // [E, E], [E]
  Tensor k_weight, k_bias;    // [E, kdim], [E]
  Tensor v_weight, v_bias;    // [E, vdim], [E]
  Tensor out_weight, out_bias;  // [E, E], [E]
};
// query [B, Lq, E], key [B, Lk, kdim], value [B, Lk, vdim], key_bias [B, Lk] or undefined.
// attn_bias (optional) is added to the logits as well: [Lq, Lk], the same for every batch row
// and head (a causal mask, say), or [B * H, Lq, Lk], one per batch row and head (row b * H + h),
// as PyTorch's 3-D attn_mask. dropout_p: attention dropout (see scaled_dot_product_attention).
Tensor multi_head_attention(const Tensor& query, const Tensor& key, const Tensor& value, std::int64_t num_heads,
                            const AttentionWeights& weights, const Tensor& key_bias = {}, const Tensor& attn_bias = {},
                            double dropout_p = 0.0);
// The same, and the attention weights: [B, Lq, Lk] averaged over the heads, or [B, H, Lq, Lk]
// with average_attn_weights = false (see NOTE [ Attention weights as an output ]).
std::tuple<Tensor, Tensor> multi_head_attention_with_attn_weights(
    const Tensor& query, const Tensor& key, const Tensor& value, std::int64_t num_heads,
    const AttentionWeights& weights, const Tensor& key_bias = {}, const Tensor& attn_bias = {},
    double dropout_p = 0.0, bool average_attn_weights = true);

}  // namespace functional

class MultiheadAttention : public Module {
 public:
  explicit MultiheadAttention(const MultiheadAttentionOptions& options);
  // Self-attention: forward(x, x, x).
  Tensor forward(const Tensor& x) override { return forward(x, x, x); }
  // key_bias [B, Lk] is added to every head's logits for key j (see the top of the file);
  // attn_bias [Lq, Lk] or [B * H, Lq, Lk] to the logits of query i and key j.
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& key_bias = {},
                 const Tensor& attn_bias = {});
  // (output, attention weights): [B, Lq, Lk] averaged over heads, or [B, H, Lq, Lk] per head
  // (see NOTE [ Attention weights as an output ]).
  std::tuple<Tensor, Tensor> forward_with_attn_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                                       const Tensor& key_bias = {}, const Tensor& attn_bias = {},
                                                       bool average_attn_weights = true);
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<MultiheadAttention>(options));
  }
  std::string name() const override { return "MultiheadAttention"; }
  std::string extra_repr() const override;
  functional::AttentionWeights weights() const;

  MultiheadAttentionOptions options;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;
};

}  // namespace cake::nn
