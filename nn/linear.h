// linear.h: the fully connected layer, embeddings, and the shape-only layers (Identity,
// Flatten, Unflatten).
//
//   auto fc = std::make_shared<cake::nn::Linear>(784, 128);       // weight [128, 784], bias [128]
//   cake::Tensor h = fc->forward(x.flatten(1));                     // [N, 784] -> [N, 128]
//   auto table = std::make_shared<cake::nn::Embedding>(1000, 64);   // 1000 rows of 64 numbers
//   cake::Tensor e = table->forward(token_ids);                     // int64 [N, L] -> [N, L, 64]
#pragma once

#include <cstdint>
#include <string>

#include "nn/module.h"

namespace cake::nn {

// y = x W^T + b. Initialised as PyTorch's nn.Linear: W ~ kaiming_uniform(a = sqrt(5)), which is
// U(-1/sqrt(in), 1/sqrt(in)), and b ~ U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  void reset_parameters();
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override;

  std::int64_t in_features, out_features;
  Tensor weight;  // [out_features, in_features]
  Tensor bias;    // [out_features], undefined when built without bias
};

// A lookup table: forward(indices) returns weight[indices]. Rows start as N(0, 1) draws.
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim);
  Tensor forward(const Tensor& indices) override;
  std::string name() const override { return "Embedding"; }
  std::string extra_repr() const override;

  std::int64_t num_embeddings, embedding_dim;
  Tensor weight;  // [num_embeddings, embedding_dim]
};

// Returns its input (a placeholder, e.g. to drop a projection head).
class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string name() const override { return "Identity"; }
};

// Merges dims start_dim..end_dim into one; the default keeps the batch dim: [N, C, H, W] -> [N, CHW].
class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override { return x.flatten(start_dim, end_dim); }
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override;

  std::int64_t start_dim, end_dim;
};

// Splits dim into `sizes` (one may be -1): Unflatten(1, {16, 7, 7}) turns [N, 784] into [N, 16, 7, 7].
class Unflatten : public Module {
 public:
  Unflatten(std::int64_t dim, Shape sizes) : dim(dim), sizes(std::move(sizes)) {}
  Tensor forward(const Tensor& x) override { return x.unflatten(dim, sizes); }
  std::string name() const override { return "Unflatten"; }
  std::string extra_repr() const override;

  std::int64_t dim;
  Shape sizes;
};

}  // namespace cake::nn
