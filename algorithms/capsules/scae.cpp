// The Stacked Capsule Autoencoder (algorithms/capsules/scae.h): Kosiorek, Sabour, Teh & Hinton
// 2019. Equations are the paper's; settings the released code's (configs/model_config.py,
// run_mnist.sh), named where used.
#include "cake/algorithms/capsules/scae.h"

#include <chrono>
#include <cmath>
#include <numbers>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/train/epoch_schedule.h"
#include "cake/algorithms/train/running_fit.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/nn_ops.h"
#include "cake/autograd/ops.h"
#include "cake/autograd/spatial.h"
#include "cake/data/transforms.h"
#include "cake/nn/functional.h"
#include "cake/optim/rmsprop.h"
#include "cake/tensor/creation.h"

namespace cake::capsules {

namespace F = cake::nn::functional;

namespace {

constexpr double kLog2Pi = 1.8378770664093453;  // log(2 pi)
// The dummy component of the part mixture: weight logit and log density -2 log 10 (the
// released CapsuleLikelihood), i.e. a 0.01 chance of a part no object explains.
const double kDummyLog = -2.0 * std::log(10.0);

// Element i of the last dim, keeping that dim (size 1), so results broadcast and concatenate.
Tensor entry(const Tensor& t, std::int64_t i) { return t.narrow(t.dim() - 1, i, 1); }

// log N(x | mean, std^2) per element.
Tensor normal_log_density(const Tensor& x, const Tensor& mean, const Tensor& std) {
  const Tensor z = (x - mean) / std;
  return z.square() * -0.5 - std.log() - 0.5 * kLog2Pi;
}

// p log p summed over `dim`, with 0 log 0 = 0.
Tensor entropy(const Tensor& p, std::int64_t dim) { return -(p * p.clamp(1e-16, std::nullopt).log()).sum({dim}); }

// Uniform noise of width `width` around 0 (training only), drawn from the global generator so a
// resumed run draws the same numbers.
Tensor with_noise(const Tensor& logits, double width, bool training) {
  if (!training || width == 0.0) return logits;
  return logits + (rand_like(logits) - 0.5) * width;
}

// Per-capsule linear maps (the released BatchLinear): x [B, K, in], w [K, in, out] -> [B, K, out],
// as K products [B, in] x [in, out] (batched over the capsules, so w is never copied per image).
Tensor batch_linear(const Tensor& x, const Tensor& w) { return bmm(x.transpose(0, 1), w).transpose(0, 1); }

Tensor uniform_parameter(const Shape& shape, double bound) { return rand(shape) * (2.0 * bound) - bound; }

}  // namespace

// ---- the maths --------------------------------------------------------------------------------

Tensor pose_to_affine(const Tensor& params) {
  CAKE_CHECK(params.dim() >= 1 && params.size(-1) == 6, "pose_to_affine: expected [..., 6] pose parameters, got shape ",
             params.sizes());
  const Tensor sx = entry(params, 0).sigmoid() + 0.01, sy = entry(params, 1).sigmoid() + 0.01;
  const Tensor angle = entry(params, 2) * (2.0 * std::numbers::pi);
  const Tensor shear = (entry(params, 3) * 5.0).tanh();
  const Tensor tx = (entry(params, 4) * 5.0).tanh(), ty = (entry(params, 5) * 5.0).tanh();
  const Tensor c = angle.cos(), s = angle.sin();
  return cat({sx * c + shear * sy * s, -sx * s + shear * sy * c, tx, sy * s, sy * c, ty}, -1);
}

Tensor invert_affine(const Tensor& t) {
  CAKE_CHECK(t.dim() >= 1 && t.size(-1) == 6, "invert_affine: expected [..., 6] affine transforms, got shape ", t.sizes());
  const Tensor a = entry(t, 0), b = entry(t, 1), tx = entry(t, 2), c = entry(t, 3), d = entry(t, 4), ty = entry(t, 5);
  const Tensor inv_det = (a * d - b * c).reciprocal();
  // [a b; c d]^-1 = [d -b; -c a] / det, and the translation -A^-1 t.
  const Tensor ia = d * inv_det, ib = -b * inv_det, ic = -c * inv_det, id = a * inv_det;
  return cat({ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)}, -1);
}

