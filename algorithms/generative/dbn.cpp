// dbn.cpp: the deep belief network (dbn.h): greedy layer-wise training, the up-pass, sampling,
// and unrolling into a deep autoencoder.
#include "cake/algorithms/generative/dbn.h"

#include "cake/autograd/grad_mode.h"
#include "cake/nn/linear.h"

namespace cake::generative {

RBMOptions hinton_rbm_options() {
  return {.learning_rate = 0.1,
          .batch_size = 100,
          .n_iter = 50,
          .cd_k = 1,
          .persistent = false,
          .sample_visible = false,
          .momentum = 0.5,
          .final_momentum = 0.9,
          .momentum_epochs = 5,
          .weight_decay = 2e-4,
          .init_std = 0.1,
          .shuffle = true};
}

DeepBeliefNetwork::DeepBeliefNetwork(DBNOptions options) : options_(std::move(options)) {
  CAKE_CHECK(!options_.layer_sizes.empty(), "DeepBeliefNetwork: layer_sizes must name at least one layer");
  for (std::int64_t size : options_.layer_sizes)
    CAKE_CHECK(size > 0, "DeepBeliefNetwork: layer sizes must be positive, got ", Shape(options_.layer_sizes));
  CAKE_CHECK(options_.top_learning_rate > 0, "DeepBeliefNetwork: top_learning_rate must be positive, got ",
             options_.top_learning_rate);
}

RBMOptions DeepBeliefNetwork::layer_options(std::size_t layer) const {
  RBMOptions rbm = options_.rbm;
  rbm.n_components = options_.layer_sizes[layer];
  const bool top = layer + 1 == options_.layer_sizes.size();
  rbm.hidden_units = top && options_.gaussian_top ? HiddenUnits::Gaussian : HiddenUnits::Bernoulli;
  if (top && options_.gaussian_top) rbm.learning_rate = options_.top_learning_rate;
  rbm.random_state = options_.random_state ? std::optional<std::uint64_t>(*options_.random_state + layer) : std::nullopt;
  rbm.on_epoch = {};
  if (options_.on_epoch)
    rbm.on_epoch = [callback = options_.on_epoch, layer](std::int64_t epoch, double error) { callback(layer, epoch, error); };
  return rbm;
}

DeepBeliefNetwork& DeepBeliefNetwork::fit(const Tensor& x) {
  NoGradGuard no_grad;
  layers_.clear();
  Tensor input = x;
  for (std::size_t layer = 0; layer < options_.layer_sizes.size(); ++layer) {
    layers_.emplace_back(layer_options(layer));
    layers_.back().fit(input);
    // The next RBM's data: this one's hidden probabilities (the authors' batchposhidprobs).
    if (layer + 1 < options_.layer_sizes.size()) input = layers_.back().transform(input);
  }
  return *this;
}

Tensor DeepBeliefNetwork::transform(const Tensor& x) const {
  CAKE_CHECK(fitted(), "DeepBeliefNetwork.transform: the network is not fitted");
  Tensor h = x;
  for (const RBM& layer : layers_) h = layer.transform(h);
  return h;
}

Tensor DeepBeliefNetwork::sample(const Tensor& start, std::int64_t gibbs_steps) const {
  CAKE_CHECK(fitted(), "DeepBeliefNetwork.sample: the network is not fitted");
  Tensor below_top = start;
  for (std::size_t layer = 0; layer + 1 < layers_.size(); ++layer) below_top = layers_[layer].transform(below_top);
  // The top RBM's chain, then its visible probabilities down through the directed layers.
  Tensor v = layers_.back().sample(below_top, gibbs_steps);
  for (std::size_t layer = layers_.size() - 1; layer-- > 0;) v = layers_[layer].mean_visible(v);
  return v;
}

std::shared_ptr<networks::MLPAutoencoder> DeepBeliefNetwork::unroll(const Shape& image_shape) const {
  CAKE_CHECK(fitted(), "DeepBeliefNetwork.unroll: the network is not fitted");
  CAKE_CHECK(shape_numel(image_shape) == layers_.front().n_features_in(), "DeepBeliefNetwork.unroll: the image shape ",
             image_shape, " has ", shape_numel(image_shape), " pixels, the network's first layer ",
             layers_.front().n_features_in(), " visible units");
  const std::vector<std::int64_t> hidden(options_.layer_sizes.begin(), options_.layer_sizes.end() - 1);
  auto model = std::make_shared<networks::MLPAutoencoder>(hidden, options_.layer_sizes.back(), image_shape,
                                                          networks::MLPAutoencoderOptions{.sigmoid_hidden = true});
  const auto linears = model->linear_layers();  // encoder 0..L-1, then decoder L..2L-1
  const std::size_t depth = layers_.size();
  CAKE_CHECK(linears.size() == 2 * depth, "DeepBeliefNetwork.unroll: expected ", 2 * depth, " linear layers, built ",
             linears.size());
  NoGradGuard no_grad;
  for (std::size_t l = 0; l < depth; ++l) {
    const RBM& rbm = layers_[l];
    // Encoder layer l: recognition, W_l v + b_l (Linear's weight is [out, in], as components()).
    linears[l]->weight.copy_(rbm.components());
    linears[l]->bias.copy_(rbm.intercept_hidden());
    // Decoder layer 2L-1-l: generation, W_l^T h + a_l.
    const auto& down = linears[2 * depth - 1 - l];
    down->weight.copy_(rbm.components().t());
    down->bias.copy_(rbm.intercept_visible());
  }
  return model;
}

TensorMap DeepBeliefNetwork::state_dict() const {
  CAKE_CHECK(fitted(), "DeepBeliefNetwork.state_dict: the network is not fitted");
  TensorMap state;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const std::string prefix = "layer" + std::to_string(l) + ".";
    state[prefix + "weights"] = layers_[l].components();
    state[prefix + "hidden_bias"] = layers_[l].intercept_hidden();
    state[prefix + "visible_bias"] = layers_[l].intercept_visible();
  }
  return state;
}

void DeepBeliefNetwork::load_state_dict(const TensorMap& state, const std::string& source) {
  std::vector<RBM> layers;
  for (std::size_t l = 0; l < options_.layer_sizes.size(); ++l) {
    const std::string prefix = "layer" + std::to_string(l) + ".";
    auto get = [&](const std::string& name) -> const Tensor& {
      const auto it = state.find(prefix + name);
      CAKE_CHECK(it != state.end(), source, ": no tensor '", prefix + name, "' for a deep belief network of ",
                 options_.layer_sizes.size(), " layers");
      return it->second;
    };
    layers.emplace_back(layer_options(l));
    const Tensor& weights = get("weights");
    CAKE_CHECK(weights.dim() == 2 && weights.size(0) == options_.layer_sizes[l] &&
                   (l == 0 || weights.size(1) == options_.layer_sizes[l - 1]),
               source, ": '", prefix, "weights' has shape ", weights.sizes(), ", which does not fit the layer sizes ",
               Shape(options_.layer_sizes));
    layers.back().set_parameters(weights, get("hidden_bias"), get("visible_bias"));
  }
  layers_ = std::move(layers);
}

}  // namespace cake::generative
