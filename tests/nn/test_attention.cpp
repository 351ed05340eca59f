// Tests for multi-head attention (nn/attention.h): the layer against a direct loop over batch,
// head, query and key written here; a key bias of -1e9 equals leaving the key out; shape errors;
// the attention weights (forward_with_attn_weights) against known answers from PyTorch 1.13,
// averaged and per head, with a key padding mask and an attention mask, after dropout, and
// their gradients. The gradient rows are in tests/autograd/gradcheck_cases_spatial.cpp (the
// output) and gradcheck_cases_transformer.cpp (the weights).
//
// The known answers came from (float64; the helpers as in tests/nn/pytorch_reference.h, whose
// pattern / inputs_of / set_params are the same formulas):
//   attention = nn.MultiheadAttention(8, 2, batch_first=True); set_params(attention)
//   query, key, value = inputs_of((3, 4, 8), 1), inputs_of((3, 5, 8), 2), inputs_of((3, 5, 8), 3)
//   pad = [[F, F, F, F, F], [F, F, F, T, T], [F, F, F, F, T]]; mask = pattern((4, 5), 4)
//   attention_masked_out, attn_weights_masked_averaged = attention(query, key, value, key_padding_mask=pad,
//                                                                  attn_mask=mask)
//   _, attn_weights_masked_per_head = attention(query, key, value, key_padding_mask=pad, attn_mask=mask,
//                                               average_attn_weights=False)
//   _, attn_weights_unmasked_averaged = attention(query, key, value)
#include "cake/nn/attention.h"

#include <limits>

#include "cake/nn/transformer.h"  // PackedMultiheadAttention: PyTorch's parameter layout
#include "helpers.h"
#include "nn/pytorch_reference.h"

using namespace cake;
using cake::testing::check_answer;
using cake::testing::check_close;
using cake::testing::inputs_of;
using cake::testing::pattern;
using cake::testing::set_params;
using cake::testing::values;

