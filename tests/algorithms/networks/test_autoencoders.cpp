// Tests for algorithms/networks/autoencoder.h, finetune.h and latent_clustering.h: the layer shapes of
// Bortoletto's (2021) network (and PyTorch's parameter count for it), the objectives against values
// worked by hand, a few training steps that lower each loss, files that rebuild the model, the
// frozen-encoder classifier, and clustering of codes.
#include <cmath>
#include <string>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/algorithms/train/finetune.h"
#include "cake/algorithms/deep_clustering/latent_clustering.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/train/trainer.h"
#include "data/test_files.h"
#include "helpers.h"
#include "algorithms/fixtures/prototype_images.h"

using namespace cake;
using namespace cake::algorithms;
using cake::testing::error_message;
using cake::testing::count_parameters;
using cake::testing::PrototypeImages;
using cake::testing::prototype_images;
namespace F = cake::nn::functional;

namespace {


// Runs `steps` Adam steps of `loss` on one batch; returns (first loss, last loss).
std::pair<double, double> descend(nn::Module& model, const std::function<Tensor()>& loss, int steps, double lr = 1e-2) {
  optim::Adam adam(model.parameters(), {.lr = lr});
  double first = 0.0, last = 0.0;
  for (int s = 0; s < steps; ++s) {
    adam.zero_grad();
    Tensor l = loss();
    if (s == 0) first = l.item<double>();
    last = l.item<double>();
    l.backward();
    adam.step();
  }
  return {first, last};
}

// An "autoencoder" that returns its input: decode(encode(x)) = x, for known-answer tests.
class IdentityAutoencoder : public Autoencoder {
 public:
  IdentityAutoencoder() : Autoencoder({1, 4, 4}) {}
  Tensor encode(const Tensor& x) override { return x.flatten(1); }
  Tensor decode(const Tensor& z) override { return z.reshape({z.size(0), 1, 4, 4}); }
  std::int64_t latent_dim() const override { return 16; }
  std::shared_ptr<nn::Module> encoder() const override { return nullptr; }
};

}  // namespace

TEST_CASE("ConvAutoencoder: Bortoletto's (2021) layers, shapes and PyTorch's parameter count") {
  manual_seed(0);
  ConvAutoencoder model(16);
  const Tensor x = rand({5, 1, 28, 28});
  const Tensor z = model.encode(x);
  CHECK(z.sizes() == Shape{5, 16});
  const Tensor y = model.decode(z);
  CHECK(y.sizes() == Shape{5, 1, 28, 28});
  CHECK(model.forward(x).sizes() == Shape{5, 1, 28, 28});
  // The sigmoid output lies in (0, 1).
  CHECK(y.min().item<double>() > 0.0);
  CHECK(y.max().item<double>() < 1.0);
  // The intermediate sizes: 28 -> 14 -> 7 -> 3, 32 * 3 * 3 = 288 features before the linear part.
  auto encoder = std::dynamic_pointer_cast<nn::Sequential>(model.encoder());
  REQUIRE(encoder != nullptr);
  Tensor h = x;
  std::vector<Shape> sizes;
  for (std::size_t i = 0; i < encoder->size(); ++i) sizes.push_back((h = (*encoder)[i]->forward(h)).sizes());
  CHECK(sizes[0] == Shape{5, 8, 14, 14});
  CHECK(sizes[2] == Shape{5, 16, 7, 7});
  CHECK(sizes[4] == Shape{5, 32, 3, 3});
  CHECK(sizes[6] == Shape{5, 288});
  CHECK(sizes[7] == Shape{5, 64});
  // torch: sum(p.numel() for p in the same nn.Module) = 25424 (encoder) + 25665 (decoder).
  CHECK(count_parameters(*model.encoder()) == 25424);
  CHECK(count_parameters(model) == 51089);
  // Other sizes compute their own flattened size and output paddings.
  ConvAutoencoder small(3, {2, 16, 16});
  CHECK(small.forward(rand({2, 2, 16, 16})).sizes() == Shape{2, 2, 16, 16});
  CHECK(error_message([] { ConvAutoencoder(4, {1, 8, 8}); }).find("too small") != std::string::npos);
  CHECK(error_message([&] { model.encode(rand({2, 1, 27, 28})); }).find("[2, 1, 27, 28]") != std::string::npos);
  CHECK(error_message([&] { model.decode(rand({2, 15})); }).find("[N, 16]") != std::string::npos);
}