Tensor compose_affine(const Tensor& p, const Tensor& q) {
  CAKE_CHECK(p.size(-1) == 6 && q.size(-1) == 6, "compose_affine: expected [..., 6] transforms, got shapes ", p.sizes(),
             " and ", q.sizes());
  const Tensor pa = entry(p, 0), pb = entry(p, 1), ptx = entry(p, 2), pc = entry(p, 3), pd = entry(p, 4), pty = entry(p, 5);
  const Tensor qa = entry(q, 0), qb = entry(q, 1), qtx = entry(q, 2), qc = entry(q, 3), qd = entry(q, 4), qty = entry(q, 5);
  // (A_p, t_p) o (A_q, t_q) = (A_p A_q, A_p t_q + t_p).
  return cat({pa * qa + pb * qc, pa * qb + pb * qd, pa * qtx + pb * qty + ptx,  //
              pc * qa + pd * qc, pc * qb + pd * qd, pc * qtx + pd * qty + pty},
             -1);
}

Tensor image_log_likelihood(const Tensor& image, const Tensor& means, const Tensor& log_weights, double sigma) {
  CAKE_CHECK(image.dim() == 4 && means.dim() == 5 && means.size(0) == image.size(0) &&
                 means.sizes().back() == image.size(3) && means.size(2) == image.size(1),
             "image_log_likelihood: image [B, C, H, W] and means [B, M, C, H, W] expected, got shapes ", image.sizes(),
             " and ", means.sizes());
  CAKE_CHECK(log_weights.dim() == 5 && log_weights.size(1) == means.size(1) && log_weights.size(2) == 1,
             "image_log_likelihood: log_weights must be [B, M, 1, H, W], got shape ", log_weights.sizes());
  CAKE_CHECK(sigma > 0, "image_log_likelihood: sigma must be positive, got ", sigma);
  // Per pixel, with w_m the log weights and mu_m the component means over the C channels,
  //   log sum_m softmax(w)_m N(y | mu_m, sigma^2 I)
  //     = logsumexp_m(w_m - |y - mu_m|^2 / (2 sigma^2)) - logsumexp_m(w_m) - C (log sigma + log(2 pi) / 2):
  // the Gaussian's normalising constant is the same for every component, so it leaves the
  // log-sum-exp, and the softmax's normaliser is a log-sum-exp of its own. Written so, no
  // [B, M, C, H, W] tensor is made for the normalised weights or for the constant (the image
  // likelihood is the bulk of SCAE's elementwise work).
  const std::int64_t C = image.size(1), pixels = image.size(2) * image.size(3);
  const Tensor squared = (image.unsqueeze(1) - means).square();
  const Tensor distance = C == 1 ? squared : squared.sum({2}, true);  // [B, M, 1, H, W]
  const Tensor joint = logsumexp(add(log_weights, distance, -0.5 / (sigma * sigma)), {1});
  const Tensor normaliser = logsumexp(log_weights, {1});
  const double constant = static_cast<double>(C * pixels) * (std::log(sigma) + 0.5 * kLog2Pi);
  return (joint - normaliser).sum({1, 2, 3}) - constant;  // summed over the pixels
}

