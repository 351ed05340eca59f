// activation.h: the nonlinearities as layers, for use inside a Sequential, plus dropout and the
// two similarity layers (CosineSimilarity, PairwiseDistance).
//
//   namespace nn = cake::nn;
//   auto mlp = std::make_shared<nn::Sequential>(
//       std::make_shared<nn::Linear>(784, 128), std::make_shared<nn::ReLU>(),
//       std::make_shared<nn::Linear>(128, 10), std::make_shared<nn::LogSoftmax>(1));
//   nn::Sequential same(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10), nn::LogSoftmax(1));  // libtorch's spelling
//   nn::Sequential convs(nn::Conv2d(3, 16, 3), nn::PReLU(nn::PReLUOptions().num_parameters(16)),
//                        nn::Dropout2d(0.1), nn::Conv2d(16, 16, 3), nn::Mish());
//   nn::PairwiseDistance distance(nn::PairwiseDistanceOptions().p(1));
//   cake::Tensor d = distance(embeddings_a, embeddings_b);   // [N, D], [N, D] -> [N]
//
// Each forwards to the function of the same name in nn/functional.h, where the equations are.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cake/autograd/grad_mode.h"
#include "cake/nn/functional.h"
#include "cake/nn/module.h"
#include "cake/nn/options.h"
#include "cake/tensor/creation.h"

namespace cake::nn {

// libtorch's option structs for the layers with a setting (nn/options.h says how one struct
// takes both `{.negative_slope = 0.2}` and `LeakyReLUOptions().negative_slope(0.2)`).
struct LeakyReLUOptions {
  using Self = LeakyReLUOptions;
  CAKE_ARG(double, negative_slope) = 0.01;
};
struct ELUOptions {
  using Self = ELUOptions;
  CAKE_ARG(double, alpha) = 1.0;
};
struct SoftmaxOptions {  // SoftmaxOptions(1)
  using Self = SoftmaxOptions;
  CAKE_ARG(std::int64_t, dim) = -1;
};
using LogSoftmaxOptions = SoftmaxOptions;
struct DropoutOptions {  // DropoutOptions(0.2) or DropoutOptions().p(0.2)
  using Self = DropoutOptions;
  CAKE_ARG(double, p) = 0.5;
};
using Dropout2dOptions = DropoutOptions;
using Dropout1dOptions = DropoutOptions;
struct PReLUOptions {  // PReLUOptions().num_parameters(16).init(0.1)
  using Self = PReLUOptions;
  CAKE_ARG(std::int64_t, num_parameters) = 1;  // 1: one slope shared by all channels
  CAKE_ARG(double, init) = 0.25;
};
struct CELUOptions {  // CELUOptions().alpha(0.5)
  using Self = CELUOptions;
  CAKE_ARG(double, alpha) = 1.0;
};
using SoftminOptions = SoftmaxOptions;
struct GLUOptions {  // GLUOptions(1): the dim cut in halves
  using Self = GLUOptions;
  CAKE_ARG(std::int64_t, dim) = -1;
};
struct ThresholdOptions {  // ThresholdOptions(0.1, 20): x > 0.1 ? x : 20
  using Self = ThresholdOptions;
  CAKE_ARG(double, threshold);
  CAKE_ARG(double, value);
};
struct ShrinkOptions {  // SoftshrinkOptions(0.5); libtorch's field name
  using Self = ShrinkOptions;
  CAKE_ARG(double, lambda) = 0.5;
};
using SoftshrinkOptions = ShrinkOptions;
struct RReLUOptions {  // RReLUOptions().lower(0.1).upper(0.3)
  using Self = RReLUOptions;
  CAKE_ARG(double, lower) = 1.0 / 8.0;
  CAKE_ARG(double, upper) = 1.0 / 3.0;
};
using AlphaDropoutOptions = DropoutOptions;
using FeatureAlphaDropoutOptions = DropoutOptions;
using HardshrinkOptions = ShrinkOptions;
using SoftplusOptions = functional::SoftplusFuncOptions;
using HardtanhOptions = functional::HardtanhFuncOptions;
using CosineSimilarityOptions = functional::CosineSimilarityFuncOptions;
using PairwiseDistanceOptions = functional::PairwiseDistanceFuncOptions;

class ReLU : public Module, public Holder<ReLU> {
 public:
  ReLU() = default;
  CAKE_HOLDER_CONSTRUCTORS(ReLU)
  std::shared_ptr<Module> clone() const override { return std::make_shared<ReLU>(*this); }
  Tensor forward(const Tensor& x) override { return functional::relu(x); }
  std::string name() const override { return "ReLU"; }
};

class LeakyReLU : public Module, public Holder<LeakyReLU> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(LeakyReLU)
  std::shared_ptr<Module> clone() const override { return std::make_shared<LeakyReLU>(*this); }
  explicit LeakyReLU(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  explicit LeakyReLU(const LeakyReLUOptions& options) : negative_slope(options.negative_slope) {}
  Tensor forward(const Tensor& x) override { return functional::leaky_relu(x, negative_slope); }
  std::string name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override { return "negative_slope=" + std::to_string(negative_slope); }
  double negative_slope = 0.01;
};

class ELU : public Module, public Holder<ELU> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(ELU)
  std::shared_ptr<Module> clone() const override { return std::make_shared<ELU>(*this); }
  explicit ELU(double alpha = 1.0) : alpha(alpha) {}
  explicit ELU(const ELUOptions& options) : alpha(options.alpha) {}
  Tensor forward(const Tensor& x) override { return functional::elu(x, alpha); }
  std::string name() const override { return "ELU"; }
  std::string extra_repr() const override { return "alpha=" + std::to_string(alpha); }
  double alpha = 1.0;
};