namespace {

// ---- PyTorch 1.13's answers ----------------------------------------------------------------
// attention_masked_out [3, 4, 8]
const std::vector<double> attention_masked_out = {
    -0.060473425986112384, -0.08571618770658068, 0.028203343175865737, 0.29139520861852786, -0.07901621392705827,
    0.35528891879943525, -0.49602062095285726, 0.109839568598096, 0.10515193235948657, -0.006375085496046817,
    0.10071711373135189, 0.2710831020487625, -0.08893691449261798, 0.2993371745696962, -0.5307728340948883,
    0.10775591333060175, 0.031170327968494616, -0.11347504394259442, -0.024348059021298427, 0.2920113547220346,
    -0.11799363430533727, 0.4070646653000696, -0.47981595087791956, 0.06184300514373873, -0.040800964380219934,
    -0.0888823119613682, 0.04458202452659305, 0.2844548223671326, -0.10240077352902505, 0.3899951860388725,
    -0.4981310597567174, 0.09119015593732577, 0.2585366145078563, -0.13290402104695515, 0.28569255036522934,
    0.1537090401423148, -0.4203871881647028, 0.5905432145598347, -0.3131327370093549, -0.21900416774458306,
    0.010584543016745607, -0.06594430146733113, -0.07166976863927504, 0.032007451252441255, -0.041323727468940974,
    0.47124756818848834, -0.40668711911134603, 0.1262856311890463, 0.06971563814044296, -0.05475033199844451,
    0.08892911889827837, 0.07403395020793962, -0.1280963810562219, 0.45506345241439533, -0.4192729001197564,
    0.06601332141464135, 0.17639037823503528, -0.08457375792186994, 0.07973146624452618, 0.06537430286798895,
    -0.15979642977121547, 0.4497349384411051, -0.3693915778557313, 0.03830846113391285, -0.17215865091094001,
    -0.25102650975853835, -0.31318336805712943, 0.3103477587747804, 0.17572427405469984, 0.1936883506533287,
    -0.410320983933268, 0.30505547794072096, -0.023320533410499666, -0.16022819958963272, -0.29154877572718024,
    0.2613638507636808, 0.15668924762288086, 0.2268516393661544, -0.4871115694943147, 0.2999680988378661,
    -0.021269127917051545, -0.18589987384239273, -0.3620555224016527, 0.2641035095870409, 0.21297876291333842,
    0.18339826243431293, -0.4738021984865356, 0.3395895477530232, -0.1262531259427525, -0.2160296762305566,
    -0.3161901161353181, 0.234383711686293, 0.18953824623165902, 0.25789912906990725, -0.4515138020453568,
    0.3230072020011151
};
// attn_weights_masked_averaged [3, 4, 5]
const std::vector<double> attn_weights_masked_averaged = {
    0.2379599544980954, 0.10294959442634401, 0.35446046269504694, 0.1714630165107095, 0.13316697186980428,
    0.33603690594212876, 0.1440482346474663, 0.1305950802309983, 0.2780280139229763, 0.11129176525643024,
    0.2340957803867188, 0.166006313960939, 0.2116342651022048, 0.1261089252051213, 0.2621547153450161,
    0.3438415080838255, 0.12347689015367164, 0.2743322650203723, 0.13174506401522904, 0.12660427272690158,
    0.226462060586961, 0.5661933703448212, 0.2073445690682178, 0.0, 0.0,
    0.34692558424926656, 0.2164393486026316, 0.43663506714810196, 0.0, 0.0,
    0.39585530191581075, 0.31052994922237515, 0.2936147488618141, 0.0, 0.0,
    0.23868386854415863, 0.4346088296281909, 0.3267073018276504, 0.0, 0.0,
    0.4086838703545608, 0.09723090687281429, 0.1469184031123636, 0.3471668196602613, 0.0,
    0.26173825238106707, 0.25486334513618175, 0.3101507611647313, 0.17324764131801995, 0.0,
    0.3518976484137663, 0.18494701761757704, 0.30710841348859197, 0.15604692048006466, 0.0,
    0.4507806898337098, 0.15695907499381334, 0.15439574026174216, 0.23786449491073478, 0.0
};
// attn_weights_masked_per_head [3, 2, 4, 5]
const std::vector<double> attn_weights_masked_per_head = {
    0.2362663927813304, 0.06828635398687263, 0.42390524496506493, 0.14782955451317156, 0.1237124537535605,
    0.3816514151010656, 0.14633633929683657, 0.16250482052319118, 0.1771696354687692, 0.13233778961013737,
    0.20987448139536796, 0.16722824977745548, 0.21961140516562713, 0.11313249391493653, 0.29015336974661293,
    0.3796444745483649, 0.08183337939893406, 0.3226555099747246, 0.10187384371767592, 0.11399279236030048,
    0.2396535162148604, 0.13761283486581538, 0.2850156804250289, 0.19509647850824743, 0.14262148998604804,
    0.290422396783192, 0.141760129998096, 0.0986853399388054, 0.37888639237718347, 0.09024574090272311,
    0.25831707937806964, 0.1647843781444225, 0.20365712503878244, 0.13908535649530604, 0.2341560609434193,
    0.30803854161928607, 0.1651204009084092, 0.22600902006601994, 0.16161628431278216, 0.1392157530935027,
    0.20456313890634953, 0.5761837818622983, 0.2192530792313522, 0.0, 0.0,
    0.33003703569131404, 0.15584390191414654, 0.5141190623945395, 0.0, 0.0,
    0.41771645883501846, 0.22718232165673677, 0.35510121950824475, 0.0, 0.0,
    0.25475271701339486, 0.331091024962004, 0.41415625802460115, 0.0, 0.0,
    0.2483609822675725, 0.556202958827344, 0.1954360589050834, 0.0, 0.0,
    0.363814132807219, 0.27703479529111663, 0.35915107190166445, 0.0, 0.0,
    0.37399414499660305, 0.3938775767880135, 0.23212827821538348, 0.0, 0.0,
    0.22261502007492237, 0.5381266342943778, 0.2392583456306997, 0.0, 0.0,
    0.40741670106602995, 0.08876891187672939, 0.14198004182905818, 0.3618343452281824, 0.0,
    0.3356734241773161, 0.2137460729444707, 0.26138351513757146, 0.18919698774064178, 0.0,
    0.43449113892913094, 0.1434627688162371, 0.2792131729361344, 0.1428329193184976, 0.0,
    0.4125658616215202, 0.16927013276963798, 0.11446233965335938, 0.3037016659554826, 0.0,
    0.40995103964309154, 0.10569290186889918, 0.15185676439566903, 0.33249929409234025, 0.0,
    0.1878030805848181, 0.29598061732789277, 0.35891800719189104, 0.15729829489539815, 0.0,
    0.2693041578984017, 0.22643126641891698, 0.3350036540410495, 0.16926092164163173, 0.0,
    0.4889955180458993, 0.1446480172179887, 0.19432914087012496, 0.17202732386598696, 0.0
};
// attn_weights_unmasked_averaged [3, 4, 5]
const std::vector<double> attn_weights_unmasked_averaged = {
    0.20880299283469056, 0.14849526369945082, 0.36202527417260344, 0.12303605401868478, 0.15764041527457034,
    0.24120016677841488, 0.1693410655520623, 0.10956146243265565, 0.3717490069110395, 0.10814829832582765,
    0.17351782298168233, 0.2028721329015007, 0.182255530704775, 0.1790555316644517, 0.2622989817475903,
    0.26818187741275323, 0.15602475834623333, 0.24929953265833615, 0.1942694853681462, 0.1322243462145311,
    0.10331729904503689, 0.42520609138822774, 0.10966900192385703, 0.1045633956984546, 0.2572442119444237,
    0.18010595146196573, 0.18351156467851326, 0.2657892963845805, 0.17748785918415683, 0.19310532829078372,
    0.1887989995123619, 0.2404851369566145, 0.1638727535382593, 0.18872820621910869, 0.21811490377365572,
    0.11650300826620281, 0.349904970242171, 0.18522187480805125, 0.11717784317059357, 0.23119230351298137,
    0.3592690860207322, 0.140788620762493, 0.15000350156510966, 0.24999796948330125, 0.0999408221683639,
    0.14301432061319902, 0.21693749236647022, 0.1861361460844771, 0.17704072318374617, 0.27687131775210755,
    0.21987100038915622, 0.1842146465214426, 0.2177049253692162, 0.18246362215790995, 0.19574580556227497,
    0.302727418487474, 0.17277076321730894, 0.12121768052629958, 0.3020219102176034, 0.10126222755131413
};

// PyTorch's key_padding_mask above (true = padding) as the additive key bias Cake's layers take.
Tensor pad_bias() {
  const Tensor pad = tensor(std::vector<bool>{false, false, false, false, false, false, false, false, true, true, false,
                                              false, false, false, true},
                            {3, 5});
  return zeros({3, 5}, kFloat64).masked_fill(pad, -std::numeric_limits<double>::infinity());
}

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

TEST_CASE("forward_with_attn_weights: PyTorch's output and weights, averaged and per head, with both masks") {
  nn::PackedMultiheadAttention attention(8, 2);
  set_params(*attention);
  const Tensor query = inputs_of({3, 4, 8}, 1), key = inputs_of({3, 5, 8}, 2), value = inputs_of({3, 5, 8}, 3);
  const Tensor mask = pattern({4, 5}, 4);
  const auto [out, averaged] = attention->forward_with_attn_weights(query, key, value, pad_bias(), mask);
  check_answer(out, {3, 4, 8}, attention_masked_out);
  check_answer(averaged, {3, 4, 5}, attn_weights_masked_averaged);
  const auto [same_out, per_head] =
      attention->forward_with_attn_weights(query, key, value, pad_bias(), mask, /*average_attn_weights=*/false);
  check_answer(per_head, {3, 2, 4, 5}, attn_weights_masked_per_head);
  CHECK(equal(same_out, out));
  CHECK(equal(attention->forward(query, key, value, pad_bias(), mask), out));  // the Tensor form: the same output
  check_answer(std::get<1>(attention->forward_with_attn_weights(query, key, value)), {3, 4, 5},
               attn_weights_unmasked_averaged);

  // Every row of weights sums to 1 (a distribution over the keys), and padded keys get 0.
  check_close(per_head.sum(-1), ones({3, 2, 4}, kFloat64), 1e-12, 1e-12);
  check_close(averaged.sum(-1), ones({3, 4}, kFloat64), 1e-12, 1e-12);
  CHECK(values(averaged.select(0, 1).narrow(1, 3, 2)) == std::vector<double>(8, 0.0));

  // Cake's own MultiheadAttention with the same projections (q_proj, k_proj, v_proj are the
  // rows of in_proj) gives the same.
  nn::MultiheadAttention cake_layout(nn::MultiheadAttentionOptions(8, 2));
  cake_layout.to(kFloat64);
  {
    NoGradGuard no_grad;
    const auto w = attention->weights();
    for (auto [to, from] : {std::pair{cake_layout.q_proj.get(), std::pair{w.q_weight, w.q_bias}},
                            std::pair{cake_layout.k_proj.get(), std::pair{w.k_weight, w.k_bias}},
                            std::pair{cake_layout.v_proj.get(), std::pair{w.v_weight, w.v_bias}},
                            std::pair{cake_layout.out_proj.get(), std::pair{w.out_weight, w.out_bias}}}) {
      to->weight.copy_(from.first);
      to->bias.copy_(from.second);
    }
  }
  const auto [cake_out, cake_per_head] = cake_layout.forward_with_attn_weights(query, key, value, pad_bias(), mask, false);
  check_answer(cake_out, {3, 4, 8}, attention_masked_out);
  check_answer(cake_per_head, {3, 2, 4, 5}, attn_weights_masked_per_head);
}

TEST_CASE("attention weights: the output is weights x values; in training, after dropout, as PyTorch's") {
  manual_seed(9);
  const Tensor q = randn({2, 3, 4}, kFloat64), k = randn({2, 5, 4}, kFloat64), v = randn({2, 5, 3}, kFloat64);
  const auto [out, w] = nn::functional::scaled_dot_product_attention_with_attn_weights(q, k, v, {}, 0.5);
  check_close(out, matmul(w, v), 1e-12, 1e-12);  // the weights returned are the ones used
  const auto kept = values(std::get<1>(nn::functional::scaled_dot_product_attention_with_attn_weights(q, k, v)));
  const auto dropped = values(w);
  int zeros_seen = 0;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (dropped[i] == 0.0) {
      ++zeros_seen;
    } else {
      CHECK(dropped[i] == doctest::Approx(2.0 * kept[i]).epsilon(1e-12));  // scaled by 1 / (1 - p)
    }
  }
  CHECK(zeros_seen > 0);
  CHECK(zeros_seen < 30);

