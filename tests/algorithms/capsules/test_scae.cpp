// Tests for the Stacked Capsule Autoencoder (algorithms/capsules/scae.h): the pose algebra, both
// likelihoods and the sparsity terms against direct computations on tiny inputs, the stop
// gradients, a training run on images with a known answer, and an exact resume.
#include <filesystem>
#include <set>
#include <utility>

#include "cake/algorithms/capsules/scae.h"
#include "cake/autograd/engine.h"
#include "cake/autograd/nn_ops.h"
#include "cake/autograd/ops.h"
#include "helpers.h"

using namespace cake;
using namespace cake::capsules;
using cake::testing::check_close;
using cake::testing::values;
using cake::testing::kLog2Pi;

namespace {


double log_normal(double x, double mean, double std) {
  const double z = (x - mean) / std;
  return -0.5 * z * z - std::log(std) - 0.5 * kLog2Pi;
}
double log_sum_exp(const std::vector<double>& v) {
  double top = -1e300;
  for (double x : v) top = std::max(top, x);
  double s = 0;
  for (double x : v) s += std::exp(x - top);
  return top + std::log(s);
}

// A model small enough for a test: 24x24 images (the smallest the 4 conv layers accept is 23).
SCAEOptions tiny_options() {
  return {.image_size = 24, .n_part_caps = 4, .n_part_features = 3, .template_size = 5, .encoder_width = 8,
          .n_obj_caps = 3, .n_obj_features = 4, .set_layers = 1, .set_heads = 1, .set_dims = 8,
          .set_output_dims = 8, .obj_hidden = 8, .n_classes = 2};
}

// Images of one bright 6x6 square at a random place (a known answer: one part explains it).
Tensor squares(std::int64_t n, std::uint64_t seed) {
  manual_seed(seed);
  Tensor images = zeros({n, 1, 24, 24});
  const Tensor corners = randint(0, 18, {n, 2});
  const std::int64_t* c = corners.data_ptr<std::int64_t>();
  float* p = images.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t y = c[2 * i]; y < c[2 * i] + 6; ++y)
      for (std::int64_t x = c[2 * i + 1]; x < c[2 * i + 1] + 6; ++x) p[(i * 24 + y) * 24 + x] = 1.0F;
  return images;
}

}  // namespace

TEST_CASE("pose_to_affine: zero parameters give scale 0.51, no rotation, shear or shift; the determinant is s_x s_y") {
  check_close(pose_to_affine(zeros({1, 6}, kFloat64)), tensor({0.51, 0, 0, 0, 0.51, 0}, {1, 6}, kFloat64), 1e-12, 1e-12);
  manual_seed(1);
  const Tensor params = randn({5, 6}, kFloat64);
  const auto t = values(pose_to_affine(params)), p = values(params);
  for (std::size_t i = 0; i < 5; ++i) {
    const double sx = 1 / (1 + std::exp(-p[6 * i])) + 0.01, sy = 1 / (1 + std::exp(-p[6 * i + 1])) + 0.01;
    CHECK(t[6 * i] * t[6 * i + 4] - t[6 * i + 1] * t[6 * i + 3] == doctest::Approx(sx * sy).epsilon(1e-12));
  }
}

TEST_CASE("invert_affine and compose_affine: T o T^-1 is the identity, composition matches 3x3 matrices") {
  manual_seed(2);
  const Tensor t = pose_to_affine(randn({4, 6}, kFloat64));
  const Tensor identity = tensor({1, 0, 0, 0, 1, 0}, {1, 6}, kFloat64).expand({4, 6});
  check_close(compose_affine(t, invert_affine(t)), identity, 1e-10, 1e-10);
  check_close(compose_affine(invert_affine(t), t), identity, 1e-10, 1e-10);
  // Against homogeneous 3x3 matrices: [p; 0 0 1] [q; 0 0 1].
  const Tensor q = pose_to_affine(randn({4, 6}, kFloat64));
  auto as_matrix = [](const Tensor& a) {
    return cat({a.reshape({4, 2, 3}), tensor({0, 0, 1}, {1, 1, 3}, kFloat64).expand({4, 1, 3})}, 1);
  };
  check_close(compose_affine(t, q), matmul(as_matrix(t), as_matrix(q)).narrow(1, 0, 2).reshape({4, 6}), 1e-12, 1e-12);
}