class GELU : public Module, public Holder<GELU> {
 public:
  GELU() = default;
  CAKE_HOLDER_CONSTRUCTORS(GELU)
  std::shared_ptr<Module> clone() const override { return std::make_shared<GELU>(*this); }
  Tensor forward(const Tensor& x) override { return functional::gelu(x); }
  std::string name() const override { return "GELU"; }
};

class Sigmoid : public Module, public Holder<Sigmoid> {
 public:
  Sigmoid() = default;
  CAKE_HOLDER_CONSTRUCTORS(Sigmoid)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Sigmoid>(*this); }
  Tensor forward(const Tensor& x) override { return functional::sigmoid(x); }
  std::string name() const override { return "Sigmoid"; }
};

class Tanh : public Module, public Holder<Tanh> {
 public:
  Tanh() = default;
  CAKE_HOLDER_CONSTRUCTORS(Tanh)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Tanh>(*this); }
  Tensor forward(const Tensor& x) override { return functional::tanh(x); }
  std::string name() const override { return "Tanh"; }
};

class Softmax : public Module, public Holder<Softmax> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(Softmax)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Softmax>(*this); }
  explicit Softmax(std::int64_t dim) : dim(dim) {}
  explicit Softmax(const SoftmaxOptions& options) : dim(options.dim) {}
  Tensor forward(const Tensor& x) override { return functional::softmax(x, dim); }
  std::string name() const override { return "Softmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  std::int64_t dim = -1;
};

class LogSoftmax : public Module, public Holder<LogSoftmax> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(LogSoftmax)
  std::shared_ptr<Module> clone() const override { return std::make_shared<LogSoftmax>(*this); }
  explicit LogSoftmax(std::int64_t dim) : dim(dim) {}
  explicit LogSoftmax(const LogSoftmaxOptions& options) : dim(options.dim) {}
  Tensor forward(const Tensor& x) override { return functional::log_softmax(x, dim); }
  std::string name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  std::int64_t dim = -1;
};