PartLikelihood part_log_likelihood(const Tensor& parts, const Tensor& part_presence, const Tensor& votes,
                                   const Tensor& scales, const Tensor& log_vote_presence, bool tied,
                                   bool normalised) {
  CAKE_CHECK(parts.dim() == 3 && votes.dim() == 4 && votes.size(0) == parts.size(0) && votes.size(3) == parts.size(2),
             "part_log_likelihood: parts [B, M, P] and votes [B, K, N, P] expected, got shapes ", parts.sizes(), " and ",
             votes.sizes());
  CAKE_CHECK(part_presence.sizes() == Shape({parts.size(0), parts.size(1)}),
             "part_log_likelihood: part_presence must be [B, M] = [", parts.size(0), ", ", parts.size(1), "], got shape ",
             part_presence.sizes());
  const Shape bkn = {votes.size(0), votes.size(1), votes.size(2)};
  CAKE_CHECK(scales.sizes() == bkn && log_vote_presence.sizes() == bkn,
             "part_log_likelihood: scales and log_vote_presence must be [B, K, N] = ", bkn, ", got shapes ",
             scales.sizes(), " and ", log_vote_presence.sizes());
  CAKE_CHECK(!tied || votes.size(2) == parts.size(1), "part_log_likelihood: tied candidates need N = M, got N = ",
             votes.size(2), " and M = ", parts.size(1));
  const std::int64_t B = parts.size(0), M = parts.size(1), K = votes.size(1), N = votes.size(2);
  // Every candidate c (an object k and its candidate n) and its log density at every part m:
  // log_density [B, C, M] and the unnormalised log weights log(a_k a_{k,n}) [B, C, M].
  Tensor log_density, log_weight;
  if (tied) {  // candidate n = m only: C = K
    log_density = normal_log_density(parts.unsqueeze(1), votes, scales.unsqueeze(-1)).sum({3});
    log_weight = log_vote_presence;
  } else {  // every candidate of every object: C = K N
    const Tensor v = votes.reshape({B, K * N, 1, votes.size(3)});
    log_density = normal_log_density(parts.unsqueeze(1), v, scales.reshape({B, K * N, 1, 1})).sum({3});
    log_weight = log_vote_presence.reshape({B, K * N, 1}).expand({B, K * N, M});
  }
  const Tensor dummy = full({B, 1, M}, kDummyLog, TensorOptions(parts.dtype(), parts.device()));
  // a_k a_{k,n} / (sum_i a_i sum_j a_{i,j}), with the dummy among the i, j: a log-softmax (eq. 7);
  // or the weights as they are (the released code).
  const Tensor log_weights = cat({log_weight, dummy}, 1);
  const Tensor log_mix = normalised ? log_softmax(log_weights, 1) : log_weights;
  const Tensor joint = log_mix + cat({log_density, dummy}, 1);  // [B, C + 1, M]
  const Tensor per_part = logsumexp(joint, {1});                 // [B, M]
  PartLikelihood out;
  out.log_prob = (per_part * part_presence).sum({1});            // the exponent d_m
  Tensor posterior = softmax(joint, 1).narrow(1, 0, joint.size(1) - 1);
  out.posterior = tied ? posterior : posterior.reshape({B, K, N, M}).sum({2});
  return out;
}

SparsityTerms prior_sparsity(const Tensor& presence, double within_constant, std::int64_t n_classes) {
  CAKE_CHECK(presence.dim() == 2, "prior_sparsity: presences must be [B, K], got shape ", presence.sizes());
  CAKE_CHECK(n_classes > 0, "prior_sparsity: n_classes must be positive, got ", n_classes);
  const auto B = static_cast<double>(presence.size(0)), K = static_cast<double>(presence.size(1));
  const double within_target = within_constant > 0 ? within_constant : K / static_cast<double>(n_classes);
  const double between_target = B / static_cast<double>(n_classes);
  return {(presence.sum({1}) - within_target).square().sum() / B, (presence.sum({0}) - between_target).square().sum() / K};
}

SparsityTerms posterior_sparsity(const Tensor& mass) {
  CAKE_CHECK(mass.dim() == 2, "posterior_sparsity: mass must be [B, K], got shape ", mass.sizes());
  const Tensor per_image = mass / (mass.sum({1}, true) + 1e-8);
  const Tensor over_batch = mass.sum({0});
  return {entropy(per_image, 1).mean(), entropy(over_batch / (over_batch.sum() + 1e-8), 0)};
}

// ---- PCAE -------------------------------------------------------------------------------------

PartEncoder::PartEncoder(const SCAEOptions& o) : options(o) {
  std::int64_t side = o.image_size, in = o.channels;
  const std::int64_t strides[4] = {2, 2, 1, 1};
  for (std::int64_t i = 0; i < 4; ++i) {
    side = (side - 3) / strides[i] + 1;
    CAKE_CHECK(side >= 1, "SCAE: image_size ", o.image_size, " is too small for the 4 conv layers (3x3, strides 2, 2, 1, 1)");
    convs.push_back(register_module("conv" + std::to_string(i),
                                    std::make_shared<nn::Conv2d>(in, o.encoder_width, 3, nn::Conv2dOptions().stride(strides[i]))));
    in = o.encoder_width;
  }
  if (o.position_bias) position_bias = register_parameter("position_bias", zeros({1, o.encoder_width, side, side}));
  const std::int64_t per_capsule = 6 + o.n_part_features + 1;
  head = register_module("head", std::make_shared<nn::Conv2d>(in, o.n_part_caps * (per_capsule + 1), 1));
}