TEST_CASE("image_log_likelihood matches a direct per-pixel mixture") {
  manual_seed(3);
  const std::int64_t B = 2, M = 3, C = 2, H = 2, W = 3;
  const Tensor image = rand({B, C, H, W}, kFloat64), means = rand({B, M, C, H, W}, kFloat64);
  const Tensor log_weights = randn({B, M, 1, H, W}, kFloat64);
  const double sigma = 0.3;
  const auto y = values(image), mu = values(means), lw = values(log_weights);
  const auto got = values(image_log_likelihood(image, means, log_weights, sigma));
  for (std::int64_t b = 0; b < B; ++b) {
    double total = 0;
    for (std::int64_t p = 0; p < H * W; ++p) {
      std::vector<double> w(M), joint(M);
      for (std::int64_t m = 0; m < M; ++m) w[static_cast<std::size_t>(m)] = lw[static_cast<std::size_t>((b * M + m) * H * W + p)];
      const double norm = log_sum_exp(w);
      for (std::int64_t m = 0; m < M; ++m) {
        double ll = w[static_cast<std::size_t>(m)] - norm;
        for (std::int64_t c = 0; c < C; ++c)
          ll += log_normal(y[static_cast<std::size_t>((b * C + c) * H * W + p)],
                           mu[static_cast<std::size_t>(((b * M + m) * C + c) * H * W + p)], sigma);
        joint[static_cast<std::size_t>(m)] = ll;
      }
      total += log_sum_exp(joint);
    }
    CHECK(got[static_cast<std::size_t>(b)] == doctest::Approx(total).epsilon(1e-10));
  }
}

TEST_CASE("image_log_likelihood: one channel, and gradients equal to those of the textbook form (softmax weights)") {
  manual_seed(16);
  for (const std::int64_t C : {1, 2}) {
    const Tensor image = rand({2, C, 3, 3}, kFloat64);
    const Tensor means = rand({2, 4, C, 3, 3}, kFloat64).requires_grad_();
    const Tensor log_weights = randn({2, 4, 1, 3, 3}, kFloat64).requires_grad_();
    const double sigma = 0.7;
    // log sum_m softmax(w)_m prod_c N(y_c | mu_mc, sigma^2), term by term.
    const Tensor z = (image.unsqueeze(1) - means) / sigma;
    const Tensor log_density = (z.square() * -0.5 - (std::log(sigma) + 0.5 * kLog2Pi)).sum({2}, true);
    const Tensor textbook = logsumexp(log_softmax(log_weights, 1) + log_density, {1}).sum({1, 2, 3});
    const Tensor got = image_log_likelihood(image, means, log_weights, sigma);
    check_close(got, textbook, 1e-12, 1e-12);
    const Tensor upstream = randn({2}, kFloat64);
    const TensorList expected = autograd::grad({(textbook * upstream).sum()}, {means, log_weights});
    const TensorList actual = autograd::grad({(got * upstream).sum()}, {means, log_weights});
    check_close(actual[0], expected[0], 1e-12, 1e-12);
    check_close(actual[1], expected[1], 1e-12, 1e-12);
  }
}