// Inverted dropout in training (see functional::dropout), the identity in evaluation.
class Dropout : public Module, public Holder<Dropout> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(Dropout)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Dropout>(*this); }
  explicit Dropout(double p = 0.5) : p(p) {
    CAKE_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability must be in [0, 1], got ", p);
  }
  explicit Dropout(const DropoutOptions& options) : Dropout(options.p()) {}
  Tensor forward(const Tensor& x) override { return functional::dropout(x, p, is_training()); }
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override { return "p=" + std::to_string(p); }
  double p = 0.5;
};

// The settingless nonlinearities of nn/functional.h, one line each.
#define CAKE_ACTIVATION_MODULE(Class, function)                                                    \
  class Class : public Module, public Holder<Class> {                                                \
   public:                                                                                          \
    Class() = default;                                                                              \
    CAKE_HOLDER_CONSTRUCTORS(Class)                                                                 \
    std::shared_ptr<Module> clone() const override { return std::make_shared<Class>(*this); }       \
    Tensor forward(const Tensor& x) override { return functional::function(x); }                    \
    std::string name() const override { return #Class; }                                            \
  }

CAKE_ACTIVATION_MODULE(SiLU, silu);
CAKE_ACTIVATION_MODULE(Mish, mish);
CAKE_ACTIVATION_MODULE(ReLU6, relu6);
CAKE_ACTIVATION_MODULE(Softsign, softsign);
CAKE_ACTIVATION_MODULE(SELU, selu);
CAKE_ACTIVATION_MODULE(Hardsigmoid, hardsigmoid);
CAKE_ACTIVATION_MODULE(Hardswish, hardswish);
CAKE_ACTIVATION_MODULE(LogSigmoid, logsigmoid);
CAKE_ACTIVATION_MODULE(Tanhshrink, tanhshrink);

#undef CAKE_ACTIVATION_MODULE

// The nonlinearities with a setting, holding libtorch's options struct: one line each.
#define CAKE_ACTIVATION_MODULE_WITH_OPTIONS(Class, Options, forward_expression, repr_expression)    \
  class Class : public Module, public Holder<Class> {                                                \
   public:                                                                                          \
    CAKE_HOLDER_CONSTRUCTORS(Class)                                                                 \
    explicit Class(const Options& options = {}) : options(options) {}                              \
    std::shared_ptr<Module> clone() const override { return std::make_shared<Class>(*this); }       \
    Tensor forward(const Tensor& x) override { return forward_expression; }                         \
    std::string name() const override { return #Class; }                                            \
    std::string extra_repr() const override { return repr_expression; }                             \
    Options options;                                                                                \
  }

CAKE_ACTIVATION_MODULE_WITH_OPTIONS(CELU, CELUOptions, functional::celu(x, options.alpha),
                                    "alpha=" + std::to_string(options.alpha()));
CAKE_ACTIVATION_MODULE_WITH_OPTIONS(GLU, GLUOptions, functional::glu(x, options.dim),
                                    "dim=" + std::to_string(options.dim()));
CAKE_ACTIVATION_MODULE_WITH_OPTIONS(Threshold, ThresholdOptions,
                                    functional::threshold(x, options.threshold, options.value),
                                    "threshold=" + std::to_string(options.threshold()) +
                                        ", value=" + std::to_string(options.value()));
CAKE_ACTIVATION_MODULE_WITH_OPTIONS(Softshrink, SoftshrinkOptions, functional::softshrink(x, options.lambda),
                                    std::to_string(options.lambda()));
CAKE_ACTIVATION_MODULE_WITH_OPTIONS(Hardshrink, HardshrinkOptions, functional::hardshrink(x, options.lambda),
                                    std::to_string(options.lambda()));

CAKE_ACTIVATION_MODULE_WITH_OPTIONS(RReLU, RReLUOptions,
                                    functional::rrelu(x, options.lower, options.upper, is_training()),
                                    "lower=" + std::to_string(options.lower()) +
                                        ", upper=" + std::to_string(options.upper()));
CAKE_ACTIVATION_MODULE_WITH_OPTIONS(AlphaDropout, AlphaDropoutOptions,
                                    functional::alpha_dropout(x, options.p, is_training()),
                                    "p=" + std::to_string(options.p()));
CAKE_ACTIVATION_MODULE_WITH_OPTIONS(FeatureAlphaDropout, FeatureAlphaDropoutOptions,
                                    functional::feature_alpha_dropout(x, options.p, is_training()),
                                    "p=" + std::to_string(options.p()));

#undef CAKE_ACTIVATION_MODULE_WITH_OPTIONS

// Softmax over the channels (dim -3) of [N, C, H, W] or [C, H, W]: a distribution per pixel.
class Softmax2d : public Module, public Holder<Softmax2d> {
 public:
  Softmax2d() = default;
  CAKE_HOLDER_CONSTRUCTORS(Softmax2d)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Softmax2d>(*this); }
  Tensor forward(const Tensor& x) override {
    CAKE_CHECK(x.dim() == 3 || x.dim() == 4, "Softmax2d: expected an input [N, C, H, W] or [C, H, W], got shape ",
               x.sizes());
    return functional::softmax(x, -3);
  }
  std::string name() const override { return "Softmax2d"; }
};

// softmax(-x) along dim, as Softmax.
class Softmin : public Module, public Holder<Softmin> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(Softmin)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Softmin>(*this); }
  explicit Softmin(std::int64_t dim) : dim(dim) {}
  explicit Softmin(const SoftminOptions& options) : dim(options.dim) {}
  Tensor forward(const Tensor& x) override { return functional::softmin(x, dim); }
  std::string name() const override { return "Softmin"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  std::int64_t dim = -1;
};

