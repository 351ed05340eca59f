// sequential.cpp: nn::Sequential, nn::ModuleList, nn::ModuleDict, nn::ParameterList and nn::ParameterDict.
#include "cake/nn/sequential.h"

#include "cake/tensor/creation.h"

namespace cake::nn {

// The dictionaries' lookups, over (key, value) entries in insertion order.
namespace {

template <class Value>
bool has_key(const std::vector<std::pair<std::string, Value>>& entries, const std::string& key) {
  for (const auto& entry : entries)
    if (entry.first == key) return true;
  return false;
}

// The value under `key`, or an error that lists the keys there are.
template <class Value>
Value value_under(const std::vector<std::pair<std::string, Value>>& entries, const std::string& key,
                  const char* container, const char* what) {
  std::string known;
  for (const auto& [name, value] : entries) {
    if (name == key) return value;
    known += (known.empty() ? "'" : ", '") + name + "'";
  }
  CAKE_FAIL(container, ": no ", what, " under '", key, "' (keys: ", known.empty() ? "none" : known, ")");
}

template <class Value>
std::vector<std::string> keys_of(const std::vector<std::pair<std::string, Value>>& entries) {
  std::vector<std::string> keys;
  for (const auto& entry : entries) keys.push_back(entry.first);
  return keys;
}

}  // namespace

const std::shared_ptr<Module>& ModuleSequence::operator[](std::size_t index) const {
  CAKE_CHECK(index < modules_.size(), name(), ": index ", index, " out of range for ", modules_.size(), " modules");
  return modules_[index];
}

std::shared_ptr<Module> ModuleSequence::clone_into(std::shared_ptr<ModuleSequence> copy) const {
  for (const auto& [name, child] : named_children()) copy->push_back(name, child->clone());
  return copy_state_into(copy);
}

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  // `nn::Sequential seq{nullptr};` reaches this constructor (braces prefer an initializer
  // list), but means what it means in libtorch: an empty holder.
  if (modules.size() == 1 && *modules.begin() == nullptr) {
    make_handle(nullptr);
    return;
  }
  for (const auto& module : modules) push_back(module);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  for (const auto& module : modules_) out = module->forward(out);
  return out;
}

ModuleDict::ModuleDict(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules) {
  for (const auto& [key, module] : modules) insert(key, module);
}

bool ModuleDict::contains(const std::string& key) const { return has_key(layer().named_children(), key); }

std::shared_ptr<Module> ModuleDict::operator[](const std::string& key) const {
  return value_under(layer().named_children(), key, "ModuleDict", "module");
}

std::vector<std::string> ModuleDict::keys() const { return keys_of(layer().named_children()); }

std::shared_ptr<Module> ModuleDict::clone() const {
  auto copy = std::make_shared<ModuleDict>();
  for (const auto& [key, child] : named_children()) copy->insert(key, child->clone());
  return copy_state_into(copy);
}

// ---- ParameterList, ParameterDict -------------------------------------------------------------

Tensor ParameterList::append(Tensor tensor) {
  ParameterList& list = *get();  // itself, or the list a holder points to
  return list.register_parameter(std::to_string(list.size()), std::move(tensor));
}

void ParameterList::extend(const std::vector<Tensor>& tensors) {
  for (const Tensor& t : tensors) append(t);
}

Tensor ParameterList::operator[](std::size_t index) const {
  const NamedTensors entries = layer().named_parameters(false);
  CAKE_CHECK(index < entries.size(), "ParameterList: index ", index, " is out of range for a list of ", entries.size(),
             " parameters");
  return entries[index].second;
}

// A fresh parameter of the same shape for each entry; copy_state_into then copies the values.
std::shared_ptr<Module> ParameterList::clone() const {
  auto copy = std::make_shared<ParameterList>();
  for (const Tensor& p : values()) copy->register_parameter(std::to_string(copy->size()), empty_like(p), p.requires_grad());
  return copy_state_into(copy);
}

ParameterDict::ParameterDict(const NamedTensors& tensors) {
  for (const auto& [key, tensor] : tensors) insert(key, tensor);
}

Tensor ParameterDict::insert(const std::string& key, Tensor tensor) {
  return Holder<ParameterDict>::get()->register_parameter(key, std::move(tensor));  // itself, or the held dict
}

bool ParameterDict::contains(const std::string& key) const { return has_key(items(), key); }

Tensor ParameterDict::operator[](const std::string& key) const {
  return value_under(items(), key, "ParameterDict", "parameter");
}

std::vector<std::string> ParameterDict::keys() const { return keys_of(items()); }

std::shared_ptr<Module> ParameterDict::clone() const {
  auto copy = std::make_shared<ParameterDict>();
  for (const auto& [key, p] : items()) copy->register_parameter(key, empty_like(p), p.requires_grad());
  return copy_state_into(copy);
}

}  // namespace cake::nn