TEST_CASE("part_log_likelihood matches eq. 7 computed directly, tied and untied, normalised or as the released code, with its posterior") {
  manual_seed(4);
  const std::int64_t B = 2, M = 3, K = 2, P = 6;
  const Tensor parts = randn({B, M, P}, kFloat64), presence = rand({B, M}, kFloat64);
  const Tensor votes = randn({B, K, M, P}, kFloat64), scales = rand({B, K, M}, kFloat64) + 0.5;
  const Tensor log_a = (rand({B, K, M}, kFloat64) * 0.98 + 0.01).log();
  const auto x = values(parts), d = values(presence), v = values(votes), s = values(scales), la = values(log_a);
  const double dummy = -2 * std::log(10.0);
  auto at = [](std::int64_t b, std::int64_t k, std::int64_t n) { return static_cast<std::size_t>((b * K + k) * M + n); };
  for (auto [tied, normalised] : {std::pair{true, true}, {false, true}, {true, false}, {false, false}}) {
    CAPTURE(tied);
    CAPTURE(normalised);
    const PartLikelihood got = part_log_likelihood(parts, presence, votes, scales, log_a, tied, normalised);
    const auto lp = values(got.log_prob), post = values(got.posterior);
    for (std::int64_t b = 0; b < B; ++b) {
      double total = 0;
      for (std::int64_t m = 0; m < M; ++m) {
        // Components: (k, n) with n = m when tied, every (k, n) otherwise; then the dummy.
        std::vector<double> weights, joint;
        std::vector<std::int64_t> owner;
        for (std::int64_t k = 0; k < K; ++k)
          for (std::int64_t n = 0; n < M; ++n) {
            if (tied && n != m) continue;
            double ll = 0;
            for (std::int64_t p = 0; p < P; ++p)
              ll += log_normal(x[static_cast<std::size_t>((b * M + m) * P + p)], v[at(b, k, n) * P + static_cast<std::size_t>(p)], s[at(b, k, n)]);
            weights.push_back(la[at(b, k, n)]);
            joint.push_back(ll);
            owner.push_back(k);
          }
        weights.push_back(dummy);
        joint.push_back(dummy);
        // Eq. 7 divides the weights by their sum; the released code takes them as they are.
        const double norm = normalised ? log_sum_exp(weights) : 0.0;
        for (std::size_t c = 0; c < joint.size(); ++c) joint[c] += weights[c] - norm;
        const double mix = log_sum_exp(joint);
        total += d[static_cast<std::size_t>(b * M + m)] * mix;
        for (std::int64_t k = 0; k < K; ++k) {
          double r = 0;
          for (std::size_t c = 0; c + 1 < joint.size(); ++c)
            if (owner[c] == k) r += std::exp(joint[c] - mix);
          CHECK(post[at(b, k, m)] == doctest::Approx(r).epsilon(1e-10));
        }
      }
      CHECK(lp[static_cast<std::size_t>(b)] == doctest::Approx(total).epsilon(1e-10));
    }
  }
}

TEST_CASE("the sparsity terms match their definitions") {
  const Tensor a = tensor({0.9, 0.1, 0.0, 0.5, 0.5, 1.0}, {2, 3}, kFloat64);
  const SparsityTerms prior = prior_sparsity(a, 1.0, 3);
  // Sums per image 1.0, 2.0 (target 1): (0 + 1) / 2. Sums per object 1.4, 0.6, 1.0 (target 2/3).
  CHECK(prior.within.item<double>() == doctest::Approx(0.5));
  const double t = 2.0 / 3.0;
  CHECK(prior.between.item<double>() ==
        doctest::Approx(((1.4 - t) * (1.4 - t) + (0.6 - t) * (0.6 - t) + (1.0 - t) * (1.0 - t)) / 3));
  const SparsityTerms post = posterior_sparsity(a);
  auto h = [](std::vector<double> p) {
    double s = 0, e = 0;
    for (double x : p) s += x;
    for (double x : p)
      if (x > 0) e -= x / s * std::log(x / s);
    return e;
  };
  CHECK(post.within.item<double>() == doctest::Approx((h({0.9, 0.1, 0.0}) + h({0.5, 0.5, 1.0})) / 2).epsilon(1e-6));
  CHECK(post.between.item<double>() == doctest::Approx(h({1.4, 0.6, 1.0})).epsilon(1e-6));
}

TEST_CASE("SCAE: the joint loss is finite; the part likelihood sends no gradient into the templates (stop gradient)") {
  manual_seed(5);
  SCAE scae(tiny_options());
  const Tensor images = squares(4, 6);
  SCAELoss l = scae.loss(images);
  CHECK(std::isfinite(l.total.item<double>()));
  CHECK(l.presences.sizes() == Shape({4, 3}));
  l.part_ll.backward();
  const Tensor& g = scae.template_decoder->template_logits.grad();
  CHECK((!g.defined() || g.abs().sum().item<double>() == 0.0));
  // ... but it does reach the object decoder and, through the special features, the encoder.
  CHECK(scae.object_decoder->w4.grad().abs().sum().item<double>() > 0);
  CHECK(scae.part_encoder->head->weight.grad().abs().sum().item<double>() > 0);
  CHECK_THROWS_WITH_AS(scae.loss(zeros({2, 1, 28, 28})), doctest::Contains("[B, 1, 24, 24]"), Error);
}