PartCapsules PartEncoder::encode(const Tensor& images) {
  Tensor h = images;
  for (auto& conv : convs) h = F::relu(conv->forward(h));
  if (position_bias.defined()) h = h + position_bias;
  const std::int64_t B = images.size(0), M = options.n_part_caps, D = 6 + options.n_part_features + 1;
  const Tensor out = head->forward(h).flatten(2);                                   // [B, M (D + 1), S]
  const Tensor values = out.narrow(1, 0, M * D).reshape({B, M, D, out.size(2)});
  const Tensor attention = softmax(out.narrow(1, M * D, M), 2).unsqueeze(2);        // [B, M, 1, S]
  const Tensor caps = (values * attention).sum({3});                                // [B, M, D]
  PartCapsules parts;
  parts.pose = pose_to_affine(caps.narrow(2, 0, 6));
  parts.feature = caps.narrow(2, 6, options.n_part_features);
  parts.presence_logit = with_noise(caps.select(2, D - 1), options.presence_noise, is_training());
  return parts;
}

TemplateDecoder::TemplateDecoder(const SCAEOptions& o) : options(o) {
  const std::int64_t M = o.n_part_caps, C = o.channels, T = o.template_size;
  // Logits in [0, 1], so templates start in [0.5, 0.73] (the released code: uniform-based, min-max scaled).
  template_logits = register_parameter("template_logits", rand({M, C, T, T}));
  alpha = register_parameter("alpha", zeros({M, 1, T, T}));
  background_logit = register_parameter("background_logit", zeros({1}));
  background_mixing = register_parameter("background_mixing", zeros({1}));
  colour_hidden = register_module("colour_hidden", std::make_shared<nn::Linear>(o.n_part_features, 32));
  colour_out = register_module("colour_out", std::make_shared<nn::Linear>(32, C));
}

Tensor TemplateDecoder::templates() const { return template_logits.sigmoid(); }

Tensor TemplateDecoder::colours(const Tensor& feature) {
  return colour_out->forward(F::relu(colour_hidden->forward(feature))).sigmoid();
}

Rendering TemplateDecoder::render(const Tensor& pose, const Tensor& log_presence, const Tensor& feature) {
  const std::int64_t B = pose.size(0), M = options.n_part_caps, C = options.channels, T = options.template_size;
  const std::int64_t S = options.image_size;
  CAKE_CHECK(pose.sizes() == Shape({B, M, 6}), "TemplateDecoder::render: pose must be [B, ", M, ", 6], got shape ",
             pose.sizes());
  // Templates and alpha moved together: the pose maps template coordinates to image
  // coordinates, so the image's pixels read the template through its inverse.
  const Tensor sheets = cat({templates(), alpha}, 1).unsqueeze(0).expand({B, M, C + 1, T, T}).reshape({B * M, C + 1, T, T});
  const Tensor grid = affine_grid(invert_affine(pose).reshape({B * M, 2, 3}), {B * M, C + 1, S, S});
  const Tensor moved = grid_sample(sheets, grid).reshape({B, M, C + 1, S, S});
  Rendering r;
  r.transformed = moved.narrow(2, 0, C);
  const Tensor coloured = r.transformed * colours(feature).reshape({B, M, C, 1, 1});
  const Tensor background = background_logit.sigmoid().reshape({1, 1, 1, 1, 1}).expand({B, 1, C, S, S});
  r.means = cat({coloured, background}, 1);
  const Tensor part_log_weights = moved.narrow(2, C, 1) + log_presence.reshape({B, M, 1, 1, 1});
  const Tensor background_log_weight = F::softplus(background_mixing).reshape({1, 1, 1, 1, 1}).expand({B, 1, 1, S, S});
  r.log_weights = cat({part_log_weights, background_log_weight}, 1);
  return r;
}

// ---- OCAE -------------------------------------------------------------------------------------

SetAttentionBlock::SetAttentionBlock(std::int64_t dims, std::int64_t heads) {
  attention = register_module("attention", std::make_shared<nn::MultiheadAttention>(nn::MultiheadAttentionOptions(dims, heads)));
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(Shape{dims}));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(Shape{dims}));
  mlp1 = register_module("mlp1", std::make_shared<nn::Linear>(dims, 2 * dims));
  mlp2 = register_module("mlp2", std::make_shared<nn::Linear>(2 * dims, dims));
}

