// Gradient-check rows for the Transformer layers (nn/transformer.h): an encoder layer and a
// decoder layer with masks; and the attention weights as an output (forward_with_attn_weights,
// nn/attention.h), averaged over heads and per head, from the functional form and the layer. Each row's inputs are the sequences and the float attention masks
// (so the check covers the residual paths, the norms, both attention blocks, the feed-forward
// block and the masks' way into the logits); the weights are a fixed pattern set inside the row,
// on the inputs' device and dtype, so the row is device-generic.
#include "cake/nn/transformer.h"
#include "gradcheck_table.h"

using namespace cake;
using cake::testing::inputs;
using cake::testing::TensorList;

namespace {

// Every parameter set to a fixed pattern in [-0.4, 0.4] (parameter k, entry j), then moved to
// `like`'s device and dtype.
void set_pattern(nn::Module& m, const Tensor& like) {
  {
    NoGradGuard no_grad;
    std::int64_t k = 1;
    for (auto& [name, p] : m.named_parameters()) {
      std::vector<double> v(static_cast<std::size_t>(p.numel()));
      for (std::size_t j = 0; j < v.size(); ++j) v[j] = static_cast<double>((static_cast<std::int64_t>(j) * 7 + k * 3) % 17 - 8) / 20.0;
      p.copy_(tensor(v, p.sizes()));
      ++k;
    }
  }
  m.to(like.device(), like.dtype());
}

// A bool key padding mask [batch, length] hiding the last `hidden` positions of batch row 1.
Tensor padding(std::int64_t batch, std::int64_t length, std::int64_t hidden, Device device) {
  std::vector<bool> pad(static_cast<std::size_t>(batch * length), false);
  for (std::int64_t j = length - hidden; j < length; ++j) pad[static_cast<std::size_t>(length + j)] = true;
  return tensor(pad, {batch, length}).to(device);
}

// d_model 4, nhead 2, dim_feedforward 6, dropout 0.
nn::TransformerEncoderLayerOptions tiny() {
  return nn::TransformerEncoderLayerOptions(4, 2).dim_feedforward(6).dropout(0.0);
}

}  // namespace

CAKE_GRADCHECK_CASES(transformer) {
  namespace F = nn::functional;
  return {
      // The attention weights softmax(q k^T / sqrt(d) + bias) [2, 3, 5]: inputs q, k, v, bias.
      {"scaled_dot_product_attention_with_attn_weights: the weights",
       [] { return inputs({{2, 3, 4}, {2, 5, 4}, {2, 5, 3}, {2, 3, 5}}); },
       [](const TensorList& x) { return std::get<1>(F::scaled_dot_product_attention_with_attn_weights(x[0], x[1], x[2], x[3])); }},
      // query [2, 3, 4], key and value [2, 5, 4], a float key bias [2, 5] and attn bias [3, 5];
      // the projections are the pattern of a PackedMultiheadAttention(4, 2).
      {"PackedMultiheadAttention weights averaged over heads, key and attn bias",
       [] { return inputs({{2, 3, 4}, {2, 5, 4}, {2, 5, 4}, {2, 5}, {3, 5}}); },
       [](const TensorList& x) {
         nn::PackedMultiheadAttention attention(4, 2);
         set_pattern(*attention, x[0]);
         return std::get<1>(attention->forward_with_attn_weights(x[0], x[1], x[2], x[3], x[4]));
       }},
      {"PackedMultiheadAttention weights per head, key and attn bias",
       [] { return inputs({{2, 3, 4}, {2, 5, 4}, {2, 5, 4}, {2, 5}, {3, 5}}); },
       [](const TensorList& x) {
         nn::PackedMultiheadAttention attention(4, 2);
         set_pattern(*attention, x[0]);
         return std::get<1>(attention->forward_with_attn_weights(x[0], x[1], x[2], x[3], x[4], false));
       }},
      // src [S 3, N 2, E 4], a float src_mask [3, 3]; a bool key padding mask inside.
      {"TransformerEncoderLayer, float src_mask and key padding", [] { return inputs({{3, 2, 4}, {3, 3}}); },
       [](const TensorList& x) {
         nn::TransformerEncoderLayer layer(tiny());
         set_pattern(*layer, x[0]);
         return layer->forward(x[0], x[1], padding(2, 3, 1, x[0].device()));
       }},
      {"TransformerEncoderLayer norm_first gelu, causal mask", [] { return inputs({{3, 2, 4}}); },
       [](const TensorList& x) {
         nn::TransformerEncoderLayer layer(tiny().norm_first(true).activation(kGELU));
         set_pattern(*layer, x[0]);
         const Tensor causal = nn::Transformer::generate_square_subsequent_mask(3).to(x[0].device(), x[0].dtype());
         return layer(x[0], causal);
       }},
      // tgt [T 3, N 2, E 4], memory [S 4, 2, 4], a float memory_mask [3, 4]; the causal tgt_mask
      // and bool key padding masks for both inside.
      {"TransformerDecoderLayer, causal tgt_mask, float memory_mask, key padding",
       [] { return inputs({{3, 2, 4}, {4, 2, 4}, {3, 4}}); },
       [](const TensorList& x) {
         nn::TransformerDecoderLayer layer(tiny());
         set_pattern(*layer, x[0]);
         const Tensor causal = nn::Transformer::generate_square_subsequent_mask(3).to(x[0].device(), x[0].dtype());
         return layer->forward(x[0], x[1], causal, x[2], padding(2, 3, 1, x[0].device()),
                               padding(2, 4, 2, x[0].device()));
       }},
  };
}
