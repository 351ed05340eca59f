// Tests for algorithms/deep_clustering/dec.h: the soft assignments (eq. 1) and the target
// distribution (eq. 3) against a hand computation, the KL loss (eq. 2) and its gradient, the
// stopping rule, DEC and IDEC on well-separated blobs, and the exact resume.
#include <cmath>

#include "cake/algorithms/deep_clustering/dec.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/nn/linear.h"
#include "cake/nn/sequential.h"
#include "data/test_files.h"
#include "helpers.h"

using namespace cake;
using namespace cake::deep_clustering;
using cake::testing::check_close;

namespace {

// An autoencoder of 2-D points stored as [N, 1, 1, 2] "images" whose encoder and decoder are
// Linear(2, 2) layers starting as the identity: DEC then starts from the points themselves.
class IdentityStartAutoencoder : public networks::Autoencoder {
 public:
  IdentityStartAutoencoder() : Autoencoder({1, 1, 2}) {
    encoder_ = register_module("encoder", std::make_shared<nn::Sequential>());
    encoder_->push_back(std::make_shared<nn::Flatten>());
    auto in = std::make_shared<nn::Linear>(2, 2);
    encoder_->push_back(in);
    decoder_ = register_module("decoder", std::make_shared<nn::Sequential>());
    auto out = std::make_shared<nn::Linear>(2, 2);
    decoder_->push_back(out);
    decoder_->push_back(std::make_shared<nn::Unflatten>(1, Shape{1, 1, 2}));
    NoGradGuard no_grad;
    for (const auto& layer : {in, out}) {
      layer->weight.copy_(eye(2));
      layer->bias.zero_();
    }
  }
  Tensor encode(const Tensor& x) override { return encoder_->forward(x); }
  Tensor decode(const Tensor& z) override { return decoder_->forward(z); }
  std::int64_t latent_dim() const override { return 2; }
  std::shared_ptr<nn::Module> encoder() const override { return encoder_; }

 private:
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
};

// n points around each of three centres far apart, as [3n, 1, 1, 2], with their labels.
struct Blobs {
  Tensor images, labels;
};
Blobs blobs(std::int64_t n, double spread, std::uint64_t seed) {
  manual_seed(seed);
  const Tensor centres = tensor(std::vector<float>{0, 0, 8, 0, 0, 8}, {3, 2});
  std::vector<std::int64_t> y;
  for (std::int64_t i = 0; i < 3 * n; ++i) y.push_back(i % 3);
  const Tensor labels = tensor(y, {3 * n});
  const Tensor points = index_select(centres, 0, labels) + randn({3 * n, 2}) * spread;
  return {points.reshape({3 * n, 1, 1, 2}), labels};
}

double accuracy(const Tensor& truth, const Tensor& predicted) { return metrics::acc(truth, predicted); }

}  // namespace

