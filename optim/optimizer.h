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
//
// Parameter groups, as torch.optim's param_groups: parts of a model trained with their own
// options (a smaller learning rate for a pretrained encoder, say):
//
//   cake::optim::Adam opt({cake::optim::OptimizerParamGroup(net->encoder->parameters()),
//                          cake::optim::OptimizerParamGroup(centres, std::make_unique<cake::optim::AdamOptions>(1e-2))},
//                         cake::optim::AdamOptions(1e-3));       // the defaults of groups without options
//   opt.param_groups()[1].options().set_lr(5e-3);                 // or .as<AdamOptions>().weight_decay(1e-4)
//
// A group without options of its own gets a copy of the defaults when the optimiser is built,
// so every group then has its own options; learning-rate schedulers move each group's lr from
// that group's initial lr. An optimiser built from a plain parameter list has one group that
// reads the optimiser's `options` member directly, as before groups existed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "cake/tensor/safetensors.h"
#include "cake/tensor/tensor.h"

namespace cake::optim {

struct ParamState {
  std::int64_t step = 0;              // updates applied to this parameter
  std::map<std::string, Tensor> tensors;
  // Numbers kept per parameter on the host, in double whatever the parameter's dtype (NAdam's
  // running product of momentum coefficients, "mu_product"). Saved and loaded with the tensors.
  std::map<std::string, double> scalars;
};

// A copy of one optimiser's options struct (AdamOptions, SGDOptions, ...), whatever its type:
// the learning rate can be read and set without knowing the type, and as<T>() gives the struct
// itself (an error names both types when T is not the stored one).
class OptimizerOptions {
 public:
  template <class Options>
  explicit OptimizerOptions(const Options& options)
      : value_(std::make_shared<Options>(options)),
        type_(&typeid(Options)),
        get_lr_([](const void* o) { return static_cast<double>(static_cast<const Options*>(o)->lr); }),
        set_lr_([](void* o, double lr) { static_cast<Options*>(o)->lr = lr; }),
        copy_([](const void* o) -> std::shared_ptr<void> {
          return std::make_shared<Options>(*static_cast<const Options*>(o));
        }) {}
  // Copies are deep: two groups never share their options.
  OptimizerOptions(const OptimizerOptions& other);
  OptimizerOptions& operator=(const OptimizerOptions& other);
  OptimizerOptions(OptimizerOptions&&) noexcept = default;
  OptimizerOptions& operator=(OptimizerOptions&&) noexcept = default;

  double get_lr() const { return get_lr_(value_.get()); }
  void set_lr(double lr) { set_lr_(value_.get(), lr); }
  template <class Options>
  Options& as() {
    check_type(typeid(Options));
    return *static_cast<Options*>(value_.get());
  }
  template <class Options>
  const Options& as() const {
    check_type(typeid(Options));
    return *static_cast<const Options*>(value_.get());
  }

 private:
  void check_type(const std::type_info& wanted) const;
  std::shared_ptr<void> value_;
  const std::type_info* type_;
  double (*get_lr_)(const void*);
  void (*set_lr_)(void*, double);
  std::shared_ptr<void> (*copy_)(const void*);
};

// Parameters trained with the same options. Without options, the group takes the optimiser's
// defaults (a copy of them, made when the optimiser is built).
class OptimizerParamGroup {
 public:
  OptimizerParamGroup(std::vector<Tensor> params) : params_(std::move(params)) {}  // NOLINT: as libtorch
  template <class Options>
  OptimizerParamGroup(std::vector<Tensor> params, std::unique_ptr<Options> options) : params_(std::move(params)) {
    if (options) options_.emplace(*options);
  }
  OptimizerParamGroup(std::vector<Tensor> params, OptimizerOptions options)
      : params_(std::move(params)), options_(std::move(options)) {}

  bool has_options() const { return options_.has_value(); }
  OptimizerOptions& options();
  const OptimizerOptions& options() const;
  void set_options(OptimizerOptions options) { options_ = std::move(options); }
  const std::vector<Tensor>& params() const { return params_; }

  // The learning rate schedulers start from (recorded by the first scheduler attached).
  std::optional<double> initial_lr;

