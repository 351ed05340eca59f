// Tests for multi-head attention (nn/attention.h): the layer against a direct loop over batch,
// head, query and key written here; a key bias of -1e9 equals leaving the key out; shape errors.
// The gradient rows are in tests/autograd/gradcheck_cases_spatial.cpp.
#include "cake/nn/attention.h"
#include "helpers.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::values;

namespace {

// out[b, i] = W_o concat_h( sum_j softmax_j(q_h(i) . k_h(j) / sqrt(d) + bias[b, j]) v_h(j) ) + b_o,
// one number at a time.
Tensor attention_reference(const nn::MultiheadAttention& m, const Tensor& query, const Tensor& key, const Tensor& value,
                           const Tensor& bias) {
  const std::int64_t B = query.size(0), Lq = query.size(1), Lk = key.size(1), E = m.options.embed_dim;
  const std::int64_t H = m.options.num_heads, d = E / H;
  // The projections as plain loops: y[b, l, e] = sum_f x[b, l, f] W[e, f] + bias[e].
  auto project = [](const Tensor& x, const nn::Linear& layer) {
    const auto xv = values(x), w = values(layer.weight), bv = values(layer.bias);
    const std::int64_t n = x.size(0) * x.size(1), in = x.size(2), out = layer.out_features;
    std::vector<double> y(static_cast<std::size_t>(n * out));
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t e = 0; e < out; ++e) {
        double s = bv[static_cast<std::size_t>(e)];
        for (std::int64_t f = 0; f < in; ++f) s += xv[static_cast<std::size_t>(r * in + f)] * w[static_cast<std::size_t>(e * in + f)];
        y[static_cast<std::size_t>(r * out + e)] = s;
      }
    return y;
  };
  const auto q = project(query, *m.q_proj), k = project(key, *m.k_proj), v = project(value, *m.v_proj);
  const auto bv = bias.defined() ? values(bias) : std::vector<double>(static_cast<std::size_t>(B * Lk), 0.0);
  std::vector<double> heads(static_cast<std::size_t>(B * Lq * E), 0.0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t i = 0; i < Lq; ++i) {
        std::vector<double> logit(static_cast<std::size_t>(Lk));
        double top = -1e300;
        for (std::int64_t j = 0; j < Lk; ++j) {
          double s = 0;
          for (std::int64_t t = 0; t < d; ++t)
            s += q[static_cast<std::size_t>((b * Lq + i) * E + h * d + t)] * k[static_cast<std::size_t>((b * Lk + j) * E + h * d + t)];
          logit[static_cast<std::size_t>(j)] = s / std::sqrt(static_cast<double>(d)) + bv[static_cast<std::size_t>(b * Lk + j)];
          top = std::max(top, logit[static_cast<std::size_t>(j)]);
        }
        double total = 0;
        for (double& l : logit) total += (l = std::exp(l - top));
        for (std::int64_t j = 0; j < Lk; ++j)
          for (std::int64_t t = 0; t < d; ++t)
            heads[static_cast<std::size_t>((b * Lq + i) * E + h * d + t)] +=
                logit[static_cast<std::size_t>(j)] / total * v[static_cast<std::size_t>((b * Lk + j) * E + h * d + t)];
      }
  return tensor(project(tensor(heads, {B, Lq, E}), *m.out_proj), {B, Lq, E});
}

}  // namespace

TEST_CASE("MultiheadAttention matches a direct loop (1 and 3 heads, key and value widths of their own)") {
  manual_seed(5);
  for (std::int64_t heads : {1, 3}) {
    nn::MultiheadAttention m(nn::MultiheadAttentionOptions(6, heads).kdim(4).vdim(5));
    m.to(kFloat64);
    const Tensor q = randn({2, 3, 6}, kFloat64), k = randn({2, 4, 4}, kFloat64), v = randn({2, 4, 5}, kFloat64);
    const Tensor bias = randn({2, 4}, kFloat64);
    check_close(m.forward(q, k, v), attention_reference(m, q, k, v, {}), 1e-10, 1e-10);
    check_close(m.forward(q, k, v, bias), attention_reference(m, q, k, v, bias), 1e-10, 1e-10);
  }
}