Tensor SetAttentionBlock::forward(const Tensor& x, const Tensor& presence) {
  // Attention weighs part j by its presence d_j (a log d_j bias on the logits): a soft form of
  // the released code's mask, which subtracts (1 - d_j) 1e32.
  const Tensor bias = presence.clamp(1e-20, std::nullopt).log();
  const Tensor y = norm1->forward((x + attention->forward(x, x, x, bias)) * presence.unsqueeze(-1));
  return norm2->forward(y + mlp2->forward(F::relu(mlp1->forward(y))));
}

SetTransformer::SetTransformer(std::int64_t in_dims, const SCAEOptions& o) {
  input = register_module("input", std::make_shared<nn::Linear>(in_dims, o.set_dims));
  for (std::int64_t i = 0; i < o.set_layers; ++i)
    blocks.push_back(register_module("block" + std::to_string(i), std::make_shared<SetAttentionBlock>(o.set_dims, o.set_heads)));
  output = register_module("output", std::make_shared<nn::Linear>(o.set_dims, o.set_output_dims));
  seeds = register_parameter("seeds", uniform_parameter({o.n_obj_caps, o.set_output_dims},
                                                        std::sqrt(6.0 / static_cast<double>(o.n_obj_caps + o.set_output_dims))));
  pool = register_module("pool", std::make_shared<nn::MultiheadAttention>(
                                     nn::MultiheadAttentionOptions(o.set_output_dims, o.set_heads)));
}

Tensor SetTransformer::forward(const Tensor& parts, const Tensor& presence) {
  Tensor h = input->forward(parts);
  for (auto& block : blocks) h = block->forward(h, presence);
  const Tensor z = output->forward(h);
  const Tensor queries = seeds.unsqueeze(0).expand({parts.size(0), seeds.size(0), seeds.size(1)});
  return pool->forward(queries, z, z, presence.clamp(1e-20, std::nullopt).log());  // PMA
}

ObjectDecoder::ObjectDecoder(const SCAEOptions& o) : options(o) {
  const std::int64_t K = o.n_obj_caps, N = o.n_part_caps, H = o.obj_hidden, P = o.n_obj_features;
  const std::int64_t outputs = N * 6 + 6 + 1 + N + N;  // OP deformations, OV, a_k, a_{k,n}, lambda_{k,n}
  // Per-capsule weights ~ N(0, 1 / fan_in) (the released BatchLinear's truncated normal).
  auto weight = [&](const char* name, std::int64_t in, std::int64_t out) {
    return register_parameter(name, randn({K, in, out}) / std::sqrt(static_cast<double>(in)));
  };
  w1 = weight("w1", o.set_output_dims, H);
  b1 = register_parameter("b1", zeros({K, H}));
  w2 = weight("w2", H, P);
  b2 = register_parameter("b2", zeros({K, P}));
  w3 = weight("w3", P + 1, H);
  w4 = weight("w4", H, outputs);
  ov_bias = register_parameter("ov_bias", zeros({K, 6}));
  presence_bias = register_parameter("presence_bias", zeros({K, 1}));
  vote_presence_bias = register_parameter("vote_presence_bias", zeros({K, N}));
  scale_bias = register_parameter("scale_bias", zeros({K, N}));
  op_static = register_parameter("op_static", uniform_parameter({K, N, 6}, std::sqrt(6.0 / static_cast<double>(N * 6 + 6))));
}

ObjectCapsules ObjectDecoder::decode(const Tensor& h) {
  const std::int64_t B = h.size(0), K = options.n_obj_caps, N = options.n_part_caps;
  ObjectCapsules o;
  o.feature = batch_linear(F::relu(batch_linear(h, w1) + b1), w2) + b2;  // c_k
  const Tensor with_one = cat({o.feature, ones({B, K, 1}, TensorOptions(h.dtype(), h.device()))}, 2);
  const Tensor out = batch_linear(F::relu(batch_linear(with_one, w3)), w4);
  const Tensor deformation = out.narrow(2, 0, N * 6).reshape({B, K, N, 6});
  const Tensor ov = out.narrow(2, N * 6, 6) + ov_bias;
  const Tensor presence_logit = with_noise(out.narrow(2, N * 6 + 6, 1) + presence_bias, options.presence_noise, is_training());
  const Tensor vote_logit = with_noise(out.narrow(2, N * 6 + 7, N) + vote_presence_bias, options.presence_noise, is_training());
  const Tensor scale = out.narrow(2, N * 6 + 7 + N, N) + scale_bias;
  // V_{k,n} = OV_k OP_{k,n} (eq. 6), OP = the static relation plus the input's deformation.
  o.votes = compose_affine(pose_to_affine(ov).unsqueeze(2), pose_to_affine(op_static + deformation));
  o.scales = F::softplus(scale + 0.5) + 0.01;
  o.log_vote_presence = F::logsigmoid(presence_logit) + F::logsigmoid(vote_logit);
  o.presence = amax(o.log_vote_presence.exp(), {2});
  o.dynamic_l2 = deformation.square().sum() / (2.0 * static_cast<double>(B));
  return o;
}