 private:
  std::vector<Tensor> params_;
  std::optional<OptimizerOptions> options_;
};

// An optimiser's options as name/value pairs (flags as 0 or 1): state_dict() saves each as
// "hp.<name>".
using Hyperparameters = std::vector<std::pair<std::string, double>>;
// Reads one saved hyperparameter by name; a missing one is an error that names the optimiser.
using HyperparameterLookup = std::function<double(const char*)>;

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params);
  explicit Optimizer(std::vector<OptimizerParamGroup> groups);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // libtorch's closure type: re-evaluates the model (zero_grad, forward, backward) and returns
  // the loss. Only optimisers that evaluate the loss several times per step take one (LBFGS).
  using LossClosure = std::function<Tensor()>;

  // One update of every parameter that has a gradient.
  virtual void step() = 0;
  // Clears the parameters' gradients: drops them (the default) or fills them with zeros.
  void zero_grad(bool set_to_none = true);

  virtual std::string name() const = 0;  // "Adam", ...
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
  // For CUDA-graph replays (cuda/graph.h): a capturable optimiser (Adam's `capturable`) reads
  // its learning rate from a device tensor; this copies the host's lr (and each group's) into
  // it, eagerly. Call it outside any capture, before replays, after a schedule changed the lr.
  // A no-op for optimisers without device hyperparameters.
  void sync_device_lr();
  // The learning rate schedulers start from: the lr when the first scheduler was attached.
  std::optional<double> initial_lr;

  // Every parameter, group after group; state(i) belongs to params()[i].
  const std::vector<Tensor>& params() const { return params_; }
  const ParamState& state(std::size_t index) const { return state_.at(index); }

  // The parameter groups (one for an optimiser built from a parameter list). Change a group's
  // options through options(); add parameters with add_param_group.
  std::vector<OptimizerParamGroup>& param_groups() { return param_groups_; }
  const std::vector<OptimizerParamGroup>& param_groups() const { return param_groups_; }
  // Appends a group; without options it gets a copy of the defaults.
  void add_param_group(OptimizerParamGroup group);
  // The learning rate of group g (the optimiser's lr() for a group without options), and its
  // setter; schedulers drive these.
  double group_lr(std::size_t g) const;
  void set_group_lr(std::size_t g, double lr);
  // The lr schedulers of group g start from: initial_lr for group 0, the group's own otherwise.
  std::optional<double>& group_initial_lr(std::size_t g);
  // The momentum of group g that OneCycleLR and CyclicLR cycle (PyTorch's cycle_momentum): SGD's
  // and RMSprop's `momentum`, or beta1 of the Adam family; nullopt for an optimiser with neither.
  std::optional<double> group_momentum(std::size_t g) const;
  void set_group_momentum(std::size_t g, double momentum);

  // Everything needed to resume: the state tensors as "state.<i>.<name>" for parameter i, and
  // metadata "optimizer", "num_params", "state.<i>.step" (the step counts), "state.<i>.<name>"
  // for the scalars and "hp.<name>" for each hyperparameter (numbers as shortest round-trip
  // decimal text, so they read back bit for bit). Virtual for optimisers whose state is not per
  // parameter (LBFGS keeps one search history for all of them): they add entries of their own.
  virtual SafetensorsFile state_dict() const;
  // Restores a state_dict() of the same kind of optimiser over parameters of the same shapes;
  // errors name `source`, the entry and both shapes.
  virtual void load_state_dict(const SafetensorsFile& state, const std::string& source = "state dict");

 protected:
  // The options as name/value pairs, for state_dict() and its inverse (OptimizerWithOptions
  // below writes all four for Cake's optimisers).
  virtual Hyperparameters hyperparameters() const = 0;
  virtual void set_hyperparameters(const std::map<std::string, double>& values) = 0;
  // The same for the options of group g (the defaults' for a group without options); an
  // optimiser that supports groups overrides both.
  virtual Hyperparameters group_hyperparameters(std::size_t g) const;
  virtual void set_group_hyperparameters(std::size_t g, const std::map<std::string, double>& values);
  // A copy of the defaults for each group without options (called by a subclass constructor
  // that takes groups); an error names a group whose options are of another optimiser's type.
  template <class Options>
  void give_groups_options(const Options& defaults) {
    for (OptimizerParamGroup& group : param_groups_) {
      if (!group.has_options()) group.set_options(OptimizerOptions(defaults));
      else (void)group.options().template as<Options>();  // checks the type
    }
    defaults_factory_ = [defaults]() { return OptimizerOptions(defaults); };
  }
  // The options group g trains with: its own, or `defaults` for a group without.
  template <class Options>
  const Options& group_options(std::size_t g, const Options& defaults) const {
    const OptimizerParamGroup& group = param_groups_[g];
    return group.has_options() ? group.options().template as<Options>() : defaults;
  }
  // The group of params_[i].
  std::size_t group_of(std::size_t i) const;
  // Parameters [group_begin(g), group_end(g)) of params_ belong to group g.
  // Group g's learning rate as a float64 scalar on `device`, for a capturable step (undefined
  // when !capturable): created on first use, refreshed from the host's lr at every eager step
  // (a captured step keeps reading the tensor, which sync_device_lr() refreshes before replays).
  Tensor capturable_lr(std::size_t g, bool capturable);
  std::size_t group_begin(std::size_t g) const { return group_offsets_[g]; }
  std::size_t group_end(std::size_t g) const { return group_offsets_[g + 1]; }
  // The value of `name` in `values`, or an error naming the optimiser.
  double hyperparameter(const std::map<std::string, double>& values, const std::string& name) const;

  std::vector<Tensor> params_;
  std::vector<ParamState> state_;  // state_[i] belongs to params_[i]

 private:
  std::vector<Tensor> device_lr_;  // capturable_lr: each group's lr on its device (empty until used)
  std::vector<OptimizerParamGroup> param_groups_;
  std::vector<std::size_t> group_offsets_{0};       // group g: params_[offsets[g], offsets[g + 1])
  std::function<OptimizerOptions()> defaults_factory_;  // set by give_groups_options
};