TEST_CASE("PCAE known answer: the image likelihood's gradient finds the pose that drew the image") {
  // One template (an L of ones), drawn at a known pose; starting 3.5 pixels away, gradient
  // ascent on log p(y | pose) through grid_sample must bring the translation back.
  manual_seed(7);
  SCAEOptions o = tiny_options();
  o.n_part_caps = 1;
  o.template_size = 7;
  TemplateDecoder decoder(o);
  Tensor pattern = full({1, 1, 7, 7}, -6.0);
  pattern.narrow(3, 1, 2).fill_(6.0);
  pattern.narrow(2, 4, 2).fill_(6.0);
  {
    NoGradGuard no_grad;
    decoder.template_logits.copy_(pattern);
  }
  const Tensor feature = zeros({1, 1, o.n_part_features}), log_presence = zeros({1, 1});
  const Tensor truth = tensor({0, 0, 0, 0, 0.06, -0.04}, {1, 1, 6});  // translation tanh(0.3), tanh(-0.2)
  Tensor image;
  {
    NoGradGuard no_grad;
    image = decoder.render(pose_to_affine(truth), log_presence, feature).means.narrow(1, 0, 1).squeeze(1);
  }
  Tensor raw = zeros({1, 1, 6}).requires_grad_(true);
  optim::Adam adam({raw}, optim::AdamOptions().lr(0.02));
  auto translation_error = [&] {
    const auto t = values(pose_to_affine(raw.detach())), u = values(pose_to_affine(truth));
    return std::hypot(t[2] - u[2], t[5] - u[5]);
  };
  const double before = translation_error();
  for (int step = 0; step < 150; ++step) {
    adam.zero_grad();
    const Rendering r = decoder.render(pose_to_affine(raw), log_presence, feature);
    (-image_log_likelihood(image, r.means, r.log_weights, 0.1).sum()).backward();
    adam.step();
  }
  MESSAGE("translation error " << before << " -> " << translation_error());
  CHECK(before > 0.3);
  CHECK(translation_error() < 0.03);
}

TEST_CASE("SCAE training raises the image log-likelihood of squares") {
  manual_seed(7);
  SCAE scae(tiny_options());
  const Tensor images = squares(64, 8);
  const double before = scae.loss(images).image_ll.item<double>();
  std::vector<SCAEEpoch> epochs;
  const auto result = fit(scae, images, {.lr = 3e-3}, {.epochs = 6, .batch_size = 16, .seed = 1},
                          [&](const SCAEEpoch& e, train::Trainer&) { epochs.push_back(e); });
  CHECK(result.stop_reason == train::StopReason::MaxEpochs);
  REQUIRE(epochs.size() == 6);
  scae.eval();
  const double after = scae.loss(images).image_ll.item<double>();
  MESSAGE("image log-likelihood " << before << " -> " << after);
  // From a grey canvas (background 0.5) to a dark one: about 0.5 * 0.4^2 per pixel of 576.
  CHECK(after > before + 15.0);
  CHECK(std::isfinite(epochs.back().part_ll));
}

namespace {

// Trains two epochs straight, and one epoch then one more from its checkpoint (the global
// generator scrambled in between): the weights must agree bit for bit.
void check_exact_resume(const SCAEOptions& model, const SCAETrainOptions& options, const Tensor& images,
                        const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "checkpoint.safetensors").string();
  manual_seed(10);
  SCAE straight(model);
  fit(straight, images, options, {.epochs = 2, .batch_size = 16, .seed = 2});

  manual_seed(10);
  SCAE first(model);
  fit(first, images, options, {.epochs = 1, .batch_size = 16, .seed = 2, .checkpoint_path = path});
  manual_seed(999);  // the generator's state must come from the checkpoint, not from here
  SCAE resumed(model);
  const auto result = fit(resumed, images, options, {.epochs = 2, .batch_size = 16, .seed = 2, .resume_from = path});
  CHECK(result.resumed_from_epoch == 1);
  const auto a = straight.named_parameters(), b = resumed.named_parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(values(a[i].second) == values(b[i].second));
  std::filesystem::remove_all(dir);
}

}  // namespace

TEST_CASE("SCAE training resumes exactly from a checkpoint") {
  check_exact_resume(tiny_options(), {.lr = 1e-3}, squares(32, 9), "cake_test_scae_resume");
}

namespace {
// Sum of |a - b| over all elements.
double abs_difference(const Tensor& a, const Tensor& b) { return (a - b).abs().sum().item<double>(); }
}  // namespace

