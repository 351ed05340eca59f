// module.cpp: registration, traversal, modes, placement and printing of nn::Module.
#include "cake/nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <ostream>
#include <sstream>
#include <typeinfo>

#include "cake/autograd/grad_mode.h"

namespace cake::nn {

Tensor Module::forward(const Tensor&) {
  CAKE_FAIL("Module ", name(), " has no forward(const Tensor&): its forward takes other arguments, so it "
            "cannot be called through the base class (in a Sequential, say)");
}

// ---- registration ----------------------------------------------------------------------------

void Module::check_new_name(const std::string& name, const char* what) const {
  CAKE_CHECK(!name.empty() && name.find('.') == std::string::npos, "register_", what, " in ", this->name(),
             ": the name '", name, "' must be non-empty and contain no '.' (dots separate nested names)");
  auto taken = [&](const auto& list) {
    for (const auto& entry : list)
      if (entry.first == name) return true;
    return false;
  };
  CAKE_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), "register_", what, " in ",
             this->name(), ": the name '", name, "' is already used by a parameter, buffer or submodule");
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "parameter");
  CAKE_CHECK(tensor.defined(), "register_parameter '", name, "' in ", this->name(), ": the tensor is undefined");
  CAKE_CHECK(tensor.is_leaf(), "register_parameter '", name, "' in ", this->name(),
             ": a parameter must be a leaf tensor; pass tensor.detach() instead of the output of an op");
  tensor.requires_grad_(requires_grad);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_new_name(name, "buffer");
  buffers_.emplace_back(name, tensor);
  return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name, "module");
  CAKE_CHECK(module != nullptr, "register_module '", name, "' in ", this->name(), ": the module is null");
  children_.emplace_back(name, std::move(module));
}

// ---- traversal -------------------------------------------------------------------------------

void Module::check_not_handle(const char* what) const {
  CAKE_CHECK(!is_handle_, "nn::", name(), ".", what, "(): this value is a holder (a handle to a layer), whose own "
             "members are empty; reach the layer with ->, as in libtorch: layer->", what, "()");
}

void Module::collect(NamedTensors& out, const std::string& prefix, bool recurse, bool want_parameters) const {
  check_not_handle(want_parameters ? "parameters" : "buffers");
  for (const auto& [name, tensor] : want_parameters ? parameters_ : buffers_)
    if (tensor.defined()) out.emplace_back(prefix + name, tensor);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(out, prefix + name + ".", true, want_parameters);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect(out, "", recurse, true);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect(out, "", recurse, false);
  return out;
}

static std::vector<Tensor> tensors_of(const NamedTensors& named) {
  std::vector<Tensor> out;
  out.reserve(named.size());
  for (const auto& entry : named) out.push_back(entry.second);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const { return tensors_of(named_parameters(recurse)); }
std::vector<Tensor> Module::buffers(bool recurse) const { return tensors_of(named_buffers(recurse)); }

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& entry : children_) out.push_back(entry.second);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

std::vector<std::shared_ptr<Module>> Module::modules(bool include_self) const {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& entry : named_modules("", include_self)) out.push_back(std::move(entry.second));
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules(const std::string& prefix,
                                                                                   bool include_self) const {
  check_not_handle("named_modules");
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  if (include_self) {
    // modules() returns shared_ptrs, so this module must be owned by one (as in libtorch).
    auto self = std::const_pointer_cast<Module>(weak_from_this().lock());
    CAKE_CHECK(self != nullptr, name(), "::modules(): this module is not owned by a std::shared_ptr; call it "
               "through one (std::make_shared, a holder's ->) or pass include_self = false");
    out.emplace_back(prefix, std::move(self));
  }
  for (const auto& [child_name, child] : children_) {
    const std::string full = prefix.empty() ? child_name : prefix + "." + child_name;
    for (auto& entry : child->named_modules(full, true)) out.push_back(std::move(entry));
  }
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  check_not_handle("apply");
  fn(*this);
  for (auto& entry : children_) entry.second->apply(fn);
}

void Module::apply(const std::function<void(const std::string&, Module&)>& fn, const std::string& prefix) {
  check_not_handle("apply");
  fn(prefix, *this);
  for (auto& [child_name, child] : children_) child->apply(fn, prefix.empty() ? child_name : prefix + "." + child_name);
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  NamedTensors buffers = named_buffers();
  out.insert(out.end(), buffers.begin(), buffers.end());
  return out;
}

static std::string joined_names(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", '" : "'") + names[i] + "'";
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict, const std::string& source) {
  const NamedTensors own = state_dict();
  // Check everything before copying anything, so a failed load leaves the module untouched.
  std::vector<std::string> missing, unexpected;
  std::map<std::string, bool> known;
  for (const auto& [name, tensor] : own) {
    known[name] = true;
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
      continue;
    }
    CAKE_CHECK(it->second.sizes() == tensor.sizes(), "load into ", this->name(), " from ", source, ": '", name,
               "' has shape ", tensor.sizes(), " in the module but ", it->second.sizes(), " in ", source);
  }
  for (const auto& entry : state)
    if (!known.count(entry.first)) unexpected.push_back(entry.first);
  if (strict) {
    CAKE_CHECK(missing.empty(), "load into ", this->name(), " from ", source, ": ", joined_names(missing),
               " in the module but not in ", source);
    CAKE_CHECK(unexpected.empty(), "load into ", this->name(), " from ", source, ": ", joined_names(unexpected),
               " in ", source, " but not in the module");
  }
  NoGradGuard no_grad;
  for (const auto& [name, tensor] : own) {
    auto it = state.find(name);
    if (it != state.end()) Tensor(tensor).copy_(it->second);
  }
}

