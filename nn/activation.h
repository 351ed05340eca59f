// activation.h: the nonlinearities as layers, for use inside a Sequential.
//
//   namespace nn = cake::nn;
//   auto mlp = std::make_shared<nn::Sequential>(
//       std::make_shared<nn::Linear>(784, 128), std::make_shared<nn::ReLU>(),
//       std::make_shared<nn::Linear>(128, 10), std::make_shared<nn::LogSoftmax>(1));
//   nn::Sequential same(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10), nn::LogSoftmax(1));  // libtorch's spelling
//
// Each forwards to the function of the same name in nn/functional.h.
#pragma once

#include <cstdint>
#include <string>

#include "cake/nn/functional.h"
#include "cake/nn/module.h"
#include "cake/nn/options.h"

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

}  // namespace cake::nn
