// optimizer.cpp: the Optimizer base (parameter bookkeeping, zero_grad) and its state dict.
#include "cake/optim/optimizer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "cake/autograd/grad_mode.h"
#include "cake/cuda/device_api.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

// ---- options and groups ----------------------------------------------------------------------

OptimizerOptions::OptimizerOptions(const OptimizerOptions& other)
    : value_(other.copy_(other.value_.get())),
      type_(other.type_),
      get_lr_(other.get_lr_),
      set_lr_(other.set_lr_),
      copy_(other.copy_) {}

OptimizerOptions& OptimizerOptions::operator=(const OptimizerOptions& other) {
  if (this != &other) *this = OptimizerOptions(other);
  return *this;
}

void OptimizerOptions::check_type(const std::type_info& wanted) const {
  CAKE_CHECK(wanted == *type_, "optimizer options: these are ", type_->name(), ", not ", wanted.name(),
             " (a parameter group's options must be those of the optimiser it belongs to)");
}

OptimizerOptions& OptimizerParamGroup::options() {
  CAKE_CHECK(options_.has_value(), "OptimizerParamGroup: this group has no options of its own (it uses the optimiser's)");
  return *options_;
}

const OptimizerOptions& OptimizerParamGroup::options() const {
  CAKE_CHECK(options_.has_value(), "OptimizerParamGroup: this group has no options of its own (it uses the optimiser's)");
  return *options_;
}

// ---- the optimiser -----------------------------------------------------------------------------

Optimizer::Optimizer(std::vector<Tensor> params) : Optimizer(std::vector<OptimizerParamGroup>{}) {
  add_param_group(OptimizerParamGroup(std::move(params)));
}

Optimizer::Optimizer(std::vector<OptimizerParamGroup> groups) {
  for (OptimizerParamGroup& group : groups) add_param_group(std::move(group));
}

void Optimizer::add_param_group(OptimizerParamGroup group) {
  if (!group.has_options() && defaults_factory_) group.set_options(defaults_factory_());
  std::set<const TensorImpl*> seen;
  for (const Tensor& p : params_) seen.insert(&p.impl());
  for (const Tensor& p : group.params()) {
    const std::size_t i = params_.size();
    CAKE_CHECK(p.defined(), "optimizer: parameter ", i, " is undefined");
    CAKE_CHECK(p.is_floating_point(), "optimizer: parameter ", i, " has dtype ", dtype_name(p.dtype()),
               "; only floating-point tensors can be optimised");
    CAKE_CHECK(p.is_leaf(), "optimizer: parameter ", i, " (shape ", p.sizes(),
               ") is not a leaf tensor; optimise the leaves (module parameters), not results of ops");
    CAKE_CHECK(seen.insert(&p.impl()).second, "optimizer: parameter ", i, " (shape ", p.sizes(),
               ") appears more than once in the list");
    params_.push_back(p);
    state_.emplace_back();
  }
  group_offsets_.push_back(params_.size());
  param_groups_.push_back(std::move(group));
}

std::size_t Optimizer::group_of(std::size_t i) const {
  std::size_t g = 0;
  while (group_offsets_[g + 1] <= i) ++g;  // few groups: a linear scan
  return g;
}

// Group g's lr as a float64 tensor on the device of its first parameter, made on first use and
// refreshed from the host value whenever no capture is underway (a refresh inside a capture would
// bake the lr of that moment into the graph).
Tensor Optimizer::capturable_lr(std::size_t g, bool capturable) {
  if (!capturable) return Tensor();
  const Device device = group_end(g) > group_begin(g) ? params_[group_begin(g)].device() : Device(kCPU);
  if (device_lr_.size() < param_groups_.size()) device_lr_.resize(param_groups_.size());
  Tensor& lr = device_lr_[g];
  if (!lr.defined()) {
    CAKE_CHECK(cuda::capturing_stream() == nullptr, name(), ": the device lr of parameter group ", g,
               " would be created inside a CUDA graph capture, where its fill would be replayed at every step; take "
               "a step eagerly before capturing (warm-up)");
    lr = full({}, group_lr(g), TensorOptions(kFloat64, device));
  } else if (cuda::capturing_stream() == nullptr) lr.fill_(group_lr(g));
  return lr;
}