// A ReLU whose negative slope is learned (functional::prelu): the parameter "weight", of shape
// [num_parameters], one slope per channel or one for all, starting at init.
class PReLU : public Module, public Holder<PReLU> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(PReLU)
  explicit PReLU(const PReLUOptions& options = {}) : options(options) {
    CAKE_CHECK(options.num_parameters >= 1, "PReLU: num_parameters must be positive, got ", options.num_parameters());
    weight = register_parameter("weight", empty({options.num_parameters}));
    reset_parameters();
  }
  void reset_parameters() {
    NoGradGuard no_grad;
    weight.fill_(options.init());
  }
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<PReLU>(options)); }
  Tensor forward(const Tensor& x) override { return functional::prelu(x, weight); }
  std::string name() const override { return "PReLU"; }
  std::string extra_repr() const override { return "num_parameters=" + std::to_string(options.num_parameters()); }

  PReLUOptions options;
  Tensor weight;  // [num_parameters]
};

class Softplus : public Module, public Holder<Softplus> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(Softplus)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Softplus>(*this); }
  explicit Softplus(const SoftplusOptions& options = {}) : options(options) {}
  Tensor forward(const Tensor& x) override { return functional::softplus(x, options); }
  std::string name() const override { return "Softplus"; }
  std::string extra_repr() const override {
    return "beta=" + std::to_string(options.beta()) + ", threshold=" + std::to_string(options.threshold());
  }
  SoftplusOptions options;
};

class Hardtanh : public Module, public Holder<Hardtanh> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(Hardtanh)
  std::shared_ptr<Module> clone() const override { return std::make_shared<Hardtanh>(*this); }
  explicit Hardtanh(const HardtanhOptions& options = {}) : options(options) {
    CAKE_CHECK(options.min_val <= options.max_val, "Hardtanh: min_val (", options.min_val(),
               ") must not exceed max_val (", options.max_val(), ")");
  }
  Tensor forward(const Tensor& x) override { return functional::hardtanh(x, options); }
  std::string name() const override { return "Hardtanh"; }
  std::string extra_repr() const override {
    return "min_val=" + std::to_string(options.min_val()) + ", max_val=" + std::to_string(options.max_val());
  }
  HardtanhOptions options;
};

