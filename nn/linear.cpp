// linear.cpp: Linear, Bilinear, Embedding, EmbeddingBag, Flatten and Unflatten.
#include "cake/nn/linear.h"

#include <cmath>
#include <sstream>

#include "cake/autograd/grad_mode.h"
#include "cake/nn/functional.h"
#include "cake/nn/init.h"
#include "cake/tensor/creation.h"

namespace cake::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias)
    : in_features(in_features), out_features(out_features) {
  CAKE_CHECK(in_features >= 0 && out_features >= 0, "Linear: feature counts must be non-negative, got ", in_features,
             " and ", out_features);
  weight = register_parameter("weight", empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", empty({out_features}));
  reset_parameters();
}

// kaiming_uniform with a = sqrt(5) gives gain sqrt(2 / 6) and bound gain * sqrt(3 / fan_in)
// = 1 / sqrt(fan_in): PyTorch's historical default, kept so that models start out the same.
void Linear::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) { return functional::linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  std::ostringstream out;
  out << "in_features=" << in_features << ", out_features=" << out_features << ", bias=" << (bias.defined() ? "true" : "false");
  return out.str();
}

Bilinear::Bilinear(std::int64_t in1_features, std::int64_t in2_features, std::int64_t out_features, bool with_bias)
    : in1_features(in1_features), in2_features(in2_features), out_features(out_features) {
  CAKE_CHECK(in1_features > 0 && in2_features > 0 && out_features >= 0, "Bilinear: in1_features (", in1_features,
             ") and in2_features (", in2_features, ") must be positive and out_features (", out_features,
             ") non-negative");
  weight = register_parameter("weight", empty({out_features, in1_features, in2_features}));
  if (with_bias) bias = register_parameter("bias", empty({out_features}));
  reset_parameters();
}

// PyTorch's nn.Bilinear: weight and bias both U(-1/sqrt(in1), 1/sqrt(in1)).
void Bilinear::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in1_features));
  init::uniform_(weight, -bound, bound);
  if (bias.defined()) init::uniform_(bias, -bound, bound);
}

Tensor Bilinear::forward(const Tensor& x1, const Tensor& x2) { return functional::bilinear(x1, x2, weight, bias); }

std::string Bilinear::extra_repr() const {
  std::ostringstream out;
  out << "in1_features=" << in1_features << ", in2_features=" << in2_features << ", out_features=" << out_features
      << ", bias=" << (bias.defined() ? "true" : "false");
  return out.str();
}

namespace {
// The table of Embedding and EmbeddingBag: checks the sizes, turns a negative padding_idx into
// its row (as PyTorch: counted from the end), registers `weight` with N(0, 1) rows and zeroes the
// padding row.
Tensor make_table(Module& layer, const char* name, std::int64_t rows, std::int64_t dim,
                  std::optional<std::int64_t>& padding_idx) {
  CAKE_CHECK(rows >= 0 && dim >= 0, name, ": sizes must be non-negative, got ", rows, " and ", dim);
  if (padding_idx) {
    std::int64_t& pad = *padding_idx;
    CAKE_CHECK(pad >= -rows && pad < rows, name, ": padding_idx ", pad, " is outside the table of ", rows, " rows");
    if (pad < 0) pad += rows;
  }
  Tensor weight = layer.register_parameter("weight", empty({rows, dim}));
  init::normal_(weight);
  if (padding_idx) {
    NoGradGuard no_grad;
    weight[*padding_idx].fill_(0.0);
  }
  return weight;
}

// A pretrained table's copy into a freshly built layer's weight, on the table's device and dtype.
template <class Layer>
Layer with_table(Layer layer, const Tensor& embeddings, bool freeze) {
  layer.to(embeddings.device(), embeddings.dtype());
  NoGradGuard no_grad;
  layer.weight.copy_(embeddings);  // the padding row too: the given table is kept as it is
  layer.weight.requires_grad_(!freeze);
  return layer;
}
}  // namespace

Embedding::Embedding(const EmbeddingOptions& o)
    : options(o), num_embeddings(o.num_embeddings), embedding_dim(o.embedding_dim) {
  weight = make_table(*this, "Embedding", num_embeddings, embedding_dim, options.padding_idx.get());
}

Embedding Embedding::from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& o) {
  CAKE_CHECK(embeddings.dim() == 2, "Embedding::from_pretrained: expected a table [num_embeddings, embedding_dim], "
             "got shape ", embeddings.sizes());
  return with_table(Embedding(EmbeddingOptions(embeddings.size(0), embeddings.size(1))
                                  .padding_idx(o.padding_idx)
                                  .max_norm(o.max_norm)
                                  .norm_type(o.norm_type)),
                    embeddings, o.freeze);
}

Tensor Embedding::forward(const Tensor& indices) {
  return functional::embedding(indices, weight, options.padding_idx, options.max_norm, options.norm_type);
}

EmbeddingBag::EmbeddingBag(const EmbeddingBagOptions& o)
    : options(o), num_embeddings(o.num_embeddings), embedding_dim(o.embedding_dim) {
  weight = make_table(*this, "EmbeddingBag", num_embeddings, embedding_dim, options.padding_idx.get());
}

EmbeddingBag EmbeddingBag::from_pretrained(const Tensor& embeddings, const EmbeddingBagFromPretrainedOptions& o) {
  CAKE_CHECK(embeddings.dim() == 2, "EmbeddingBag::from_pretrained: expected a table [num_embeddings, embedding_dim], "
             "got shape ", embeddings.sizes());
  return with_table(EmbeddingBag(EmbeddingBagOptions(embeddings.size(0), embeddings.size(1))
                                     .max_norm(o.max_norm)
                                     .norm_type(o.norm_type)
                                     .mode(o.mode)
                                     .include_last_offset(o.include_last_offset)
                                     .padding_idx(o.padding_idx)),
                    embeddings, o.freeze);
}

Tensor EmbeddingBag::forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights) {
  return functional::embedding_bag(input, weight, offsets, options.mode, per_sample_weights, options.include_last_offset,
                                   options.padding_idx, options.max_norm, options.norm_type);
}

std::string EmbeddingBag::extra_repr() const {
  std::string text = std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
  if (options.max_norm()) text += ", max_norm=" + std::to_string(*options.max_norm());
  text += std::string(", mode='") + options.mode().name() + "'";
  if (options.include_last_offset()) text += ", include_last_offset=True";
  if (options.padding_idx()) text += ", padding_idx=" + std::to_string(*options.padding_idx());
  return text;
}

std::string Embedding::extra_repr() const {
  std::string text = std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
  if (options.padding_idx()) text += ", padding_idx=" + std::to_string(*options.padding_idx());
  if (options.max_norm()) text += ", max_norm=" + std::to_string(*options.max_norm());
  return text;
}

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

std::string Unflatten::extra_repr() const {
  std::ostringstream out;
  out << "dim=" << dim << ", unflattened_size=" << shape_str(sizes);
  return out.str();
}

}  // namespace cake::nn