void Optimizer::sync_device_lr() {
  cuda::check_not_capturing("Optimizer::sync_device_lr()");
  for (std::size_t g = 0; g < device_lr_.size(); ++g)
    if (device_lr_[g].defined()) device_lr_[g].fill_(group_lr(g));
}

double Optimizer::group_lr(std::size_t g) const {
  CAKE_CHECK(g < param_groups_.size(), name(), ": no parameter group ", g, " (there are ", param_groups_.size(), ")");
  return param_groups_[g].has_options() ? param_groups_[g].options().get_lr() : lr();
}

void Optimizer::set_group_lr(std::size_t g, double value) {
  CAKE_CHECK(g < param_groups_.size(), name(), ": no parameter group ", g, " (there are ", param_groups_.size(), ")");
  if (param_groups_[g].has_options()) param_groups_[g].options().set_lr(value);
  else set_lr(value);
}

std::optional<double>& Optimizer::group_initial_lr(std::size_t g) {
  CAKE_CHECK(g < param_groups_.size(), name(), ": no parameter group ", g, " (there are ", param_groups_.size(), ")");
  return g == 0 ? initial_lr : param_groups_[g].initial_lr;
}

namespace {
// The momentum among an optimiser's hyperparameters: "momentum", else "beta1"; nullptr for neither.
const std::pair<std::string, double>* find_momentum(const Hyperparameters& values) {
  for (const char* name : {"momentum", "beta1"}) {
    const auto it = std::find_if(values.begin(), values.end(), [&](const auto& entry) { return entry.first == name; });
    if (it != values.end()) return &*it;
  }
  return nullptr;
}
}  // namespace

std::optional<double> Optimizer::group_momentum(std::size_t g) const {
  CAKE_CHECK(g < param_groups_.size(), name(), ": no parameter group ", g, " (there are ", param_groups_.size(), ")");
  const Hyperparameters values = group_hyperparameters(g);
  const auto* momentum = find_momentum(values);
  return momentum ? std::optional<double>(momentum->second) : std::nullopt;
}

void Optimizer::set_group_momentum(std::size_t g, double value) {
  CAKE_CHECK(g < param_groups_.size(), name(), ": no parameter group ", g, " (there are ", param_groups_.size(), ")");
  const Hyperparameters values = group_hyperparameters(g);
  const auto* momentum = find_momentum(values);
  CAKE_CHECK(momentum != nullptr, name(), " has no momentum (nor beta1) to set");
  std::map<std::string, double> updated(values.begin(), values.end());
  updated[momentum->first] = value;
  // As set_group_lr: a group without options of its own uses the optimiser's.
  if (param_groups_[g].has_options()) set_group_hyperparameters(g, updated);
  else set_hyperparameters(updated);
}

Hyperparameters Optimizer::group_hyperparameters(std::size_t g) const {
  CAKE_CHECK(!param_groups_[g].has_options(), name(), " does not support parameter groups with options of their own");
  return hyperparameters();
}

void Optimizer::set_group_hyperparameters(std::size_t g, const std::map<std::string, double>& values) {
  CAKE_CHECK(!param_groups_[g].has_options(), name(), " does not support parameter groups with options of their own");
  set_hyperparameters(values);
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (Tensor& p : params_) {
    if (!p.grad().defined()) continue;
    if (set_to_none) p.set_grad(Tensor());
    else p.mutable_grad().zero_();
  }
}

double Optimizer::hyperparameter(const std::map<std::string, double>& values, const std::string& key) const {
  auto it = values.find(key);
  CAKE_CHECK(it != values.end(), name(), ": the state dict has no hyperparameter '", key, "'");
  return it->second;
}

// ---- state dict ------------------------------------------------------------------------------