TEST_CASE("random_canvas places each whole image at a uniform random offset; centred_canvas in the middle") {
  const Tensor images = squares(60, 3);  // [60, 1, 24, 24]
  manual_seed(4);
  const Tensor placed = random_canvas(images, 30);
  REQUIRE(placed.sizes() == Shape{60, 1, 30, 30});
  std::set<std::int64_t> offsets_seen;
  for (std::int64_t n = 0; n < 60; ++n) {
    const Tensor image = images.narrow(0, n, 1), canvas = placed.narrow(0, n, 1);
    // The canvas holds the image's ink and nothing else, at exactly one offset in 0..6 x 0..6.
    CHECK(canvas.sum().item<double>() == doctest::Approx(image.sum().item<double>()));
    std::int64_t matches = 0;
    for (std::int64_t y = 0; y <= 6; ++y)
      for (std::int64_t x = 0; x <= 6; ++x)
        if (abs_difference(canvas.narrow(2, y, 24).narrow(3, x, 24), image) == 0.0) {
          ++matches;
          offsets_seen.insert(y * 7 + x);
        }
    CHECK(matches == 1);
  }
  CHECK(offsets_seen.size() >= 20);  // 60 draws from 49 offsets: a fixed offset would give 1
  manual_seed(4);
  CHECK(abs_difference(random_canvas(images, 30), placed) == 0.0);  // the seed fixes the draws

  const Tensor centred = centred_canvas(images, 30);
  CHECK(abs_difference(centred.narrow(2, 3, 24).narrow(3, 3, 24), images) == 0.0);
  CHECK(centred.sum().item<double>() == doctest::Approx(images.sum().item<double>()));
  CHECK(abs_difference(centred_canvas(images, 24), images) == 0.0);
  CHECK_THROWS_WITH_AS(random_canvas(images, 20), doctest::Contains("canvas 20"), Error);
  CHECK_THROWS_WITH_AS(centred_canvas(images.narrow(3, 0, 20), 30), doctest::Contains("square"), Error);
}

TEST_CASE("SCAE on a random canvas: the model's image_size is the canvas; training resumes exactly") {
  SCAEOptions on_canvas = tiny_options();
  on_canvas.image_size = 28;
  const Tensor images = squares(32, 11);  // 24 x 24, placed on 28 x 28 at every step
  check_exact_resume(on_canvas, {.lr = 1e-3, .canvas = 28}, images, "cake_test_scae_canvas_resume");
  SCAE scae(on_canvas);
  CHECK_THROWS_WITH_AS(fit(scae, images, {.lr = 1e-3, .canvas = 30}, {.epochs = 1, .batch_size = 16}),
                       doctest::Contains("image_size 28"), Error);
  CHECK_THROWS_WITH_AS(fit(scae, images, {.lr = 1e-3}, {.epochs = 1, .batch_size = 16}),
                       doctest::Contains("got shape [32, 1, 24, 24]"), Error);
}

TEST_CASE("SCAE on a canvas without shifts (canvas_shift = false) trains as on images centred beforehand") {
  SCAEOptions on_canvas = tiny_options();
  on_canvas.image_size = 28;
  const Tensor images = squares(32, 12);
  manual_seed(10);
  SCAE centred_each_step(on_canvas);
  fit(centred_each_step, images, {.lr = 1e-3, .canvas = 28, .canvas_shift = false}, {.epochs = 2, .batch_size = 16, .seed = 2});
  manual_seed(10);
  SCAE centred_before(on_canvas);
  fit(centred_before, centred_canvas(images, 28), {.lr = 1e-3}, {.epochs = 2, .batch_size = 16, .seed = 2});
  const auto a = centred_each_step.named_parameters(), b = centred_before.named_parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(values(a[i].second) == values(b[i].second));
  // With the shifts the same seed trains another network.
  manual_seed(10);
  SCAE shifted(on_canvas);
  fit(shifted, images, {.lr = 1e-3, .canvas = 28}, {.epochs = 2, .batch_size = 16, .seed = 2});
  CHECK(abs_difference(shifted.named_parameters()[0].second, a[0].second) > 0.0);
}