// ---- SCAE -------------------------------------------------------------------------------------

SCAE::SCAE(const SCAEOptions& o) : options(o) {
  CAKE_CHECK(o.n_part_caps >= 1 && o.n_obj_caps >= 1 && o.channels >= 1 && o.template_size >= 2,
             "SCAE: n_part_caps, n_obj_caps, channels must be positive and template_size >= 2");
  CAKE_CHECK(o.set_output_dims % o.set_heads == 0 && o.set_dims % o.set_heads == 0,
             "SCAE: set_dims and set_output_dims must be divisible by set_heads");
  part_encoder = register_module("part_encoder", std::make_shared<PartEncoder>(o));
  template_decoder = register_module("template_decoder", std::make_shared<TemplateDecoder>(o));
  const std::int64_t part_dims = 6 + 1 + o.n_part_features + o.channels * o.template_size * o.template_size;
  set_transformer = register_module("set_transformer", std::make_shared<SetTransformer>(part_dims, o));
  object_decoder = register_module("object_decoder", std::make_shared<ObjectDecoder>(o));
}

ObjectCapsules SCAE::object_capsules(const PartCapsules& parts) {
  // The parts as a set (pose, 1 - presence, feature, coloured template), gradients stopped
  // except through the features (the released stop_grad_caps_inpt).
  const std::int64_t B = parts.pose.size(0), M = options.n_part_caps;
  const Tensor presence = parts.presence_logit.sigmoid().detach();
  const Tensor coloured = template_decoder->templates().unsqueeze(0) *
                          template_decoder->colours(parts.feature).reshape({B, M, options.channels, 1, 1});
  const Tensor set =
      cat({parts.pose.detach(), (1.0 - presence).unsqueeze(2), parts.feature, coloured.detach().flatten(2)}, 2);
  return object_decoder->decode(set_transformer->forward(set, presence));
}

namespace {
void check_images(const Tensor& images, const SCAEOptions& o) {
  CAKE_CHECK(images.defined() && images.dim() == 4 && images.size(1) == o.channels && images.size(2) == o.image_size &&
                 images.size(3) == o.image_size,
             "SCAE: expected images [B, ", o.channels, ", ", o.image_size, ", ", o.image_size, "], got shape ",
             images.defined() ? images.sizes() : Shape{});
}
}  // namespace

SCAELoss SCAE::loss(const Tensor& images) {
  check_images(images, options);
  const std::int64_t M = options.n_part_caps;
  // PCAE: parts, and the image likelihood of their templates (eq. 3-4).
  const PartCapsules parts = part_encoder->encode(images);
  const Tensor log_presence = F::logsigmoid(parts.presence_logit), presence = parts.presence_logit.sigmoid();
  const Rendering r = template_decoder->render(parts.pose, log_presence, parts.feature);
  SCAELoss l;
  l.image_ll = image_log_likelihood(images, r.means, r.log_weights, options.pixel_std).mean();

  const ObjectCapsules objects = object_capsules(parts);
  // The part likelihood's targets (poses, presences) carry no gradient (stop_grad_caps_target).
  const PartLikelihood part = part_log_likelihood(parts.pose.detach(), presence.detach(), objects.votes, objects.scales,
                                                  objects.log_vote_presence, options.tied_candidates,
                                                  options.normalised_part_mixture);
  l.part_ll = part.log_prob.mean();

  // Sparsity (section 2.4): prior presences (l2) and the posterior share of parts per object.
  const Tensor mass = part.posterior.sum({2}) / static_cast<double>(M);
  const SparsityTerms prior = prior_sparsity(objects.presence, options.prior_within_constant, options.n_classes);
  const SparsityTerms posterior = posterior_sparsity(mass);
  l.prior_within = prior.within;
  l.prior_between = prior.between;
  l.posterior_within = posterior.within;
  l.posterior_between = posterior.between;
  l.dynamic_l2 = objects.dynamic_l2;
  l.total = -l.image_ll - options.part_ll_weight * l.part_ll + options.dynamic_l2_weight * l.dynamic_l2 +
            options.prior_within_weight * l.prior_within + options.prior_between_weight * l.prior_between +
            options.posterior_within_weight * l.posterior_within - options.posterior_between_weight * l.posterior_between;
  l.presences = objects.presence.detach();
  l.posterior_mass = mass.detach();
  return l;
}