// Shortest decimal text that reads back as exactly the same double.
static std::string exact_text(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

static std::string state_key(std::size_t index, const std::string& name) {
  return "state." + std::to_string(index) + "." + name;
}

// True for the layout every optimiser had before groups: one group, reading `options`.
static bool single_legacy_group(const std::vector<OptimizerParamGroup>& groups) {
  return groups.size() == 1 && !groups[0].has_options();
}

SafetensorsFile Optimizer::state_dict() const {
  SafetensorsFile out;
  out.metadata["optimizer"] = name();
  out.metadata["num_params"] = std::to_string(params_.size());
  for (const auto& [key, value] : hyperparameters()) out.metadata["hp." + key] = exact_text(value);
  if (initial_lr) out.metadata["initial_lr"] = exact_text(*initial_lr);
  if (!single_legacy_group(param_groups_)) {
    // Each group: its size and its own options ("group.<g>.hp.<name>"), its initial lr.
    out.metadata["num_groups"] = std::to_string(param_groups_.size());
    for (std::size_t g = 0; g < param_groups_.size(); ++g) {
      const std::string prefix = "group." + std::to_string(g) + ".";
      out.metadata[prefix + "num_params"] = std::to_string(group_end(g) - group_begin(g));
      for (const auto& [key, value] : group_hyperparameters(g)) out.metadata[prefix + "hp." + key] = exact_text(value);
      const std::optional<double>& initial = g == 0 ? initial_lr : param_groups_[g].initial_lr;
      if (initial) out.metadata[prefix + "initial_lr"] = exact_text(*initial);
    }
  }
  for (std::size_t i = 0; i < state_.size(); ++i) {
    out.metadata[state_key(i, "step")] = std::to_string(state_[i].step);
    for (const auto& [name, value] : state_[i].scalars) out.metadata[state_key(i, name)] = exact_text(value);
    for (const auto& [name, tensor] : state_[i].tensors) out.tensors[state_key(i, name)] = tensor;
  }
  return out;
}

static double parse_double(const std::string& text, const std::string& what, const std::string& source) {
  double value = 0.0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  CAKE_CHECK(result.ec == std::errc() && result.ptr == text.data() + text.size(), "load optimizer state from ", source,
             ": '", what, "' is not a number: \"", text, "\"");
  return value;
}

// Splits "state.<i>.<name>" into i and name; false for any other key.
static bool split_state_key(const std::string& key, std::size_t& index, std::string& name) {
  if (key.rfind("state.", 0) != 0) return false;
  const std::size_t dot = key.find('.', 6);
  if (dot == std::string::npos || dot == 6) return false;
  const auto result = std::from_chars(key.data() + 6, key.data() + dot, index);
  if (result.ec != std::errc() || result.ptr != key.data() + dot) return false;
  name = key.substr(dot + 1);
  return !name.empty();
}

void Optimizer::load_state_dict(const SafetensorsFile& state, const std::string& source) {
  auto meta = [&](const std::string& key) {
    auto it = state.metadata.find(key);
    CAKE_CHECK(it != state.metadata.end(), "load ", name(), " state from ", source, ": metadata '", key, "' is missing");
    return it->second;
  };
  CAKE_CHECK(meta("optimizer") == name(), "load ", name(), " state from ", source, ": it holds the state of a ",
             meta("optimizer"), " optimiser");
  CAKE_CHECK(meta("num_params") == std::to_string(params_.size()), "load ", name(), " state from ", source, ": it has ",
             meta("num_params"), " parameters but this optimiser has ", params_.size());

  // Build the new state completely before replacing anything.
  std::map<std::string, double> values;
  for (const auto& [key, text] : state.metadata)
    if (key.rfind("hp.", 0) == 0) values[key.substr(3)] = parse_double(text, key, source);
  std::vector<ParamState> loaded(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::string key = state_key(i, "step");
    const std::string text = meta(key);
    const auto result = std::from_chars(text.data(), text.data() + text.size(), loaded[i].step);
    CAKE_CHECK(result.ec == std::errc() && result.ptr == text.data() + text.size() && loaded[i].step >= 0, "load ",
               name(), " state from ", source, ": metadata '", key, "' is not a step count: \"", text, "\"");
  }
  for (const auto& [key, text] : state.metadata) {
    std::size_t i = 0;
    std::string entry;
    if (!split_state_key(key, i, entry) || entry == "step") continue;
    CAKE_CHECK(i < params_.size(), "load ", name(), " state from ", source, ": unexpected metadata '", key, "'");
    loaded[i].scalars[entry] = parse_double(text, key, source);
  }
  for (const auto& [key, tensor] : state.tensors) {
    std::size_t i = 0;
    std::string entry;
    CAKE_CHECK(split_state_key(key, i, entry) && i < params_.size(), "load ", name(), " state from ", source,
               ": unexpected tensor '", key, "'");
    const Tensor& param = params_[i];
    if (entry == "step") {
      // A capturable optimiser's device step count (optim/adam.h): a float64 scalar, and the
      // truth (replays of a CUDA graph advance it, not the host count saved beside it).
      CAKE_CHECK(tensor.numel() == 1, "load ", name(), " state from ", source, ": '", key, "' has shape ",
                 tensor.sizes(), " but a step count is a scalar");
      const double count = tensor.item<double>();
      CAKE_CHECK(count >= 0.0 && count == std::floor(count), "load ", name(), " state from ", source, ": '", key,
                 "' is not a step count: ", count);
      loaded[i].step = static_cast<std::int64_t>(count);
      loaded[i].tensors[entry] = full({}, count, TensorOptions(kFloat64, param.device()));
      continue;
    }
    CAKE_CHECK(tensor.sizes() == param.sizes(), "load ", name(), " state from ", source, ": '", key, "' has shape ",
               tensor.sizes(), " but parameter ", i, " has shape ", param.sizes());
    // A private copy on the parameter's device and in its dtype, so later in-place updates
    // never write into the caller's tensors.
    loaded[i].tensors[entry] = tensor.detach().to(param.device(), param.dtype()).clone();
  }
  // Groups: the same partition, then each group's options.
  const std::size_t saved_groups =
      state.metadata.count("num_groups") ? static_cast<std::size_t>(std::stoull(meta("num_groups"))) : 1;
  CAKE_CHECK(saved_groups == param_groups_.size(), "load ", name(), " state from ", source, ": it has ", saved_groups,
             " parameter groups but this optimiser has ", param_groups_.size());
  std::vector<std::map<std::string, double>> group_values(param_groups_.size());
  std::vector<std::optional<double>> group_initial(param_groups_.size());
  if (state.metadata.count("num_groups")) {
    for (std::size_t g = 0; g < param_groups_.size(); ++g) {
      const std::string prefix = "group." + std::to_string(g) + ".";
      CAKE_CHECK(meta(prefix + "num_params") == std::to_string(group_end(g) - group_begin(g)), "load ", name(),
                 " state from ", source, ": group ", g, " has ", meta(prefix + "num_params"),
                 " parameters but this optimiser's has ", group_end(g) - group_begin(g));
      for (const auto& [key, text] : state.metadata)
        if (key.rfind(prefix + "hp.", 0) == 0)
          group_values[g][key.substr(prefix.size() + 3)] = parse_double(text, key, source);
      if (state.metadata.count(prefix + "initial_lr"))
        group_initial[g] = parse_double(meta(prefix + "initial_lr"), prefix + "initial_lr", source);
    }
  } else {
    CAKE_CHECK(single_legacy_group(param_groups_), "load ", name(), " state from ", source,
               ": it was saved without parameter groups but this optimiser's group has options of its own");
  }
  set_hyperparameters(values);
  initial_lr = state.metadata.count("initial_lr")
                   ? std::optional<double>(parse_double(meta("initial_lr"), "initial_lr", source))
                   : std::nullopt;
  if (state.metadata.count("num_groups")) {
    for (std::size_t g = 0; g < param_groups_.size(); ++g) {
      set_group_hyperparameters(g, group_values[g]);
      if (g > 0) param_groups_[g].initial_lr = group_initial[g];
    }
    initial_lr = group_initial[0];
  }
  state_ = std::move(loaded);
}

}  // namespace cake::optim

namespace cake {

void save(const optim::Optimizer& optimizer, const std::string& path) {
  const SafetensorsFile state = optimizer.state_dict();
  save_safetensors(path, state.tensors, state.metadata);
}

void load(optim::Optimizer& optimizer, const std::string& path) {
  optimizer.load_state_dict(load_safetensors(path), "'" + path + "'");
}

}  // namespace cake