TEST_CASE("DEC: q (eq. 1) and p (eq. 3) of three points and two centres, worked by hand") {
  const Tensor z = tensor(std::vector<double>{0, 0, 1, 0, 0, 2}, {3, 2});
  const Tensor centres = tensor(std::vector<double>{0, 0, 1, 1}, {2, 2});
  // Squared distances [[0, 2], [1, 1], [4, 2]]; kernels 1 / (1 + d^2): [[1, 1/3], [1/2, 1/2], [1/5, 1/3]].
  const Tensor q = soft_assignment(z, centres);
  const std::vector<double> q_hand = {3.0 / 4, 1.0 / 4, 1.0 / 2, 1.0 / 2, 3.0 / 8, 5.0 / 8};
  check_close(q, tensor(q_hand, {3, 2}), 1e-12, 1e-12);
  // f = column sums = [13/8, 11/8]; q^2 / f row by row, each row normalised.
  const double r0a = (9.0 / 16) / (13.0 / 8), r0b = (1.0 / 16) / (11.0 / 8);
  const double r1a = (1.0 / 4) / (13.0 / 8), r1b = (1.0 / 4) / (11.0 / 8);
  const double r2a = (9.0 / 64) / (13.0 / 8), r2b = (25.0 / 64) / (11.0 / 8);
  const std::vector<double> p_hand = {r0a / (r0a + r0b), r0b / (r0a + r0b), r1a / (r1a + r1b),
                                      r1b / (r1a + r1b), r2a / (r2a + r2b), r2b / (r2a + r2b)};
  const Tensor p = target_distribution(q);
  check_close(p, tensor(p_hand, {3, 2}), 1e-12, 1e-12);
  CHECK(p_hand[2] == doctest::Approx(11.0 / 24));  // the middle point: 11/24 against 13/24
  // The target is sharper: each point's larger share grows.
  CHECK(p_hand[0] > q_hand[0]);
  CHECK(p_hand[5] > q_hand[5]);
  // eq. (2): sum_ij p log(p / q) per row.
  double kl = 0.0;
  for (std::size_t i = 0; i < 6; ++i) kl += p_hand[i] * std::log(p_hand[i] / q_hand[i]);
  CHECK(kl_clustering_loss(p, q).item<double>() == doctest::Approx(kl / 3.0).epsilon(1e-12));
  // alpha scales the kernel: (1 + d^2 / alpha)^(-(alpha + 1) / 2); alpha = 3 for the first point
  // gives kernels 1 and (1 + 2/3)^(-2) = 9/25.
  const Tensor q3 = soft_assignment(z.narrow(0, 0, 1), centres, 3.0);
  check_close(q3, tensor(std::vector<double>{25.0 / 34, 9.0 / 34}, {1, 2}), 1e-12, 1e-12);
  // p log p at p = 0 counts 0, not NaN.
  const Tensor p0 = tensor(std::vector<double>{1, 0}, {1, 2});
  CHECK(kl_clustering_loss(p0, tensor(std::vector<double>{0.5, 0.5}, {1, 2})).item<double>() ==
        doctest::Approx(std::log(2.0)));
}

TEST_CASE("DEC: the gradient of KL(P || Q) with respect to the codes and the centres (float64 gradcheck)") {
  manual_seed(3);
  const Tensor z = randn({5, 3}, kFloat64);
  const Tensor centres = randn({4, 3}, kFloat64);
  const Tensor p = target_distribution(soft_assignment(z, centres));  // a fixed target, as between refreshes
  for (double alpha : {1.0, 2.5})
    testing::gradcheck(
        [&](const std::vector<Tensor>& v) { return kl_clustering_loss(p, soft_assignment(v[0], v[1], alpha)); },
        {z.clone(), centres.clone()});
  // And the soft assignments themselves (eq. 1), a weighted sum of them to make a scalar.
  const Tensor weights = randn({5, 4}, kFloat64);
  testing::gradcheck([&](const std::vector<Tensor>& v) { return (soft_assignment(v[0], v[1]) * weights).sum(); },
                     {z.clone(), centres.clone()});
}

TEST_CASE("DEC: the stopping rule counts changed labels and stops only at a refresh") {
  CHECK(label_change_fraction(tensor(std::vector<std::int64_t>{0, 1, 2, 3}, {4}),
                              tensor(std::vector<std::int64_t>{0, 1, 2, 0}, {4})) == doctest::Approx(0.25));
  CHECK(label_change_fraction(tensor(std::vector<std::int64_t>{1, 1}, {2}), tensor(std::vector<std::int64_t>{1, 1}, {2})) == 0.0);
  CHECK(testing::error_message([] {
          label_change_fraction(tensor(std::vector<std::int64_t>{1}, {1}), tensor(std::vector<std::int64_t>{1, 1}, {2}));
        }).find("one length") != std::string::npos);

  const Blobs data = blobs(30, 0.5, 1);
  // tol 0.5: the second refresh already has fewer than half the labels changed, so the run stops
  // there, at step 2 update_interval, not at max_iter.
  {
    manual_seed(0);
    auto ae = std::make_shared<IdentityStartAutoencoder>();
    const DECResult r = fit_dec(ae, data.images, {.n_clusters = 3, .update_interval = 4, .tol = 0.5, .max_iter = 1000,
                                                  .batch_size = 16, .kmeans_n_init = 3});
    CHECK(r.converged);
    CHECK(r.steps == 4);
    REQUIRE(r.refreshes.size() == 2);
    CHECK(r.refreshes[0].step == 0);
    CHECK(r.refreshes[0].label_change == 1.0);
    CHECK(r.refreshes[1].step == 4);
    CHECK(r.refreshes[1].label_change < 0.5);
    CHECK(r.message.find("converged") != std::string::npos);
  }
  // tol 0: never converged; max_iter ends it.
  {
    manual_seed(0);
    auto ae = std::make_shared<IdentityStartAutoencoder>();
    const DECResult r = fit_dec(ae, data.images, {.n_clusters = 3, .update_interval = 4, .tol = 0.0, .max_iter = 13,
                                                  .batch_size = 16, .kmeans_n_init = 3});
    CHECK_FALSE(r.converged);
    CHECK(r.steps == 13);
    CHECK(r.refreshes.size() == 4);  // steps 0, 4, 8, 12
    CHECK(r.message.find("max_iter") != std::string::npos);
  }
}

