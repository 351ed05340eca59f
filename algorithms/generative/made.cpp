#include "cake/algorithms/generative/made.h"

#include <algorithm>

#include "cake/algorithms/detail/splitmix.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/error.h"

namespace cake::generative {

namespace F = nn::functional;

std::vector<std::vector<std::int64_t>> made_degrees(std::int64_t input_size, const std::vector<std::int64_t>& hidden,
                                                    std::uint64_t mask_seed) {
  CAKE_CHECK(input_size >= 2, "MADE: needs at least 2 inputs, got ", input_size);
  std::vector<std::vector<std::int64_t>> degrees(1);
  for (std::int64_t d = 1; d <= input_size; ++d) degrees[0].push_back(d);
  for (std::size_t l = 0; l < hidden.size(); ++l) {
    CAKE_CHECK(hidden[l] >= 1, "MADE: hidden layer ", l + 1, " must have at least one unit, got ", hidden[l]);
    // Uniform on [min of the layer below, D - 1]: a unit of degree D would reach no output.
    const std::int64_t low = *std::min_element(degrees.back().begin(), degrees.back().end());
    algorithms::detail::SplitMix64 rng(mask_seed, l);
    std::vector<std::int64_t> layer(static_cast<std::size_t>(hidden[l]));
    for (std::int64_t& m : layer) m = low + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(input_size - low)));
    degrees.push_back(std::move(layer));
  }
  return degrees;
}

namespace {

// The 0/1 mask [out, in] of a layer from degrees `below` to degrees `above`: keep (o, i) when
// above[o] >= below[i] (hidden layers) or above[o] > below[i] (the output, strictly: so output d
// never sees input d itself).
Tensor layer_mask(const std::vector<std::int64_t>& below, const std::vector<std::int64_t>& above, bool strict) {
  const auto in = static_cast<std::int64_t>(below.size()), out = static_cast<std::int64_t>(above.size());
  Tensor mask = zeros({out, in});
  float* p = mask.data_ptr<float>();
  for (std::int64_t o = 0; o < out; ++o)
    for (std::int64_t i = 0; i < in; ++i) p[o * in + i] = (strict ? above[o] > below[i] : above[o] >= below[i]) ? 1.0f : 0.0f;
  return mask;
}

}  // namespace

MADE::MADE(std::int64_t input_size, MADEOptions options) : input_size_(input_size), options_(std::move(options)) {
  const std::vector<std::vector<std::int64_t>> degrees = made_degrees(input_size, options_.hidden, options_.mask_seed);
  for (std::size_t l = 0; l <= options_.hidden.size(); ++l) {
    const bool output = l == options_.hidden.size();
    const std::vector<std::int64_t>& above = output ? degrees[0] : degrees[l + 1];
    const auto in = static_cast<std::int64_t>(degrees[l].size()), out = static_cast<std::int64_t>(above.size());
    const std::string name = output ? "output" : "hidden" + std::to_string(l);
    layers_.push_back(register_module(name, std::make_shared<nn::Linear>(in, out)));
    masks_.push_back(register_buffer(name + "_mask", layer_mask(degrees[l], above, output)));
  }
}

Tensor MADE::forward(const Tensor& input) {
  const Tensor x = input.dim() == 2 ? input : input.reshape({input.size(0), -1});
  CAKE_CHECK(x.dim() == 2 && x.size(1) == input_size_, "MADE: expected rows of ", input_size_, " values, got shape ",
             input.sizes());
  Tensor h = x;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const nn::Linear& layer = *layers_[l];
    h = F::linear(h, layer.weight * masks_[l], layer.bias);  // a cut weight gets no gradient either
    if (l + 1 < layers_.size()) h = relu(h);
  }
  return h;
}

Tensor MADE::log_prob(const Tensor& input) {
  const Tensor x = input.dim() == 2 ? input : input.reshape({input.size(0), -1});
  // -log p(x_d | x_<d) is the binary cross-entropy of the logit against x_d.
  return -sum(F::binary_cross_entropy_with_logits(forward(x), x, F::Reduction::None), {1});
}

Tensor MADE::sample(std::int64_t n) {
  CAKE_CHECK(n >= 1, "MADE.sample: n must be at least 1, got ", n);
  NoGradGuard no_grad;
  const Tensor& first_weight = layers_.front()->weight;
  Tensor x = zeros({n, input_size_}, TensorOptions(first_weight.dtype(), first_weight.device()));
  // Coordinate d depends only on coordinates before it, which are already drawn.
  for (std::int64_t d = 0; d < input_size_; ++d) {
    const Tensor p = sigmoid(forward(x).narrow(1, d, 1));
    x.narrow(1, d, 1).copy_(bernoulli(p));
  }
  return x;
}

}  // namespace cake::generative