TEST_CASE("part_log_likelihood as the released code: raising any object's presence never lowers log p(parts)") {
  // Without eq. 7's normaliser log p is a log-sum-exp of the log weights plus fixed densities:
  // increasing in each weight. With it, weights compete, and some derivatives are negative.
  manual_seed(6);
  const std::int64_t B = 2, M = 3, K = 4, P = 6;
  const Tensor parts = randn({B, M, P}, kFloat64), presence = rand({B, M}, kFloat64);
  const Tensor votes = randn({B, K, M, P}, kFloat64), scales = rand({B, K, M}, kFloat64) + 0.5;
  for (bool normalised : {false, true}) {
    CAPTURE(normalised);
    Tensor log_a = (rand({B, K, M}, kFloat64) * 0.98 + 0.01).log().requires_grad_(true);
    part_log_likelihood(parts, presence, votes, scales, log_a, true, normalised).log_prob.sum().backward();
    const double smallest = log_a.grad().min().item<double>();
    if (normalised) CHECK(smallest < 0.0);
    else CHECK(smallest >= 0.0);
  }
}

TEST_CASE("SCAE presences: the prior ones are object_presences, the posterior ones the loss's part mass") {
  manual_seed(12);
  SCAE scae(tiny_options());
  const Tensor images = squares(10, 13);
  REQUIRE(scae.is_training());
  const SCAE::Presences p = scae.presences(images, 4);  // batches of 4, 4 and 2
  CHECK(scae.is_training());  // evaluated in eval mode, then put back
  REQUIRE(p.prior.sizes() == Shape{10, 3});
  REQUIRE(p.posterior.sizes() == Shape{10, 3});
  // Other batches (3 rather than 4 images) give the same presences in eval mode, up to the
  // rounding of GEMMs of another height (BLAS may block them differently).
  check_close(p.prior, scae.object_presences(images, 3), 1e-6, 1e-6);
  scae.eval();  // no presence noise: the loss sees the same objects
  check_close(p.posterior, scae.loss(images).posterior_mass, 1e-5, 1e-6);
  // Each part's responsibilities over the objects and the dummy sum to 1, so the objects' shares
  // of the parts sum to at most 1 per image.
  for (double share : values(p.posterior.sum({1}))) {
    CHECK(share >= 0.0);
    CHECK(share <= 1.0 + 1e-6);
  }
  (void)scae.presences(images);
  CHECK_FALSE(scae.is_training());  // and an eval-mode model stays in eval mode
}

TEST_CASE("SCAE's step decay of the learning rate changes training and resumes exactly") {
  const Tensor images = squares(32, 14);
  const SCAETrainOptions decayed{.lr = 1e-3, .lr_decay = 0.1, .decay_every = 1};  // epoch 2 at 1e-4
  check_exact_resume(tiny_options(), decayed, images, "cake_test_scae_decay_resume");
  auto two_epochs = [&](const SCAETrainOptions& options) {
    manual_seed(15);
    SCAE scae(tiny_options());
    fit(scae, images, options, {.epochs = 2, .batch_size = 16, .seed = 3});
    return values(scae.template_decoder->templates());
  };
  CHECK(two_epochs(decayed) != two_epochs({.lr = 1e-3}));
  // decay_every beyond the epochs trained: the same run as a constant lr, bit for bit.
  CHECK(two_epochs({.lr = 1e-3, .lr_decay = 0.1, .decay_every = 2}) == two_epochs({.lr = 1e-3}));
  SCAE scae(tiny_options());
  CHECK_THROWS_WITH_AS(fit(scae, images, {.lr = 1e-3, .lr_decay = 0.0}, {.epochs = 1, .batch_size = 16}),
                       doctest::Contains("lr_decay"), Error);
}

TEST_CASE("the part encoder's position bias: zeros at the start (the same capsules as without it), then learned") {
  SCAEOptions without = tiny_options();
  without.position_bias = false;
  manual_seed(19);
  SCAE biased(tiny_options());
  manual_seed(19);
  SCAE plain(without);
  // tiny_options' 24 x 24 images leave a 1 x 1 feature map after the 4 convolutions.
  REQUIRE(biased.part_encoder->position_bias.sizes() == Shape{1, 8, 1, 1});
  CHECK_FALSE(plain.part_encoder->position_bias.defined());
  CHECK(biased.parameters().size() == plain.parameters().size() + 1);
  const Tensor images = squares(6, 20);
  biased.eval();
  plain.eval();
  check_close(biased.part_encoder->encode(images).pose, plain.part_encoder->encode(images).pose, 0.0, 0.0);
  biased.train();
  (-biased.loss(images).total).backward();
  CHECK(biased.part_encoder->position_bias.grad().abs().sum().item<double>() > 0.0);
}
