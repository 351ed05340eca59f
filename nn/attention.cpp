// Multi-head attention (nn/attention.h): Vaswani et al. 2017, section 3.2, composed of linear,
// matmul and softmax.
#include "cake/nn/attention.h"

#include <cmath>
#include <sstream>

#include "cake/autograd/nn_ops.h"
#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"

namespace cake::nn {

namespace functional {

std::tuple<Tensor, Tensor> scaled_dot_product_attention_with_attn_weights(const Tensor& q, const Tensor& k,
                                                                          const Tensor& v, const Tensor& bias,
                                                                          double dropout_p) {
  CAKE_CHECK(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(),
             "scaled_dot_product_attention: q, k, v must have the same rank (>= 2), got shapes ", q.sizes(), ", ",
             k.sizes(), ", ", v.sizes());
  CAKE_CHECK(q.size(-1) == k.size(-1) && k.size(-2) == v.size(-2),
             "scaled_dot_product_attention: q [..., Lq, d], k [..., Lk, d], v [..., Lk, dv] expected, got shapes ",
             q.sizes(), ", ", k.sizes(), ", ", v.sizes());
  Tensor logits = matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  if (bias.defined()) logits = logits + bias;
  Tensor weights = cake::softmax(logits, -1);
  // PyTorch returns the weights after this dropout, as they multiply v (NOTE [ Attention
  // weights as an output ]).
  if (dropout_p > 0.0) weights = dropout(weights, dropout_p, /*training=*/true);
  return {matmul(weights, v), weights};
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& bias,
                                    double dropout_p) {
  return std::get<0>(scaled_dot_product_attention_with_attn_weights(q, k, v, bias, dropout_p));
}

namespace {
// [B, L, H d] -> [B, H, L, d]: each head's slice of the features becomes its own batch row.
Tensor split_heads(const Tensor& x, std::int64_t heads) {
  return x.reshape({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
}
}  // namespace

std::tuple<Tensor, Tensor> multi_head_attention_with_attn_weights(const Tensor& query, const Tensor& key,
                                                                  const Tensor& value, std::int64_t num_heads,
                                                                  const AttentionWeights& w, const Tensor& key_bias,
                                                                  const Tensor& attn_bias, double dropout_p,
                                                                  bool average_attn_weights) {
  CAKE_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3,
             "multi_head_attention: query, key and value must be [batch, length, features], got shapes ",
             query.sizes(), ", ", key.sizes(), ", ", value.sizes());
  CAKE_CHECK(key.size(0) == query.size(0) && value.size(0) == query.size(0) && key.size(1) == value.size(1),
             "multi_head_attention: batch sizes and key/value lengths must agree, got shapes ", query.sizes(), ", ",
             key.sizes(), ", ", value.sizes());
  const std::int64_t embed = w.q_weight.size(0);
  CAKE_CHECK(num_heads >= 1 && embed % num_heads == 0, "multi_head_attention: embed_dim ", embed,
             " must be divisible by num_heads ", num_heads);
  Tensor bias;
  if (key_bias.defined()) {
    CAKE_CHECK(key_bias.dim() == 2 && key_bias.size(0) == key.size(0) && key_bias.size(1) == key.size(1),
               "multi_head_attention: key_bias must be [batch, Lk] = [", key.size(0), ", ", key.size(1), "], got shape ",
               key_bias.sizes());
    bias = key_bias.reshape({key.size(0), 1, 1, key.size(1)});  // the same for every head and query
  }
  if (attn_bias.defined()) {
    const std::int64_t lq = query.size(1), lk = key.size(1), rows = key.size(0) * num_heads;
    const bool shared = attn_bias.dim() == 2 && attn_bias.size(0) == lq && attn_bias.size(1) == lk;
    const bool per_head = attn_bias.dim() == 3 && attn_bias.size(0) == rows && attn_bias.size(1) == lq &&
                          attn_bias.size(2) == lk;
    CAKE_CHECK(shared || per_head, "multi_head_attention: attn_bias must be [Lq, Lk] = [", lq, ", ", lk,
               "] or [batch * num_heads, Lq, Lk] = [", rows, ", ", lq, ", ", lk, "], got shape ", attn_bias.sizes());
    // [Lq, Lk] broadcasts against the logits [B, H, Lq, Lk] as it is; [B H, Lq, Lk] splits its rows.
    const Tensor a = shared ? attn_bias : attn_bias.reshape({key.size(0), num_heads, lq, lk});
    bias = bias.defined() ? bias + a : a;
  }
  const Tensor q = split_heads(linear(query, w.q_weight, w.q_bias), num_heads);
  const Tensor k = split_heads(linear(key, w.k_weight, w.k_bias), num_heads);
  const Tensor v = split_heads(linear(value, w.v_weight, w.v_bias), num_heads);
  const auto [heads, attn] = scaled_dot_product_attention_with_attn_weights(q, k, v, bias, dropout_p);  // [B, H, Lq, d]
  const Tensor joined = heads.transpose(1, 2).reshape({query.size(0), query.size(1), embed});  // concat
  // attn [B, H, Lq, Lk]; PyTorch averages it as sum over heads / H, which is the mean.
  return {linear(joined, w.out_weight, w.out_bias), average_attn_weights ? attn.mean(1) : attn};
}

Tensor multi_head_attention(const Tensor& query, const Tensor& key, const Tensor& value, std::int64_t num_heads,
                            const AttentionWeights& weights, const Tensor& key_bias, const Tensor& attn_bias,
                            double dropout_p) {
  // The per-head weights are a by-product; only averaging them would cost anything.
  return std::get<0>(multi_head_attention_with_attn_weights(query, key, value, num_heads, weights, key_bias, attn_bias,
                                                            dropout_p, /*average_attn_weights=*/false));
}

}  // namespace functional

MultiheadAttention::MultiheadAttention(const MultiheadAttentionOptions& opts) : options(opts) {
  const std::int64_t e = options.embed_dim;
  CAKE_CHECK(e > 0 && options.num_heads >= 1 && e % options.num_heads == 0, "MultiheadAttention: embed_dim (", e,
             ") must be positive and divisible by num_heads (", options.num_heads.get(), ")");
  const std::int64_t kdim = options.kdim > 0 ? options.kdim.get() : e;
  const std::int64_t vdim = options.vdim > 0 ? options.vdim.get() : e;
  q_proj = register_module("q_proj", std::make_shared<Linear>(e, e, options.bias));
  k_proj = register_module("k_proj", std::make_shared<Linear>(kdim, e, options.bias));
  v_proj = register_module("v_proj", std::make_shared<Linear>(vdim, e, options.bias));
  out_proj = register_module("out_proj", std::make_shared<Linear>(e, e, options.bias));
}

functional::AttentionWeights MultiheadAttention::weights() const {
  return {q_proj->weight, q_proj->bias, k_proj->weight, k_proj->bias,
          v_proj->weight, v_proj->bias, out_proj->weight, out_proj->bias};
}

Tensor MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& key_bias,
                                  const Tensor& attn_bias) {
  return functional::multi_head_attention(query, key, value, options.num_heads, weights(), key_bias, attn_bias);
}

std::tuple<Tensor, Tensor> MultiheadAttention::forward_with_attn_weights(const Tensor& query, const Tensor& key,
                                                                         const Tensor& value, const Tensor& key_bias,
                                                                         const Tensor& attn_bias,
                                                                         bool average_attn_weights) {
  return functional::multi_head_attention_with_attn_weights(query, key, value, options.num_heads, weights(), key_bias,
                                                            attn_bias, /*dropout_p=*/0.0, average_attn_weights);
}

std::string MultiheadAttention::extra_repr() const {
  std::ostringstream out;
  out << "embed_dim=" << options.embed_dim.get() << ", num_heads=" << options.num_heads.get();
  return out.str();
}

}  // namespace cake::nn
