// Tests for algorithms/generative/dbn.h: greedy layer-wise training is RBM after RBM on the
// hidden means below; the up-pass; the unrolled autoencoder computes the stack's up and down
// passes; samples of the generative model; saving and loading the stack and the autoencoder.
#include <filesystem>

#include "cake/algorithms/generative/dbn.h"
#include "cake/nn/checkpoint.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "algorithms/fixtures/rbm_data.h"
#include "helpers.h"

using namespace cake;
using namespace cake::generative;
using cake::testing::values;

namespace {

DBNOptions small_options() {
  DBNOptions options{.layer_sizes = {12, 8, 3}, .random_state = 5};
  options.rbm.n_iter = 20;
  options.rbm.batch_size = 20;
  return options;
}

}  // namespace

TEST_CASE("DeepBeliefNetwork: each layer is an RBM fitted to the hidden means of the one below") {
  const Tensor x = rbm_fixtures::data(kFloat32);
  DBNOptions options = small_options();
  std::vector<std::pair<std::size_t, std::int64_t>> seen;
  options.on_epoch = [&](std::size_t layer, std::int64_t epoch, double) { seen.emplace_back(layer, epoch); };
  DeepBeliefNetwork dbn(options);
  dbn.fit(x);
  REQUIRE(dbn.layers().size() == 3);
  CHECK(seen.size() == 60);
  CHECK(seen.back() == std::pair<std::size_t, std::int64_t>{2, 20});
  CHECK(dbn.layers()[0].components().sizes() == Shape{12, 16});
  CHECK(dbn.layers()[2].options().hidden_units == HiddenUnits::Gaussian);
  CHECK(dbn.layers()[2].options().learning_rate == 0.001);
  CHECK(dbn.layers()[1].options().hidden_units == HiddenUnits::Bernoulli);

  // Layer 1 by hand: an RBM with layer 1's settings (seed 5 + 1) on layer 0's hidden means.
  RBMOptions second = options.rbm;
  second.n_components = 8;
  second.random_state = 6;
  RBM by_hand(second);
  by_hand.fit(dbn.layers()[0].transform(x));
  CHECK(values(by_hand.components()) == values(dbn.layers()[1].components()));
  // The up-pass is the layers' transforms in turn.
  const Tensor up = dbn.layers()[2].transform(dbn.layers()[1].transform(dbn.layers()[0].transform(x)));
  CHECK(values(dbn.transform(x)) == values(up));
  CHECK(dbn.transform(x).sizes() == Shape{400, 3});
}

TEST_CASE("DeepBeliefNetwork::unroll: the encoder is the up-pass, the decoder the down-pass") {
  const Tensor x = rbm_fixtures::data(kFloat32);
  DeepBeliefNetwork dbn(small_options());
  dbn.fit(x);
  auto model = dbn.unroll({1, 4, 4});
  CHECK(model->sigmoid_hidden());
  CHECK(model->hidden() == std::vector<std::int64_t>{12, 8});
  CHECK(model->latent_dim() == 3);
  model->eval();
  const Tensor images = x.reshape({400, 1, 4, 4});
  cake::testing::check_close(model->encode(images), dbn.transform(x), 1e-5, 1e-5);
  // Down: code -> p(v | h) of the top RBM -> of layer 1 -> of layer 0.
  const Tensor codes = dbn.transform(x);
  const auto& layers = dbn.layers();
  const Tensor down = layers[0].mean_visible(layers[1].mean_visible(layers[2].mean_visible(codes)));
  cake::testing::check_close(model->decode(codes).reshape({400, 16}), down, 1e-5, 1e-5);
  // Saved and loaded as any autoencoder, the logistic hidden units come back with it.
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "cake_test_dbn_unroll";
  std::filesystem::create_directories(dir);
  save(*model, (dir / "model.safetensors").string());
  const auto loaded = networks::load_autoencoder((dir / "model.safetensors").string(), {1, 4, 4});
  loaded->eval();
  CHECK(values(loaded->forward(images)) == values(model->forward(images)));
  std::filesystem::remove_all(dir);
  CHECK(cake::testing::contains(cake::testing::error_message([&] { (void)dbn.unroll({1, 28, 28}); }),
                                "the image shape [1, 28, 28] has 784 pixels, the network's first layer 16 visible units"));
}

TEST_CASE("DeepBeliefNetwork: samples from the top-level chain come down as the data's prototypes") {
  const Tensor x = rbm_fixtures::data(kFloat32);
  DBNOptions options{.layer_sizes = {16, 8}, .gaussian_top = false, .random_state = 1};
  options.rbm.n_iter = 100;
  options.rbm.batch_size = 10;
  DeepBeliefNetwork dbn(options);
  dbn.fit(x);
  manual_seed(2);
  const Tensor samples = dbn.sample(rand({100, 16}).bernoulli(), 300);
  CHECK(samples.sizes() == Shape{100, 16});
  CHECK(samples.min().item<double>() >= 0.0);
  CHECK(samples.max().item<double>() <= 1.0);
  const Tensor binary = samples.gt(0.5).to(kFloat32);
  const Tensor mismatches = (binary.unsqueeze(1) - x.narrow(0, 0, 100).unsqueeze(0)).abs().sum({2}).amin({1});
  const double near = mismatches.le(2.0).to(kFloat64).mean().item<double>();
  MESSAGE("DBN samples within 2 bits of a data vector: ", near);
  CHECK(near > 0.8);
}

TEST_CASE("DeepBeliefNetwork: state_dict round trip, and errors") {
  const Tensor x = rbm_fixtures::data(kFloat32);
  DeepBeliefNetwork dbn(small_options());
  dbn.fit(x);
  DeepBeliefNetwork copy(small_options());
  copy.load_state_dict(dbn.state_dict(), "test");
  CHECK(values(copy.transform(x)) == values(dbn.transform(x)));
  TensorMap missing = dbn.state_dict();
  missing.erase("layer1.hidden_bias");
  CHECK(cake::testing::contains(cake::testing::error_message([&] { copy.load_state_dict(missing, "f.safetensors"); }),
                                "f.safetensors: no tensor 'layer1.hidden_bias' for a deep belief network of 3 layers"));
  DeepBeliefNetwork other({.layer_sizes = {12, 9, 3}});
  CHECK(cake::testing::contains(cake::testing::error_message([&] { other.load_state_dict(dbn.state_dict(), "f"); }),
                                "'layer1.weights' has shape [8, 12], which does not fit the layer sizes [12, 9, 3]"));
  CHECK(cake::testing::contains(cake::testing::error_message([&] { DeepBeliefNetwork({.layer_sizes = {}}); }),
                                "at least one layer"));
  CHECK(cake::testing::contains(cake::testing::error_message([&] { (void)DeepBeliefNetwork().transform(x); }),
                                "not fitted"));
}
