// optimizer.h: the base of Cake's optimisers, and saving/loading their state.
//
//   cake::optim::Adam opt(net->parameters(), {.lr = 1e-3, .weight_decay = 1e-5});
//   for (auto& [x, y] : batches) {
//     opt.zero_grad();
//     F::cross_entropy(net->forward(x), y).backward();
//     opt.step();                                  // updates every parameter in place
//   }
//   cake::save(opt, "opt.safetensors");           // moments, step counts and hyperparameters
//   cake::load(opt, "opt.safetensors");           // ... resume exactly where it stopped
//
// An optimiser holds handles to the parameters (the same tensors the module holds) and, per
// parameter, a ParamState: a step count and named state tensors ("exp_avg", "momentum_buffer",
// ... with PyTorch's names), created on the first step and updated in place afterwards. step()
// runs with gradient recording off and skips parameters whose gradient is undefined, as
// PyTorch does. Every update rule is written out, with its source, in the subclass's .cpp.
// As in PyTorch, move the model (Module::to) before building its optimiser: state tensors are
// created beside the parameters and do not follow a later move.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/safetensors.h"
#include "tensor/tensor.h"

namespace cake::optim {

struct ParamState {
  std::int64_t step = 0;              // updates applied to this parameter
  std::map<std::string, Tensor> tensors;
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient.
  virtual void step() = 0;
  // Clears the parameters' gradients: drops them (the default) or fills them with zeros.
  void zero_grad(bool set_to_none = true);

  virtual std::string name() const = 0;  // "Adam", ...
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
  // The learning rate schedulers start from: the lr when the first scheduler was attached.
  std::optional<double> initial_lr;

  const std::vector<Tensor>& params() const { return params_; }
  const ParamState& state(std::size_t index) const { return state_.at(index); }

  // Everything needed to resume: the state tensors as "state.<i>.<name>" for parameter i, and
  // metadata "optimizer", "num_params", "state.<i>.step" (the step counts) and "hp.<name>" for
  // each hyperparameter (shortest round-trip decimal text, so they read back bit for bit).
  SafetensorsFile state_dict() const;
  // Restores a state_dict() of the same kind of optimiser over parameters of the same shapes;
  // errors name `source`, the entry and both shapes.
  void load_state_dict(const SafetensorsFile& state, const std::string& source = "state dict");

 protected:
  // Name/value pairs of the options (flags as 0 or 1), for state_dict() and its inverse.
  virtual std::vector<std::pair<std::string, double>> hyperparameters() const = 0;
  virtual void set_hyperparameters(const std::map<std::string, double>& values) = 0;
  // The value of `name` in `values`, or an error naming the optimiser.
  double hyperparameter(const std::map<std::string, double>& values, const std::string& name) const;

  std::vector<Tensor> params_;
  std::vector<ParamState> state_;  // state_[i] belongs to params_[i]
};

}  // namespace cake::optim

namespace cake {
// Optimiser checkpoints in the safetensors format (see tensor/safetensors.h).
void save(const optim::Optimizer& optimizer, const std::string& path);
void load(optim::Optimizer& optimizer, const std::string& path);
}  // namespace cake