TEST_CASE("MultiheadAttention: a key bias of -1e9 is the same as leaving that key out") {
  manual_seed(6);
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(4, 2));
  m.to(kFloat64);
  const Tensor x = randn({1, 5, 4}, kFloat64);
  const Tensor drop_last_two = tensor({0.0, 0.0, 0.0, -1e9, -1e9}, {1, 5}, kFloat64);
  const Tensor kept = x.narrow(1, 0, 3);
  check_close(m.forward(x, x, x, drop_last_two), m.forward(x, kept, kept), 1e-10, 1e-10);
  check_close(m.forward(x), m.forward(x, x, x));  // self-attention
}

TEST_CASE("MultiheadAttention refuses bad shapes and options with a message") {
  CHECK_THROWS_WITH_AS(nn::MultiheadAttention(nn::MultiheadAttentionOptions(6, 4)), doctest::Contains("divisible"), Error);
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(4, 2));
  CHECK_THROWS_WITH_AS(m.forward(zeros({2, 3, 4}), zeros({2, 5, 4}), zeros({2, 4, 4})), doctest::Contains("lengths"), Error);
  CHECK_THROWS_WITH_AS(m.forward(zeros({2, 3, 4}), zeros({2, 5, 4}), zeros({2, 5, 4}), zeros({2, 3})),
                       doctest::Contains("key_bias"), Error);
}

TEST_CASE("MultiheadAttention: attn_bias [Lq, Lk] and [B * H, Lq, Lk] on the logits") {
  manual_seed(7);
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(4, 2));
  m.to(kFloat64);
  const Tensor x = randn({2, 4, 4}, kFloat64);
  // A causal bias: query i with -1e9 on the keys after it is query i attending to keys 0..i only.
  std::vector<double> causal(16, 0.0);
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j) causal[static_cast<std::size_t>(i * 4 + j)] = -1e9;
  const Tensor masked = m.forward(x, x, x, {}, tensor(causal, {4, 4}));
  for (std::int64_t i = 0; i < 4; ++i) {
    const Tensor keys = x.narrow(1, 0, i + 1);
    check_close(masked.narrow(1, i, 1), m.forward(x.narrow(1, i, 1), keys, keys), 1e-10, 1e-10);
  }
  // With a key bias as well, the two add up; [B * H, Lq, Lk] with equal slices is the shared bias.
  const Tensor key_bias = randn({2, 4}, kFloat64), attn_bias = randn({4, 4}, kFloat64);
  const Tensor both = m.forward(x, x, x, key_bias, attn_bias);
  check_close(both, m.forward(x, x, x, {}, attn_bias + key_bias.unsqueeze(1).unsqueeze(1).expand({2, 2, 4, 4}).reshape({4, 4, 4})),
              1e-10, 1e-10);
  check_close(m.forward(x, x, x, {}, attn_bias.unsqueeze(0).expand({4, 4, 4}).contiguous()),
              m.forward(x, x, x, {}, attn_bias), 1e-12, 1e-12);
  // An undefined attn_bias changes nothing, bit for bit.
  CHECK(equal(m.forward(x, x, x, key_bias, {}), m.forward(x, x, x, key_bias)));
  CHECK_THROWS_WITH_AS(m.forward(x, x, x, {}, zeros({4, 5}, kFloat64)), doctest::Contains("attn_bias must be [Lq, Lk] = [4, 4]"),
                       Error);
}

TEST_CASE("scaled_dot_product_attention: dropout_p drops attention weights and scales the rest") {
  manual_seed(8);
  const Tensor q = randn({3, 5}, kFloat64), k = randn({5, 5}, kFloat64);
  const Tensor v = eye(5, -1, kFloat64);  // the output is the weights themselves
  const auto kept = values(nn::functional::scaled_dot_product_attention(q, k, v));
  const auto dropped = values(nn::functional::scaled_dot_product_attention(q, k, v, {}, 0.5));
  int zeros_seen = 0;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (dropped[i] == 0.0) {
      ++zeros_seen;
    } else {
      CHECK(dropped[i] == doctest::Approx(2.0 * kept[i]).epsilon(1e-12));
    }
  }
  CHECK(zeros_seen > 0);
  CHECK(zeros_seen < 15);
}
