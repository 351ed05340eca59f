// linear.h: the fully connected layer, embeddings (and bags of them), and the shape-only layers (Identity,
// Flatten, Unflatten).
//
//   auto fc = std::make_shared<cake::nn::Linear>(784, 128);       // weight [128, 784], bias [128]
//   cake::Tensor h = fc->forward(x.flatten(1));                     // [N, 784] -> [N, 128]
//   auto table = std::make_shared<cake::nn::Embedding>(1000, 64);   // 1000 rows of 64 numbers
//   cake::Tensor e = table->forward(token_ids);                     // int64 [N, L] -> [N, L, 64]
//   cake::nn::EmbeddingBag bags(cake::nn::EmbeddingBagOptions(1000, 64).mode(cake::kSum));
//   cake::Tensor pooled = bags(token_ids);                          // int64 [N, L] -> [N, 64]
//   cake::nn::Linear head(cake::nn::LinearOptions(128, 10).bias(false));   // libtorch's spelling
//   cake::Tensor logits = head(h);                                  // [N, 128] -> [N, 10]
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cake/nn/functional.h"  // EmbeddingBagMode
#include "cake/nn/module.h"
#include "cake/nn/options.h"

namespace cake::nn {

// LinearOptions(in, out).bias(false), or {.in_features = 4, .out_features = 2, .bias = false}.
struct LinearOptions {
  using Self = LinearOptions;
  CAKE_ARG(std::int64_t, in_features) = 0;
  CAKE_ARG(std::int64_t, out_features) = 0;
  CAKE_ARG(bool, bias) = true;
};

struct BilinearOptions {  // BilinearOptions(in1, in2, out).bias(false)
  using Self = BilinearOptions;
  CAKE_ARG(std::int64_t, in1_features) = 0;
  CAKE_ARG(std::int64_t, in2_features) = 0;
  CAKE_ARG(std::int64_t, out_features) = 0;
  CAKE_ARG(bool, bias) = true;
};
struct EmbeddingOptions {  // EmbeddingOptions(1000, 64).padding_idx(0).max_norm(1.0)
  using Self = EmbeddingOptions;
  CAKE_ARG(std::int64_t, num_embeddings) = 0;
  CAKE_ARG(std::int64_t, embedding_dim) = 0;
  CAKE_ARG(std::optional<std::int64_t>, padding_idx) = std::nullopt;  // a row that starts at 0 and is never trained
  CAKE_ARG(std::optional<double>, max_norm) = std::nullopt;           // rows looked up are rescaled to at most this
  CAKE_ARG(double, norm_type) = 2.0;
};
// Embedding::from_pretrained(table, EmbeddingFromPretrainedOptions().freeze(false)).
struct EmbeddingFromPretrainedOptions {
  using Self = EmbeddingFromPretrainedOptions;
  CAKE_ARG(bool, freeze) = true;  // the table is not trained
  CAKE_ARG(std::optional<std::int64_t>, padding_idx) = std::nullopt;
  CAKE_ARG(std::optional<double>, max_norm) = std::nullopt;
  CAKE_ARG(double, norm_type) = 2.0;
};
struct EmbeddingBagOptions {  // EmbeddingBagOptions(1000, 64).mode(cake::kSum).padding_idx(0)
  using Self = EmbeddingBagOptions;
  CAKE_ARG(std::int64_t, num_embeddings) = 0;
  CAKE_ARG(std::int64_t, embedding_dim) = 0;
  CAKE_ARG(std::optional<double>, max_norm) = std::nullopt;
  CAKE_ARG(double, norm_type) = 2.0;
  CAKE_ARG(functional::EmbeddingBagMode, mode) = functional::EmbeddingBagMode::Mean;
  CAKE_ARG(bool, include_last_offset) = false;
  CAKE_ARG(std::optional<std::int64_t>, padding_idx) = std::nullopt;
};
struct EmbeddingBagFromPretrainedOptions {
  using Self = EmbeddingBagFromPretrainedOptions;
  CAKE_ARG(bool, freeze) = true;
  CAKE_ARG(std::optional<double>, max_norm) = std::nullopt;
  CAKE_ARG(double, norm_type) = 2.0;
  CAKE_ARG(functional::EmbeddingBagMode, mode) = functional::EmbeddingBagMode::Mean;
  CAKE_ARG(bool, include_last_offset) = false;
  CAKE_ARG(std::optional<std::int64_t>, padding_idx) = std::nullopt;
};
struct FlattenOptions {  // FlattenOptions().start_dim(1).end_dim(-1)
  using Self = FlattenOptions;
  CAKE_ARG(std::int64_t, start_dim) = 1;
  CAKE_ARG(std::int64_t, end_dim) = -1;
};
struct UnflattenOptions {  // UnflattenOptions(1, {16, 7, 7})
  using Self = UnflattenOptions;
  CAKE_ARG(std::int64_t, dim) = 0;
  CAKE_ARG(Shape, sizes) = Shape{};
};

// y = x W^T + b. Initialised as PyTorch's nn.Linear: W ~ kaiming_uniform(a = sqrt(5)), which is
// U(-1/sqrt(in), 1/sqrt(in)), and b ~ U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public Module, public Holder<Linear> {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  explicit Linear(const LinearOptions& options) : Linear(options.in_features, options.out_features, options.bias) {}
  CAKE_HOLDER_CONSTRUCTORS(Linear)
  Tensor forward(const Tensor& x) override;
  void reset_parameters();
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<Linear>(in_features, out_features, bias.defined()));
  }
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override;

  std::int64_t in_features = 0, out_features = 0;
  Tensor weight;  // [out_features, in_features]
  Tensor bias;    // [out_features], undefined when built without bias
};