// Channel dropout in training (functional::dropout2d for feature maps [N, C, H, W],
// functional::dropout1d for sequences [N, C, L]), the identity in evaluation.
#define CAKE_CHANNEL_DROPOUT_MODULE(Class, function)                                                  \
  class Class : public Module, public Holder<Class> {                                                  \
   public:                                                                                             \
    CAKE_HOLDER_CONSTRUCTORS(Class)                                                                    \
    std::shared_ptr<Module> clone() const override { return std::make_shared<Class>(*this); }          \
    explicit Class(double p = 0.5) : p(p) {                                                            \
      CAKE_CHECK(p >= 0.0 && p <= 1.0, #Class ": probability must be in [0, 1], got ", p);            \
    }                                                                                                  \
    explicit Class(const DropoutOptions& options) : Class(options.p()) {}                              \
    Tensor forward(const Tensor& x) override { return functional::function(x, p, is_training()); }    \
    std::string name() const override { return #Class; }                                               \
    std::string extra_repr() const override { return "p=" + std::to_string(p); }                      \
    double p = 0.5;                                                                                    \
  }
CAKE_CHANNEL_DROPOUT_MODULE(Dropout2d, dropout2d);
CAKE_CHANNEL_DROPOUT_MODULE(Dropout1d, dropout1d);
#undef CAKE_CHANNEL_DROPOUT_MODULE

// The similarity layers take two inputs: forward(x1, x2).
class CosineSimilarity : public Module, public Holder<CosineSimilarity> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(CosineSimilarity)
  std::shared_ptr<Module> clone() const override { return std::make_shared<CosineSimilarity>(*this); }
  explicit CosineSimilarity(const CosineSimilarityOptions& options = {}) : options(options) {}
  Tensor forward(const Tensor& x1, const Tensor& x2) { return functional::cosine_similarity(x1, x2, options); }
  std::string name() const override { return "CosineSimilarity"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(options.dim()); }
  CosineSimilarityOptions options;
};

class PairwiseDistance : public Module, public Holder<PairwiseDistance> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(PairwiseDistance)
  std::shared_ptr<Module> clone() const override { return std::make_shared<PairwiseDistance>(*this); }
  explicit PairwiseDistance(const PairwiseDistanceOptions& options = {}) : options(options) {}
  Tensor forward(const Tensor& x1, const Tensor& x2) { return functional::pairwise_distance(x1, x2, options); }
  std::string name() const override { return "PairwiseDistance"; }
  std::string extra_repr() const override { return "p=" + std::to_string(options.p()); }
  PairwiseDistanceOptions options;
};

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using ReLUImpl = ReLU;
using LeakyReLUImpl = LeakyReLU;
using ELUImpl = ELU;
using GELUImpl = GELU;
using SigmoidImpl = Sigmoid;
using TanhImpl = Tanh;
using SoftmaxImpl = Softmax;
using LogSoftmaxImpl = LogSoftmax;
using DropoutImpl = Dropout;
using SiLUImpl = SiLU;
using MishImpl = Mish;
using ReLU6Impl = ReLU6;
using SoftsignImpl = Softsign;
using SELUImpl = SELU;
using HardsigmoidImpl = Hardsigmoid;
using HardswishImpl = Hardswish;
using LogSigmoidImpl = LogSigmoid;
using TanhshrinkImpl = Tanhshrink;
using CELUImpl = CELU;
using GLUImpl = GLU;
using ThresholdImpl = Threshold;
using SoftshrinkImpl = Softshrink;
using HardshrinkImpl = Hardshrink;
using SoftminImpl = Softmin;
using RReLUImpl = RReLU;
using AlphaDropoutImpl = AlphaDropout;
using FeatureAlphaDropoutImpl = FeatureAlphaDropout;
using Softmax2dImpl = Softmax2d;
using PReLUImpl = PReLU;
using SoftplusImpl = Softplus;
using HardtanhImpl = Hardtanh;
using Dropout2dImpl = Dropout2d;
using Dropout1dImpl = Dropout1d;
using CosineSimilarityImpl = CosineSimilarity;
using PairwiseDistanceImpl = PairwiseDistance;

}  // namespace cake::nn