  // The layer drops only in training.
  nn::PackedMultiheadAttention attention(4, 2, /*dropout=*/0.5);
  attention->to(kFloat64);
  const Tensor x = randn({2, 5, 4}, kFloat64);
  const Tensor trained = std::get<1>(attention->forward_with_attn_weights(x, x, x, {}, {}, false));
  CHECK(values(trained.eq(0.0).sum()).front() > 0);
  attention->eval();
  const Tensor evaluated = std::get<1>(attention->forward_with_attn_weights(x, x, x, {}, {}, false));
  check_close(evaluated.sum(-1), ones({2, 2, 5}, kFloat64), 1e-12, 1e-12);
}

TEST_CASE("attention weights are differentiable: the gradient reaches the inputs and every projection") {
  manual_seed(10);
  nn::MultiheadAttention m(nn::MultiheadAttentionOptions(4, 2));
  const Tensor query = randn({2, 3, 4}).requires_grad_(), key = randn({2, 5, 4}).requires_grad_();
  const Tensor value = randn({2, 5, 4}).requires_grad_();
  // A loss on the weights alone: its gradient flows through softmax(Q K^T), not through V.
  const Tensor w = std::get<1>(m.forward_with_attn_weights(query, key, value));
  (w * randn(w.sizes())).sum().backward();
  CHECK(query.grad().abs().sum().item<float>() > 0);
  CHECK(key.grad().abs().sum().item<float>() > 0);
  CHECK_FALSE(value.grad().defined());
  for (const auto& [name, p] : m.named_parameters()) {
    INFO(name);
    const bool reaches = name.rfind("q_proj", 0) == 0 || name.rfind("k_proj", 0) == 0;
    CHECK(p.grad().defined() == reaches);
  }
}