// y_o = x1^T W_o x2 + b_o (functional::bilinear): every product of a feature of x1 with one of x2,
// weighted, as PyTorch's nn.Bilinear; weight and bias start as U(-1/sqrt(in1), 1/sqrt(in1)).
class Bilinear : public Module, public Holder<Bilinear> {
 public:
  Bilinear(std::int64_t in1_features, std::int64_t in2_features, std::int64_t out_features, bool bias = true);
  explicit Bilinear(const BilinearOptions& options)
      : Bilinear(options.in1_features, options.in2_features, options.out_features, options.bias) {}
  CAKE_HOLDER_CONSTRUCTORS(Bilinear)
  Tensor forward(const Tensor& x1, const Tensor& x2);
  void reset_parameters();
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<Bilinear>(in1_features, in2_features, out_features, bias.defined()));
  }
  std::string name() const override { return "Bilinear"; }
  std::string extra_repr() const override;

  std::int64_t in1_features = 0, in2_features = 0, out_features = 0;
  Tensor weight;  // [out_features, in1_features, in2_features]
  Tensor bias;    // [out_features], undefined when built without bias
};

// A lookup table: forward(indices) returns weight[indices] (functional::embedding, with the
// options' padding_idx and max_norm). Rows start as N(0, 1) draws, the padding row at zero.
class Embedding : public Module, public Holder<Embedding> {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : Embedding(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  explicit Embedding(const EmbeddingOptions& options);
  CAKE_HOLDER_CONSTRUCTORS(Embedding)
  // A table made from given rows [num_embeddings, embedding_dim], frozen unless freeze(false).
  static Embedding from_pretrained(const Tensor& embeddings, const EmbeddingFromPretrainedOptions& options = {});
  Tensor forward(const Tensor& indices) override;
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<Embedding>(options)); }
  std::string name() const override { return "Embedding"; }
  std::string extra_repr() const override;

  EmbeddingOptions options;
  std::int64_t num_embeddings = 0, embedding_dim = 0;
  Tensor weight;  // [num_embeddings, embedding_dim]
};

// A lookup table whose rows are reduced per bag (functional::embedding_bag): forward(input,
// offsets, per_sample_weights) of 2-D bags [B, N], or of a 1-D input cut at offsets. Rows start
// as N(0, 1) draws, the padding row at zero. The sum or mean of a bag of words, for example,
// without forming the [B, N, dim] lookup.
class EmbeddingBag : public Module, public Holder<EmbeddingBag> {
 public:
  EmbeddingBag(std::int64_t num_embeddings, std::int64_t embedding_dim)
      : EmbeddingBag(EmbeddingBagOptions(num_embeddings, embedding_dim)) {}
  explicit EmbeddingBag(const EmbeddingBagOptions& options);
  CAKE_HOLDER_CONSTRUCTORS(EmbeddingBag)
  static EmbeddingBag from_pretrained(const Tensor& embeddings, const EmbeddingBagFromPretrainedOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& offsets = {}, const Tensor& per_sample_weights = {});
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<EmbeddingBag>(options)); }
  std::string name() const override { return "EmbeddingBag"; }
  std::string extra_repr() const override;

  EmbeddingBagOptions options;
  std::int64_t num_embeddings = 0, embedding_dim = 0;
  Tensor weight;  // [num_embeddings, embedding_dim]
};

// Returns its input (a placeholder, e.g. to drop a projection head).
class Identity : public Module, public Holder<Identity> {
 public:
  Identity() = default;
  CAKE_HOLDER_CONSTRUCTORS(Identity)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Identity>(*this); }
  Tensor forward(const Tensor& x) override { return x; }
  std::string name() const override { return "Identity"; }
};

// Merges dims start_dim..end_dim into one; the default keeps the batch dim: [N, C, H, W] -> [N, CHW].
class Flatten : public Module, public Holder<Flatten> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(Flatten)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Flatten>(*this); }
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  explicit Flatten(const FlattenOptions& options) : Flatten(options.start_dim, options.end_dim) {}
  Tensor forward(const Tensor& x) override { return x.flatten(start_dim, end_dim); }
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override;

  std::int64_t start_dim = 1, end_dim = -1;
};

// Splits dim into `sizes` (one may be -1): Unflatten(1, {16, 7, 7}) turns [N, 784] into [N, 16, 7, 7].
class Unflatten : public Module, public Holder<Unflatten> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(Unflatten)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Unflatten>(*this); }
  Unflatten(std::int64_t dim, Shape sizes) : dim(dim), sizes(std::move(sizes)) {}
  explicit Unflatten(const UnflattenOptions& options) : Unflatten(options.dim, options.sizes) {}
  Tensor forward(const Tensor& x) override { return x.unflatten(dim, sizes); }
  std::string name() const override { return "Unflatten"; }
  std::string extra_repr() const override;

  std::int64_t dim = 0;
  Shape sizes;
};

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using LinearImpl = Linear;
using BilinearImpl = Bilinear;
using EmbeddingImpl = Embedding;
using EmbeddingBagImpl = EmbeddingBag;
using IdentityImpl = Identity;
using FlattenImpl = Flatten;
using UnflattenImpl = Unflatten;

}  // namespace cake::nn
