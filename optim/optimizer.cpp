// optimizer.cpp: the Optimizer base (parameter bookkeeping, zero_grad) and its state dict.
#include "optim/optimizer.h"

#include <charconv>
#include <set>

#include "autograd/grad_mode.h"

namespace cake::optim {

Optimizer::Optimizer(std::vector<Tensor> params) : params_(std::move(params)), state_(params_.size()) {
  std::set<const TensorImpl*> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    CAKE_CHECK(p.defined(), "optimizer: parameter ", i, " is undefined");
    CAKE_CHECK(p.is_floating_point(), "optimizer: parameter ", i, " has dtype ", dtype_name(p.dtype()),
               "; only floating-point tensors can be optimised");
    CAKE_CHECK(p.is_leaf(), "optimizer: parameter ", i, " (shape ", p.sizes(),
               ") is not a leaf tensor; optimise the leaves (module parameters), not results of ops");
    CAKE_CHECK(seen.insert(&p.impl()).second, "optimizer: parameter ", i, " (shape ", p.sizes(),
               ") appears more than once in the list");
  }
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

SafetensorsFile Optimizer::state_dict() const {
  SafetensorsFile out;
  out.metadata["optimizer"] = name();
  out.metadata["num_params"] = std::to_string(params_.size());
  for (const auto& [key, value] : hyperparameters()) out.metadata["hp." + key] = exact_text(value);
  if (initial_lr) out.metadata["initial_lr"] = exact_text(*initial_lr);
  for (std::size_t i = 0; i < state_.size(); ++i) {
    out.metadata[state_key(i, "step")] = std::to_string(state_[i].step);
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
  for (const auto& [key, tensor] : state.tensors) {
    std::size_t i = 0;
    std::string entry;
    CAKE_CHECK(split_state_key(key, i, entry) && i < params_.size(), "load ", name(), " state from ", source,
               ": unexpected tensor '", key, "'");
    const Tensor& param = params_[i];
    CAKE_CHECK(tensor.sizes() == param.sizes(), "load ", name(), " state from ", source, ": '", key, "' has shape ",
               tensor.sizes(), " but parameter ", i, " has shape ", param.sizes());
    // A private copy on the parameter's device and in its dtype, so later in-place updates
    // never write into the caller's tensors.
    loaded[i].tensors[entry] = tensor.detach().to(param.device(), param.dtype()).clone();
  }
  set_hyperparameters(values);
  initial_lr = state.metadata.count("initial_lr")
                   ? std::optional<double>(parse_double(meta("initial_lr"), "initial_lr", source))
                   : std::nullopt;
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