Tensor SCAE::object_presences(const Tensor& images, std::int64_t batch_size) {
  return presences(images, batch_size).prior;
}

SCAE::Presences SCAE::presences(const Tensor& images, std::int64_t batch_size) {
  CAKE_CHECK(batch_size >= 1, "SCAE::presences: batch_size must be positive");
  check_images(images, options);
  const bool was_training = is_training();
  eval();
  NoGradGuard no_grad;
  std::vector<Tensor> prior, posterior;
  for (std::int64_t start = 0; start < images.size(0); start += batch_size) {
    const Tensor batch = images.narrow(0, start, std::min(batch_size, images.size(0) - start));
    const PartCapsules parts = part_encoder->encode(batch);  // no rendering needed
    const ObjectCapsules objects = object_capsules(parts);
    const PartLikelihood part = part_log_likelihood(parts.pose, parts.presence_logit.sigmoid(), objects.votes,
                                                    objects.scales, objects.log_vote_presence, options.tied_candidates,
                                                    options.normalised_part_mixture);
    prior.push_back(objects.presence);
    posterior.push_back(part.posterior.sum({2}) / static_cast<double>(options.n_part_caps));  // as the loss's mass
  }
  train(was_training);
  return {.prior = cat(prior, 0), .posterior = cat(posterior, 0)};
}

Tensor SCAE::reconstruct(const Tensor& images) {
  const bool was_training = is_training();
  eval();
  NoGradGuard no_grad;
  const PartCapsules parts = part_encoder->encode(images);
  const Rendering r = template_decoder->render(parts.pose, F::logsigmoid(parts.presence_logit), parts.feature);
  train(was_training);
  return (softmax(r.log_weights, 1) * r.means).sum({1});
}

// ---- training and evaluation ------------------------------------------------------------------

namespace {
void check_canvas(const Tensor& images, std::int64_t canvas, const char* who) {
  CAKE_CHECK(images.defined() && images.dim() == 4 && images.size(2) == images.size(3) && images.size(2) <= canvas,
             who, ": expected square images [N, C, S, S] with S <= canvas ", canvas, ", got shape ",
             images.defined() ? images.sizes() : Shape{});
}
}  // namespace

// With the padding of RandomCrop equal to the free space canvas - S, every canvas x canvas window
// of the padded image holds the whole image, at offset (free space - window offset), uniform in
// 0..canvas-S: exactly a random placement.
Tensor random_canvas(const Tensor& images, std::int64_t canvas) {
  check_canvas(images, canvas, "random_canvas");
  return data::RandomCrop(canvas, canvas - images.size(2))(images);
}

Tensor centred_canvas(const Tensor& images, std::int64_t canvas) {
  check_canvas(images, canvas, "centred_canvas");
  const std::int64_t side = images.size(2), offset = (canvas - side) / 2;
  Tensor out = zeros({images.size(0), images.size(1), canvas, canvas}, {images.dtype(), images.device()});
  out.narrow(2, offset, side).narrow(3, offset, side).copy_(images);
  return out;
}