TEST_CASE("MLPAutoencoder: layer sizes from the hidden list, mirrored decoder") {
  manual_seed(1);
  MLPAutoencoder model({64, 32}, 8, {1, 10, 10});
  const Tensor x = rand({3, 1, 10, 10});
  CHECK(model.encode(x).sizes() == Shape{3, 8});
  CHECK(model.forward(x).sizes() == Shape{3, 1, 10, 10});
  // 100*64+64 + 64*32+32 + 32*8+8, and back: 8*32+32 + 32*64+64 + 64*100+100
  CHECK(count_parameters(model) == (6464 + 2080 + 264) + (288 + 2112 + 6500));
  MLPAutoencoder no_hidden({}, 5, {1, 4, 4});
  CHECK(no_hidden.forward(rand({2, 1, 4, 4})).sizes() == Shape{2, 1, 4, 4});
}

TEST_CASE("autoencoder objectives: known answers") {
  IdentityAutoencoder identity;
  manual_seed(2);
  const Tensor x = rand({6, 1, 4, 4});
  CHECK(reconstruction_loss(identity, x).item<double>() == 0.0);
  // Without noise the denoising loss is the plain one; with noise (no clipping) the identity
  // model's error is the noise itself, whose mean square is sigma^2.
  CHECK(denoising_loss(identity, x, {.sigma = 0.0}).item<double>() == 0.0);
  const Tensor big = rand({400, 1, 4, 4});
  CHECK(denoising_loss(identity, big, {.sigma = 0.5, .clip = false}).item<double>() ==
        doctest::Approx(0.25).epsilon(0.05));
  // Masking: the identity model returns the masked input, 0 on the hidden pixels, so the error
  // over hidden pixels is the mean of x^2 there; over all pixels, that sum / all pixels.
  manual_seed(3);
  const Tensor hidden_loss = masked_loss(identity, x, {.patch = 2, .ratio = 0.5, .hidden_only = true});
  manual_seed(3);
  const Tensor mask = data::RandomMask(2, 0.5).apply(x).mask;
  const double expected_hidden = ((x * x) * mask).sum().item<double>() / mask.sum().item<double>();
  CHECK(hidden_loss.item<double>() == doctest::Approx(expected_hidden).epsilon(1e-6));
  manual_seed(3);
  const Tensor all_loss = masked_loss(identity, x, {.patch = 2, .ratio = 0.5, .hidden_only = false});
  CHECK(all_loss.item<double>() == doctest::Approx(((x * x) * mask).sum().item<double>() / 96.0).epsilon(1e-6));
  CHECK(mask.sum().item<double>() == 48);  // two of the four 2x2 patches of each of 6 images
}

