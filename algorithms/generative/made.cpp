#include "cake/algorithms/generative/made.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cake/algorithms/detail/splitmix.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/error.h"

namespace cake::generative {

namespace F = nn::functional;

std::vector<std::vector<std::int64_t>> made_degrees(std::int64_t input_size, const std::vector<std::int64_t>& hidden,
                                                    std::uint64_t mask_seed, std::int64_t mask_index,
                                                    bool order_agnostic) {
  CAKE_CHECK(input_size >= 2, "MADE: needs at least 2 inputs, got ", input_size);
  CAKE_CHECK(mask_index >= 0, "MADE: mask index must be >= 0, got ", mask_index);
  // Mask k draws from streams k (L + 1) + l: layer l's degrees for l < L, the order for l = L.
  const auto streams = static_cast<std::uint64_t>(hidden.size() + 1);
  const std::uint64_t first_stream = static_cast<std::uint64_t>(mask_index) * streams;
  std::vector<std::vector<std::int64_t>> degrees(1, std::vector<std::int64_t>(static_cast<std::size_t>(input_size)));
  std::iota(degrees[0].begin(), degrees[0].end(), std::int64_t{1});
  if (order_agnostic) {  // Fisher-Yates: input d gets the place degrees[0][d] in a uniform order
    algorithms::detail::SplitMix64 rng(mask_seed, first_stream + hidden.size());
    for (std::int64_t i = input_size - 1; i > 0; --i)
      std::swap(degrees[0][static_cast<std::size_t>(i)], degrees[0][rng.below(static_cast<std::uint64_t>(i + 1))]);
  }
  for (std::size_t l = 0; l < hidden.size(); ++l) {
    CAKE_CHECK(hidden[l] >= 1, "MADE: hidden layer ", l + 1, " must have at least one unit, got ", hidden[l]);
    // Uniform on [min of the layer below, D - 1]: a unit of degree D would reach no output.
    const std::int64_t low = *std::min_element(degrees.back().begin(), degrees.back().end());
    algorithms::detail::SplitMix64 rng(mask_seed, first_stream + l);
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

// Every layer's mask of one set of degrees, the output layer's last.
std::vector<Tensor> layer_masks(const std::vector<std::vector<std::int64_t>>& degrees) {
  std::vector<Tensor> masks;
  for (std::size_t l = 0; l + 1 < degrees.size(); ++l) masks.push_back(layer_mask(degrees[l], degrees[l + 1], false));
  masks.push_back(layer_mask(degrees.back(), degrees[0], true));
  return masks;
}

Tensor as_rows(const Tensor& input) { return input.dim() == 2 ? input : input.reshape({input.size(0), -1}); }

}  // namespace

MADE::MADE(std::int64_t input_size, MADEOptions options) : input_size_(input_size), options_(std::move(options)) {
  CAKE_CHECK(options_.n_masks >= 1, "MADE: n_masks must be at least 1, got ", options_.n_masks);
  const std::vector<std::vector<std::int64_t>> degrees =
      made_degrees(input_size, options_.hidden, options_.mask_seed, 0, options_.order_agnostic);
  const std::vector<Tensor> masks = layer_masks(degrees);
  for (std::size_t l = 0; l < masks.size(); ++l) {
    const std::string name = l + 1 == masks.size() ? "output" : "hidden" + std::to_string(l);
    layers_.push_back(register_module(name, std::make_shared<nn::Linear>(masks[l].size(1), masks[l].size(0))));
    masks_.push_back(register_buffer(name + "_mask", masks[l]));
  }
  mask_index_ = register_buffer("mask_index", zeros({}, kInt64));
}

void MADE::set_mask(std::int64_t index) {
  CAKE_CHECK(index >= 0 && index < options_.n_masks, "MADE.set_mask: mask ", index, " is not in [0, ", options_.n_masks, ")");
  if (index == mask_index()) return;
  const std::vector<Tensor> masks =
      layer_masks(made_degrees(input_size_, options_.hidden, options_.mask_seed, index, options_.order_agnostic));
  NoGradGuard no_grad;
  for (std::size_t l = 0; l < masks.size(); ++l) masks_[l].copy_(masks[l]);  // in place: the buffers stay registered
  mask_index_.fill_(index);
}

std::int64_t MADE::mask_index() const { return mask_index_.item<std::int64_t>(); }

std::vector<std::int64_t> MADE::order() const {
  const std::vector<std::int64_t> places =
      made_degrees(input_size_, options_.hidden, options_.mask_seed, mask_index(), options_.order_agnostic)[0];
  std::vector<std::int64_t> inputs(places.size());
  for (std::size_t d = 0; d < places.size(); ++d) inputs[static_cast<std::size_t>(places[d] - 1)] = static_cast<std::int64_t>(d);
  return inputs;
}

Tensor MADE::forward(const Tensor& input) {
  const Tensor x = as_rows(input);
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
  const Tensor x = as_rows(input);
  // -log p(x_d | x_<d) is the binary cross-entropy of the logit against x_d.
  return -sum(F::binary_cross_entropy_with_logits(forward(x), x, F::Reduction::None), {1});
}

Tensor MADE::ensemble_log_prob(const Tensor& input) {
  if (options_.n_masks == 1) return log_prob(input);
  NoGradGuard no_grad;  // set_mask rewrites the mask buffers that a graph would have saved
  const std::int64_t current = mask_index();
  std::vector<Tensor> per_mask;
  for (std::int64_t k = 0; k < options_.n_masks; ++k) {
    set_mask(k);
    per_mask.push_back(log_prob(input).unsqueeze(1));
  }
  set_mask(current);
  // log mean_k p_k = logsumexp_k log p_k - log K, without leaving the log domain.
  return logsumexp(cat(per_mask, 1), {1}) - std::log(static_cast<double>(options_.n_masks));
}

Tensor MADE::sample(std::int64_t n) {
  CAKE_CHECK(n >= 1, "MADE.sample: n must be at least 1, got ", n);
  NoGradGuard no_grad;
  const Tensor& first_weight = layers_.front()->weight;
  const TensorOptions like(first_weight.dtype(), first_weight.device());
  const std::int64_t current = mask_index();
  // Each row's mask, uniform (the mixture's first draw), then the rows of each mask together.
  std::vector<std::int64_t> row_mask(static_cast<std::size_t>(n), 0);
  if (options_.n_masks > 1) {
    const Tensor draws = randint(0, options_.n_masks, {n}).contiguous();
    row_mask.assign(draws.data_ptr<std::int64_t>(), draws.data_ptr<std::int64_t>() + n);
  }
  Tensor out = zeros({n, input_size_}, like);
  for (std::int64_t k = 0; k < options_.n_masks; ++k) {
    std::vector<std::int64_t> rows;
    for (std::int64_t i = 0; i < n; ++i)
      if (row_mask[static_cast<std::size_t>(i)] == k) rows.push_back(i);
    if (rows.empty()) continue;
    set_mask(k);
    Tensor x = zeros({static_cast<std::int64_t>(rows.size()), input_size_}, like);
    // Each coordinate depends only on those before it in the mask's order, already drawn.
    for (const std::int64_t d : order()) x.narrow(1, d, 1).copy_(bernoulli(sigmoid(forward(x).narrow(1, d, 1))));
    for (std::size_t j = 0; j < rows.size(); ++j) out.narrow(0, rows[j], 1).copy_(x.narrow(0, static_cast<std::int64_t>(j), 1));
  }
  set_mask(current);
  return out;
}

}  // namespace cake::generative