train::TrainResult fit(SCAE& model, const Tensor& images, const SCAETrainOptions& options,
                       const train::TrainerOptions& trainer_options, const SCAEEpochCallback& on_epoch_end) {
  const SCAEOptions& o = model.options;
  CAKE_CHECK(options.canvas == 0 || options.canvas == o.image_size, "capsules::fit: canvas ", options.canvas,
             " must equal the model's image_size ", o.image_size, " (or be 0: the images as they are)");
  const bool on_canvas = options.canvas > 0;
  const bool shape_ok = images.defined() && images.dim() == 4 && images.size(1) == o.channels &&
                        images.size(2) == images.size(3) &&
                        (on_canvas ? images.size(2) <= o.image_size : images.size(2) == o.image_size);
  CAKE_CHECK(shape_ok, "capsules::fit: expected images [N, ", o.channels, ", S, S] with S ",
             on_canvas ? "<= the canvas " : "= the model's image_size ", o.image_size, ", got shape ",
             images.defined() ? images.sizes() : Shape{});
  CAKE_CHECK(options.lr > 0, "capsules::fit: lr must be positive, got ", options.lr);
  CAKE_CHECK(options.lr_decay > 0 && options.decay_every >= 1, "capsules::fit: lr_decay must be positive and "
             "decay_every at least 1, got ", options.lr_decay, " and ", options.decay_every);
  const double eps = options.eps > 0 ? options.eps : 0.1 / static_cast<double>(trainer_options.batch_size);
  optim::RMSprop rmsprop(model.parameters(),
                         optim::RMSpropOptions().lr(options.lr).alpha(options.rmsprop_alpha).eps(eps).momentum(options.momentum));
  const Device device = model.parameters().front().device();
  // The epoch's running sums of the loss terms, weighted by batch size.
  SCAEEpoch current;
  double seen = 0.0;
  auto started = std::chrono::steady_clock::now();
  train::Trainer trainer(model, rmsprop, [&](const data::Batch& batch) {
    const Tensor x = !on_canvas             ? batch.x
                     : options.canvas_shift ? random_canvas(batch.x, options.canvas)
                                            : centred_canvas(batch.x, options.canvas);
    const SCAELoss l = model.loss(x.to(device));
    const auto n = static_cast<double>(batch.x.size(0));
    current.image_ll += n * l.image_ll.item<double>();
    current.part_ll += n * l.part_ll.item<double>();
    current.prior_within += n * l.prior_within.item<double>();
    current.prior_between += n * l.prior_between.item<double>();
    current.posterior_within += n * l.posterior_within.item<double>();
    current.posterior_between += n * l.posterior_between.item<double>();
    current.mean_presence += n * l.presences.mean().item<double>();
    seen += n;
    return l.total;
  }, trainer_options);
  const train::StepDecay schedule{.lr = options.lr, .decay = options.lr_decay, .every = options.decay_every};
  train::attach_lr_schedule(trainer, rmsprop, [schedule](std::int64_t epoch) { return schedule.at(epoch); },
                            [&](std::int64_t epoch) {
                              current = SCAEEpoch{.epoch = epoch};
                              seen = 0.0;
                              started = std::chrono::steady_clock::now();
                            });
  trainer.on_epoch_end([&](const train::EpochStats& stats) {
    if (!on_epoch_end || seen == 0.0) return;
    SCAEEpoch e = current;
    for (double* v : {&e.image_ll, &e.part_ll, &e.prior_within, &e.prior_between, &e.posterior_within,
                      &e.posterior_between, &e.mean_presence})
      *v /= seen;
    e.loss = stats.train_loss;
    e.seconds = train::seconds_since(started);
    on_epoch_end(e, trainer);
  });
  return trainer.fit(std::make_shared<const data::TensorDataset>(images.detach().to(kCPU, kFloat32).contiguous()));
}

PresenceClustering cluster_presences(const Tensor& presences, const Tensor& labels, std::int64_t n_clusters,
                                     std::uint64_t seed) {
  CAKE_CHECK(presences.dim() == 2 && labels.dim() == 1 && labels.size(0) == presences.size(0),
             "cluster_presences: presences [N, K] and labels [N] expected, got shapes ", presences.sizes(), " and ",
             labels.sizes());
  cluster::KMeans kmeans({.n_clusters = n_clusters, .n_init = 10, .random_state = seed});
  PresenceClustering out;
  out.clusters = kmeans.fit_predict(presences.detach().to(kCPU, kFloat64).contiguous());
  const Tensor truth = labels.to(kCPU, kInt64);
  out.nmi = metrics::nmi(truth, out.clusters);
  out.acc = metrics::acc(truth, out.clusters);
  out.ari = metrics::ari(truth, out.clusters);
  return out;
}

}  // namespace cake::capsules