// The base of Cake's optimisers, between them and Optimizer: it reads and writes an optimiser's
// options struct for Optimizer (the lr, and the options in state dicts: the optimiser's own and
// each group's), written once here rather than again in every optimiser, so that each says only
// what is its own: how its options map to named values. An optimiser passes itself (CRTP) and
// declares the two functions this base calls:
//
//   class Adamax : public OptimizerWithOptions<Adamax, AdamaxOptions> {
//    public:
//     ...
//     AdamaxOptions options;  // the options; with groups, the defaults of groups without their own
//    private:
//     friend OptimizerWithOptions;
//     static Hyperparameters values_of(const AdamaxOptions& o);  // {{"lr", o.lr}, ...}
//     static AdamaxOptions options_from(const HyperparameterLookup& value, const AdamaxOptions& current);
//   };
//
// options_from is the inverse of values_of: the options with each saved value (value("lr")),
// checked as the constructor checks them. `current` (the options being replaced) supplies what
// a state dict does not save: settings for how to run, such as Adam's `fused`.
template <class Derived, class Options>
class OptimizerWithOptions : public Optimizer {
 public:
  using Optimizer::Optimizer;
  double lr() const override { return self().options.lr; }
  void set_lr(double lr) override { self().options.lr = lr; }

 protected:
  Hyperparameters hyperparameters() const override { return Derived::values_of(self().options); }
  void set_hyperparameters(const std::map<std::string, double>& values) override {
    self().options = Derived::options_from(lookup(values), self().options);
  }
  Hyperparameters group_hyperparameters(std::size_t g) const override {
    return Derived::values_of(group_options(g, self().options));
  }
  void set_group_hyperparameters(std::size_t g, const std::map<std::string, double>& values) override {
    Options& current = param_groups()[g].options().template as<Options>();
    current = Derived::options_from(lookup(values), current);
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  const Derived& self() const { return static_cast<const Derived&>(*this); }
  HyperparameterLookup lookup(const std::map<std::string, double>& values) const {
    return [this, &values](const char* name) { return hyperparameter(values, name); };
  }
};

}  // namespace cake::optim

namespace cake {
// Optimiser checkpoints in the safetensors format (see tensor/safetensors.h).
void save(const optim::Optimizer& optimizer, const std::string& path);
void load(optim::Optimizer& optimizer, const std::string& path);
}  // namespace cake