TEST_CASE("DEC and IDEC on well-separated blobs keep or improve k-means' accuracy and sharpen Q") {
  const Blobs data = blobs(40, 1.2, 2);
  for (bool idec : {false, true}) {
    CAPTURE(idec);
    manual_seed(0);
    auto ae = std::make_shared<IdentityStartAutoencoder>();
    const DECResult r = fit_dec(ae, data.images, {.n_clusters = 3, .update_interval = 8, .tol = 0.0, .max_iter = 80,
                                                  .batch_size = 16, .reconstruction = idec, .kmeans_n_init = 5});
    const double before = accuracy(data.labels, r.initial_labels), after = accuracy(data.labels, r.labels);
    CHECK(before > 0.9);
    CHECK(after >= before - 1e-12);
    CHECK(r.labels.sizes() == Shape{120});
    CHECK(r.q.sizes() == Shape{120, 3});
    // The targets are sharper than the assignments at every refresh, and the assignments
    // themselves grow more confident (section 3.1.2).
    for (const DECRefresh& refresh : r.refreshes) CHECK(refresh.mean_max_p > refresh.mean_max_q);
    CHECK(r.refreshes.back().mean_max_q > r.refreshes.front().mean_max_q);
  }
}

TEST_CASE("DEC: N steps in one run and N/2 + a resume of N/2 give bit-identical centres and assignments") {
  testing::ScratchDir dir("cake_test_dec_resume");
  const Blobs data = blobs(20, 1.0, 4);  // 60 points, 4 batches of 16 per epoch
  const auto run = [&](std::int64_t max_iter, const std::string& checkpoint, const std::string& resume_from) {
    manual_seed(0);
    auto ae = std::make_shared<IdentityStartAutoencoder>();
    return fit_dec(ae, data.images, {.n_clusters = 3, .update_interval = 3, .tol = 0.0, .max_iter = max_iter,
                                     .batch_size = 16, .reconstruction = true, .kmeans_n_init = 2, .seed = 7,
                                     .checkpoint_path = checkpoint, .resume_from = resume_from});
  };
  const DECResult whole = run(8, (dir / "whole.safetensors").string(), "");
  const DECResult first = run(4, (dir / "half.safetensors").string(), "");
  CHECK(first.steps == 4);
  const DECResult resumed = run(8, (dir / "half2.safetensors").string(), (dir / "half.safetensors").string());
  CHECK(resumed.train.resumed_from_epoch == 1);
  CHECK(resumed.steps == 8);
  REQUIRE(whole.centres.sizes() == resumed.centres.sizes());
  CHECK(testing::values(whole.centres) == testing::values(resumed.centres));
  CHECK(testing::values(whole.q) == testing::values(resumed.q));
  CHECK(testing::values(whole.initial_labels) == testing::values(resumed.initial_labels));
  REQUIRE(whole.refreshes.size() == resumed.refreshes.size());
  for (std::size_t i = 0; i < whole.refreshes.size(); ++i) {
    CHECK(whole.refreshes[i].step == resumed.refreshes[i].step);
    CHECK(whole.refreshes[i].kl == resumed.refreshes[i].kl);
  }
}

TEST_CASE("DEC: clear errors for bad settings") {
  auto ae = std::make_shared<IdentityStartAutoencoder>();
  const Tensor images = zeros({4, 1, 1, 2});
  CHECK(testing::error_message([&] { fit_dec(ae, images, {.n_clusters = 5}); }).find("n_clusters") != std::string::npos);
  CHECK(testing::error_message([&] { fit_dec(ae, images, {.n_clusters = 2, .update_interval = 0}); })
            .find("update_interval") != std::string::npos);
  CHECK(testing::error_message([&] { soft_assignment(zeros({3, 2}), zeros({2, 3})); }).find("[3, 2]") != std::string::npos);
}