TEST_CASE("each autoencoder objective falls in a few steps on a small batch") {
  // 16 images of 4 prototypes. Predicting their mean image scores `mean_image_loss`; going
  // below it means the code tells the prototypes apart, not just that the output bias moved.
  // 12x12 images keep the conv steps cheap; the layers are Bortoletto's (2021), only the flattened size
  // (32 x 1 x 1) and the output paddings adapt (the shapes at 28x28 are tested above).
  const PrototypeImages toy = prototype_images(16, 12, 4);
  const double mean_image_loss = (toy.images - toy.images.mean({0}, true)).square().mean().item<double>();
  SUBCASE("conv, reconstruction") {
    manual_seed(5);
    ConvAutoencoder model(8, {1, 12, 12});
    const auto [first, last] = descend(model, [&] { return reconstruction_loss(model, toy.images); }, 400);
    CHECK(last < 0.5 * first);
    CHECK(last < 0.5 * mean_image_loss);
  }
  SUBCASE("conv, denoising") {
    manual_seed(6);
    ConvAutoencoder model(8, {1, 12, 12});
    const auto [first, last] = descend(model, [&] { return denoising_loss(model, toy.images, {.sigma = 0.3}); }, 400);
    CHECK(last < 0.5 * first);
  }
  SUBCASE("conv, masked") {
    manual_seed(7);
    ConvAutoencoder model(8, {1, 12, 12});
    const auto [first, last] = descend(model, [&] { return masked_loss(model, toy.images); }, 400);
    CHECK(last < 0.5 * first);
  }
  SUBCASE("mlp, reconstruction") {
    manual_seed(8);
    MLPAutoencoder model({64}, 8, {1, 12, 12});
    const auto [first, last] = descend(model, [&] { return reconstruction_loss(model, toy.images); }, 40);
    CHECK(last < 0.3 * first);
  }
}

TEST_CASE("load_autoencoder rebuilds the model from a saved file or a training checkpoint") {
  testing::ScratchDir dir("cake_ae_files");
  const PrototypeImages toy = prototype_images(8, 28, 9);
  manual_seed(10);
  ConvAutoencoder conv(6);
  save(conv, (dir / "conv.safetensors").string());
  auto loaded = load_autoencoder((dir / "conv.safetensors").string());
  CHECK(loaded->name() == "ConvAutoencoder");
  CHECK(loaded->latent_dim() == 6);
  NoGradGuard no_grad;
  CHECK(cake::equal(loaded->forward(toy.images), conv.forward(toy.images)));

  MLPAutoencoder mlp({40, 20}, 5);
  save(mlp, (dir / "mlp.safetensors").string());
  auto loaded_mlp = std::dynamic_pointer_cast<MLPAutoencoder>(load_autoencoder((dir / "mlp.safetensors").string()));
  REQUIRE(loaded_mlp != nullptr);
  CHECK(loaded_mlp->hidden() == std::vector<std::int64_t>{40, 20});
  CHECK(loaded_mlp->latent_dim() == 5);
  CHECK(cake::equal(loaded_mlp->encode(toy.images), mlp.encode(toy.images)));

  // A trainer checkpoint: its best weights.
  {
    EnableGradGuard grad;
    optim::Adam adam(mlp.parameters());
    Trainer(mlp, adam, [&](const data::Batch& b) { return reconstruction_loss(mlp, b.x); },
            {.epochs = 1, .batch_size = 4, .checkpoint_path = (dir / "ckpt.safetensors").string()})
        .fit(data::TensorDataset(toy.images));
  }
  auto from_checkpoint = load_autoencoder((dir / "ckpt.safetensors").string());
  CHECK(cake::equal(from_checkpoint->encode(toy.images), mlp.encode(toy.images)));

  std::map<std::string, Tensor> other{{"w", zeros({2})}};
  save(other, (dir / "other.safetensors").string());
  CHECK(error_message([&] { load_autoencoder((dir / "other.safetensors").string()); })
            .find("not an autoencoder") != std::string::npos);
}

