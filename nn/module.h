// module.h: nn::Module, the base of every layer and model: a tree of modules that owns named
// parameters (trained tensors) and buffers (state that is saved but not trained).
//
//   struct Net : cake::nn::Module {
//     std::shared_ptr<cake::nn::Linear> fc;
//     cake::Tensor scale;
//     Net() {
//       fc = register_module("fc", std::make_shared<cake::nn::Linear>(4, 2));
//       scale = register_parameter("scale", cake::ones({2}));
//     }
//     cake::Tensor forward(const cake::Tensor& x) override { return fc->forward(x) * scale; }
//   };
//   auto net = std::make_shared<Net>();
//   for (auto& [name, p] : net->named_parameters()) std::cout << name << "\n";  // fc.weight, fc.bias, scale
//
// Parameters are plain cake::Tensor members. Registering stores a second handle to the same
// tensor, so the member and the registry see the same values; to(device) and to(dtype) move a
// tensor's data *inside* its existing handle (see NOTE [ Moving parameters in place ] in
// module.cpp) so that members, the registry and any optimiser holding the tensor stay in step.
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace cake::nn {

// (dotted name, tensor) pairs in registration order, as PyTorch's named_parameters() yields them.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Modules are shared (std::shared_ptr) rather than copied: a copy would share parameters
  // with its original, which is rarely what anyone wants.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The single-tensor forward pass (what Sequential chains). Modules whose forward takes or
  // returns something else define their own and leave this one, which throws.
  virtual Tensor forward(const Tensor& input);

  // ---- registration -----------------------------------------------------------------------
  // Each returns what it was given, so a member can be initialised in the same line:
  //   weight = register_parameter("weight", cake::empty({out, in}));
  // A parameter must be a leaf tensor (not the output of an op that recorded a graph); it is
  // set to require a gradient unless requires_grad is false (a frozen parameter).
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  // A buffer is saved and moved with the module but not trained (BatchNorm's running mean).
  // An undefined tensor is allowed and skipped by every traversal.
  Tensor register_buffer(const std::string& name, Tensor tensor);
  template <class ModuleType>
  std::shared_ptr<ModuleType> register_module(const std::string& name, std::shared_ptr<ModuleType> module) {
    add_child(name, module);
    return module;
  }

  // ---- traversal: a module's own tensors (in registration order), then each child's in turn,
  // recursively: PyTorch's order, so names and order match its state dicts. ------------------
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_parameters(bool recurse = true) const;  // "conv.weight", "fc.bias", ...
  std::vector<Tensor> buffers(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  // Calls fn on this module, then on every descendant (depth first).
  void apply(const std::function<void(Module&)>& fn);
  // Parameters followed by buffers: everything a checkpoint holds.
  NamedTensors state_dict() const;
  // Copies `state` into this module's parameters and buffers (converting dtype, keeping each
  // tensor's device). With strict, every name must be present on both sides with equal shapes;
  // errors name the tensor, both shapes, and `source` (a file name, say).
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true,
                       const std::string& source = "state dict");

  // ---- modes and placement ------------------------------------------------------------------
  // Training mode (the default) vs evaluation mode: Dropout and BatchNorm behave differently.
  // Applies to every descendant.
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Moves every parameter and buffer (and existing gradients); to(dtype) converts only
  // floating-point tensors, as PyTorch does, so integer buffers keep their type.
  void to(Device device);
  void to(DType dtype);
  void to(Device device, DType dtype);
  // Clears the gradients of all parameters: drops them (set_to_none, the default, saves a pass
  // over memory) or fills them with zeros.
  void zero_grad(bool set_to_none = true);

  // ---- printing -------------------------------------------------------------------------------
  // The type name shown when printing ("Linear"); the default is the demangled C++ class name.
  virtual std::string name() const;
  // The arguments shown in parentheses when printing, e.g. "in_features=4, out_features=2".
  virtual std::string extra_repr() const { return {}; }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name, const char* what) const;
  void collect(NamedTensors& out, const std::string& prefix, bool recurse, bool want_parameters) const;
  void convert(std::optional<Device> device, std::optional<DType> dtype);

  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;

  friend std::ostream& operator<<(std::ostream& out, const Module& module);
};

// Prints the module tree as PyTorch does:
//   Net(
//     (conv): Conv2d(1, 4, kernel_size=3, stride=2, padding=1)
//     (fc): Linear(in_features=64, out_features=3, bias=true)
//   )
std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace cake::nn