void Module::load_state_dict(const NamedTensors& state, bool strict, const std::string& source) {
  std::map<std::string, Tensor> by_name;
  for (const auto& [name, tensor] : state)
    CAKE_CHECK(by_name.emplace(name, tensor).second, "load into ", this->name(), " from ", source, ": '", name,
               "' appears twice");
  load_state_dict(by_name, strict, source);
}

// ---- modes and placement ---------------------------------------------------------------------

void Module::train(bool on) {
  check_not_handle("train");
  training_ = on;
  for (auto& entry : children_) entry.second->train(on);
}

// NOTE [ Moving parameters in place ]
// A parameter is shared by several handles: the module's member (net->fc->weight), the
// registry here, and perhaps an optimiser. If to(device) made a new tensor, only the registry
// would see it. So, like PyTorch's set_data, we keep the TensorImpl and swap what it views
// (storage, sizes, strides, offset, dtype); its autograd state (requires_grad) stays, and its
// gradient is converted the same way.
static void move_in_place(const Tensor& tensor, std::optional<Device> device, std::optional<DType> dtype) {
  const Device target_device = device.value_or(tensor.device());
  const DType target_dtype = dtype && tensor.is_floating_point() ? *dtype : tensor.dtype();
  if (tensor.device() == target_device && tensor.dtype() == target_dtype) return;
  Tensor moved = tensor.detach().to(target_device, target_dtype);
  TensorImpl& impl = tensor.impl();
  impl.storage = moved.impl().storage;
  impl.sizes = moved.sizes();
  impl.strides = moved.strides();
  impl.offset = moved.storage_offset();
  impl.dtype = moved.dtype();
}

void Module::convert(std::optional<Device> device, std::optional<DType> dtype) {
  check_not_handle("to");
  if (dtype)
    CAKE_CHECK(is_floating(*dtype), "Module::to: modules convert to floating-point dtypes only, got ",
               dtype_name(*dtype));
  NoGradGuard no_grad;
  for (const Tensor& p : parameters()) {
    move_in_place(p, device, dtype);
    if (p.grad().defined()) move_in_place(p.grad(), device, dtype);
  }
  for (const Tensor& b : buffers()) move_in_place(b, device, dtype);
}

void Module::to(Device device) { convert(device, std::nullopt); }
void Module::to(DType dtype) { convert(std::nullopt, dtype); }
void Module::to(Device device, DType dtype) { convert(device, dtype); }

void Module::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (Tensor& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) p.set_grad(Tensor());
    else p.mutable_grad().zero_();
  }
}

// ---- deep copies -----------------------------------------------------------------------------

std::shared_ptr<Module> Module::clone() const {
  CAKE_FAIL(name(), " cannot be cloned: derive it from nn::Cloneable<", name(),
            "> and build its parameters and submodules in reset() (see nn/module.h)");
}

std::shared_ptr<Module> Module::copy_state_into(std::shared_ptr<Module> fresh) const {
  const NamedTensors own = state_dict();
  const NamedTensors theirs = fresh->state_dict();
  CAKE_CHECK(own.size() == theirs.size(), name(), "::clone(): the rebuilt module has ", theirs.size(),
             " parameters and buffers but the original has ", own.size(), "; does reset() register all of them?");
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < own.size(); ++i) {
    const auto& [own_name, source] = own[i];
    const auto& [their_name, target] = theirs[i];
    CAKE_CHECK(own_name == their_name && source.sizes() == target.sizes(), name(), "::clone(): '", own_name,
               "' (shape ", source.sizes(), ") was rebuilt as '", their_name, "' (shape ", target.sizes(), ")");
    // The rebuilt tensor takes the original's device, dtype, values and requires_grad flag,
    // in place (see NOTE [ Moving parameters in place ]) so its member handle sees them too.
    Tensor copy = source.detach().clone();
    TensorImpl& impl = target.impl();
    impl.storage = copy.impl().storage;
    impl.sizes = copy.sizes();
    impl.strides = copy.strides();
    impl.offset = copy.storage_offset();
    impl.dtype = copy.dtype();
    if (target.is_leaf()) Tensor(target).requires_grad_(source.requires_grad());
  }
  // The training flags, module by module (the two trees have the same shape).
  const auto own_modules = named_modules("", false);
  const auto their_modules = fresh->named_modules("", false);
  fresh->training_ = training_;
  for (std::size_t i = 0; i < own_modules.size() && i < their_modules.size(); ++i)
    their_modules[i].second->training_ = own_modules[i].second->training_;
  return fresh;
}

void Module::clear_registrations() {
  parameters_.clear();
  buffers_.clear();
  children_.clear();
}

// ---- printing --------------------------------------------------------------------------------

std::string Module::name() const {
  const char* mangled = typeid(*this).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string full = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  const std::size_t last_colon = full.rfind("::");
  return last_colon == std::string::npos ? full : full.substr(last_colon + 2);
}

static void print_tree(std::ostream& out, const Module& module, const std::string& indent) {
  out << module.name() << "(" << module.extra_repr();
  const auto children = module.named_children();
  if (children.empty()) {
    out << ")";
    return;
  }
  out << "\n";
  for (const auto& [name, child] : children) {
    out << indent << "  (" << name << "): ";
    print_tree(out, *child, indent + "  ");
    out << "\n";
  }
  out << indent << ")";
}

std::ostream& operator<<(std::ostream& out, const Module& module) {
  print_tree(out, module, "");
  return out;
}

}  // namespace cake::nn