TEST_CASE("EncoderClassifier: frozen encoder, Bortoletto's (2021) head, log-probabilities") {
  const PrototypeImages toy = prototype_images(32, 12, 11);
  manual_seed(12);
  auto ae = std::make_shared<ConvAutoencoder>(8, Shape{1, 12, 12});
  const std::vector<Tensor> encoder_before = [&] {
    std::vector<Tensor> copy;
    for (const Tensor& p : ae->encoder()->parameters()) copy.push_back(p.detach().clone());
    return copy;
  }();
  EncoderClassifier clf(ae->encoder(), 8, 4);
  const Tensor log_probs = clf.forward(toy.images);
  CHECK(log_probs.sizes() == Shape{32, 4});
  testing::check_close(log_probs.exp().sum({1}), ones({32}), 1e-5, 1e-5);
  // The head is Linear(8 -> 64) and Linear(64 -> 4): 576 + 260 trainable numbers.
  std::int64_t trainable = 0;
  for (const Tensor& p : clf.trainable_parameters()) trainable += p.numel();
  CHECK(trainable == 8 * 64 + 64 + 64 * 4 + 4);
  for (const Tensor& p : ae->encoder()->parameters()) CHECK_FALSE(p.requires_grad());

  optim::Adam adam(clf.trainable_parameters(), {.lr = 1e-2});
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 200; ++step) {
    adam.zero_grad();
    Tensor loss = F::nll_loss(clf.forward(toy.images), toy.labels);
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
    loss.backward();
    adam.step();
  }
  CHECK(last < 0.5 * first);
  const Tensor predicted = clf.predict(toy.images, 16);
  CHECK(predicted.sizes() == Shape{32});
  CHECK(metrics::acc(toy.labels, predicted) > 0.9);
  // The encoder did not move, and stays in evaluation mode inside a training classifier.
  const auto after = ae->encoder()->parameters();
  for (std::size_t i = 0; i < after.size(); ++i) CHECK(cake::equal(after[i], encoder_before[i]));
  clf.train();
  CHECK_FALSE(ae->encoder()->is_training());
}

TEST_CASE("cluster_codes: well separated codes give the true partition with k-means and GMM") {
  manual_seed(13);
  // Three blobs far apart in 5 dimensions, one axis scaled by 100 (standardising undoes it).
  const Tensor centres = tensor({0, 0, 0, 0, 0, 10, 10, 0, 0, 0, 0, 10, 10, 0, 0}, {3, 5});
  std::vector<std::int64_t> truth;
  for (std::int64_t i = 0; i < 90; ++i) truth.push_back(i % 3);
  const Tensor labels = tensor(truth, {90});
  Tensor codes = index_select(centres, 0, labels) + randn({90, 5}) * 0.3;
  codes = codes * tensor({100, 1, 1, 1, 1}, {1, 5});
  for (const char* method : {"kmeans", "gmm"}) {
    INFO(method);
    const Tensor found = cluster_codes(codes, {.method = method, .n_clusters = 3, .n_init = 2, .seed = 1});
    CHECK(found.sizes() == Shape{90});
    CHECK(metrics::nmi(labels, found) == doctest::Approx(1.0));
  }
  testing::check_close(standardize_columns(codes).std({0}, false, 0), ones({5}, kFloat64), 1e-9, 1e-9);
  CHECK(error_message([&] { cluster_codes(codes, {.method = "k-medoids"}); }).find("k-medoids") != std::string::npos);
  // Any clusterer of algorithms/cluster/clusterer.h, given as an object or by name; the options'
  // params reach it (a misspelt one is refused).
  const auto ward = cluster::make_clusterer("agglomerative", {{"n_clusters", 3}});
  CHECK(metrics::nmi(labels, cluster_codes(codes, *ward)) == doctest::Approx(1.0));
  CHECK(metrics::nmi(labels, cluster_codes(codes, {.method = "agglomerative", .n_clusters = 3})) == doctest::Approx(1.0));
  CHECK(error_message([&] { cluster_codes(codes, {.method = "kmeans", .params = {{"n_initt", 2}}}); }).find("n_initt") !=
        std::string::npos);
}

TEST_CASE("encode_all and reconstruction_mse work in batches without a graph") {
  const PrototypeImages toy = prototype_images(25, 28, 14);
  manual_seed(15);
  ConvAutoencoder model(4);
  const Tensor codes = encode_all(model, toy.images, 7);
  CHECK(codes.sizes() == Shape{25, 4});
  CHECK_FALSE(codes.requires_grad());
  NoGradGuard no_grad;
  testing::check_close(codes, model.encode(toy.images), 1e-5, 1e-6);
  const double mse = reconstruction_mse(model, toy.images, 0.0, true, 7);
  CHECK(mse == doctest::Approx(reconstruction_loss(model, toy.images).item<double>()).epsilon(1e-5));
  CHECK(model.is_training());  // the mode is restored
}
