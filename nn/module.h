// module.h: nn::Module, the base of every layer and model: a tree of modules that owns named
// parameters (trained tensors) and buffers (state that is saved but not trained); and the
// libtorch-style holders that let a layer be written as a value.
//
//   struct NetImpl : cake::nn::Module {               // Cake's spelling and libtorch's, side by side
//     std::shared_ptr<cake::nn::Linear> fc1;           // a layer behind a shared_ptr ...
//     cake::nn::Linear fc2{nullptr};                   // ... or as a libtorch holder value
//     cake::Tensor scale;
//     NetImpl() {
//       fc1 = register_module("fc1", std::make_shared<cake::nn::Linear>(4, 8));
//       fc2 = register_module("fc2", cake::nn::Linear(8, 2));
//       scale = register_parameter("scale", cake::ones({2}));
//     }
//     cake::Tensor forward(const cake::Tensor& x) override { return fc2(fc1->forward(x).relu()) * scale; }
//   };
//   CAKE_MODULE(Net);                                  // Net: a holder of a NetImpl, as TORCH_MODULE
//   Net net;
//   cake::Tensor y = net(cake::randn({3, 4}));         // calls forward
//   for (auto& [name, p] : net->named_parameters()) std::cout << name << "\n";  // fc1.weight, ..., scale
//
// Parameters are plain cake::Tensor members. Registering stores a second handle to the same
// tensor, so the member and the registry see the same values; to(device) and to(dtype) move a
// tensor's data *inside* its existing handle (see NOTE [ Moving parameters in place ] in
// module.cpp) so that members, the registry and any optimiser holding the tensor stay in step.
//
// NOTE [ Holders: layers as values ]
// libtorch splits each layer into the module, LinearImpl, and a holder, Linear, a nullable
// shared pointer to a LinearImpl with `->` and a call operator (TORCH_MODULE makes one). Cake
// promised `std::make_shared<nn::Linear>(4, 2)` and `std::shared_ptr<nn::Linear>` whose `->`
// reaches `weight`, so here nn::Linear must stay the module itself. It is both:
//  * the module, as before: std::make_shared<nn::Linear>(4, 2), p->weight, p->forward(x);
//  * a holder, through the Holder<Linear> base: `nn::Linear fc{nullptr}` is an empty handle,
//    `fc = register_module("fc", nn::Linear(4, 2))` moves the new layer to the heap, registers
//    it and makes fc a handle to it; `fc->weight` and `fc(x)` reach the layer in either case.
//    As in libtorch, always go through `->` on a value: the members of a handle itself are
//    empty, and Module's traversals throw when called on a handle by `.`.
// A layer on the stack (`nn::Linear fc(4, 2)`) works in place; handing it to register_module,
// a Sequential or ptr() moves its state (the tensor handles, so the tensors keep their
// identity) into a heap object and turns the value into a handle to it, which is what
// libtorch's sharing holder would have meant. Copies share the tensors: a copied handle
// points at the same layer, a copied layer has its own registry over the same tensors.
// nn::LinearImpl (and so on) names the same class, for code written against libtorch.
// A user's own module uses libtorch's pure holder: ModuleHolder<NetImpl>, via CAKE_MODULE(Net).
//
// Deep copies: clone() gives a module with its own parameters and buffers (same values). Each
// built-in layer implements it; a user's module derives from nn::Cloneable<NetImpl> and builds
// its parameters and submodules in `void reset() override` (which its constructor calls), as
// in libtorch: clone() copies the object, calls reset() for fresh tensors, then copies values.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::nn {

// (dotted name, tensor) pairs in registration order, as PyTorch's named_parameters() yields them.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module;
template <class Self>
class Holder;

// Built-in layers derive from Holder<Layer>; this tag lets templates recognise them.
struct HolderTag {};
template <class T>
concept HolderLayer = std::derived_from<std::remove_cvref_t<T>, HolderTag> &&
                      std::derived_from<std::remove_cvref_t<T>, Module>;

template <class Impl>
class ModuleHolder;
// A user's holder type (ModuleHolder<Impl> or a class CAKE_MODULE derives from it).
template <class T>
concept PureHolder = requires { typename std::remove_cvref_t<T>::ContainedType; } &&
                     std::derived_from<std::remove_cvref_t<T>,
                                       ModuleHolder<typename std::remove_cvref_t<T>::ContainedType>>;

template <class T>
struct is_module_shared_ptr : std::false_type {};
template <class M>
struct is_module_shared_ptr<std::shared_ptr<M>> : std::bool_constant<std::derived_from<M, Module>> {};
// Anything that names a module: a shared_ptr to one, a holder, or a built-in layer value.
template <class T>
concept ModuleLike = is_module_shared_ptr<std::remove_cvref_t<T>>::value || PureHolder<T> || HolderLayer<T>;

class Module : public std::enable_shared_from_this<Module> {
 public:
  Module() = default;
  virtual ~Module() = default;

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
  // libtorch's spellings: `fc = register_module("fc", nn::Linear(4, 2))` with a built-in layer
  // value (moved to the heap if it holds its layer; see the opening comment) and
  // `net = register_module("net", Net(...))` with a CAKE_MODULE holder. Both return a holder
  // of the registered module.
  template <HolderLayer Layer>
  std::remove_cvref_t<Layer> register_module(const std::string& name, Layer&& layer);
  template <PureHolder HolderType>
  std::remove_cvref_t<HolderType> register_module(const std::string& name, HolderType&& holder) {
    add_child(name, holder.ptr());
    return holder;
  }

  // ---- traversal: a module's own tensors (in registration order), then each child's in turn,
  // recursively: PyTorch's order, so names and order match its state dicts. ------------------
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_parameters(bool recurse = true) const;  // "conv.weight", "fc.bias", ...
  std::vector<Tensor> buffers(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  // This module (with include_self; it must then be owned by a shared_ptr) and every
  // descendant, depth first, as PyTorch's modules() / named_modules() ("", "conv", "seq.0").
  std::vector<std::shared_ptr<Module>> modules(bool include_self = true) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules(const std::string& prefix = "",
                                                                             bool include_self = true) const;
  // Calls fn on this module, then on every descendant (depth first); the second form also
  // passes the dotted name ("" for this module).
  void apply(const std::function<void(Module&)>& fn);
  void apply(const std::function<void(const std::string&, Module&)>& fn, const std::string& prefix = "");
  // Parameters followed by buffers: everything a checkpoint holds.
  NamedTensors state_dict() const;
  // Copies `state` into this module's parameters and buffers (converting dtype, keeping each
  // tensor's device). With strict, every name must be present on both sides with equal shapes;
  // errors name the tensor, both shapes, and `source` (a file name, say).
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true,
                       const std::string& source = "state dict");
  // The same from another module's state_dict(): b.load_state_dict(a.state_dict()).
  void load_state_dict(const NamedTensors& state, bool strict = true, const std::string& source = "state dict");

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

  // ---- deep copies ---------------------------------------------------------------------------
  // A module of the same type with its own copies of every parameter and buffer (same values,
  // same requires_grad, same training mode). Built-in layers and nn::Cloneable<T> subclasses
  // implement it; the base throws, naming the type.
  virtual std::shared_ptr<Module> clone() const;

  // ---- printing -------------------------------------------------------------------------------
  // The type name shown when printing ("Linear"); the default is the demangled C++ class name.
  virtual std::string name() const;
  // The arguments shown in parentheses when printing, e.g. "in_features=4, out_features=2".
  virtual std::string extra_repr() const { return {}; }

 protected:
  // Copying shares the tensors and submodules (the registries hold handles), as libtorch's
  // Module copy does; holders and Cloneable build on it. Moving transfers them.
  Module(const Module&) = default;
  Module(Module&&) = default;
  Module& operator=(const Module&) = default;
  Module& operator=(Module&&) = default;
  // For clone(): copies this module's parameter and buffer values (recursively, by name) and
  // training modes into `fresh`, a newly built module of the same structure, and returns it.
  std::shared_ptr<Module> copy_state_into(std::shared_ptr<Module> fresh) const;
  // For Cloneable: forgets every registration, so that reset() can register afresh.
  void clear_registrations();
  // Throws when this object is a holder handle rather than a module (see Holder).
  void check_not_handle(const char* what) const;
  bool is_handle_ = false;  // set by Holder for `nn::Linear fc{nullptr}` and its handles

 private:
  template <class Self>
  friend class Holder;
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

// ---- holders -----------------------------------------------------------------------------------

// The holder half of a built-in layer (see NOTE [ Holders: layers as values ] above). Self
// derives from Module and from Holder<Self>, and declares CAKE_HOLDER_CONSTRUCTORS(Self).
template <class Self>
class Holder : public HolderTag {
 public:
  // The layer this value stands for: itself, or the heap layer it is a handle to.
  Self* operator->() { return &target(); }
  const Self* operator->() const { return &const_cast<Holder*>(this)->target(); }
  Self& operator*() { return target(); }
  const Self& operator*() const { return const_cast<Holder*>(this)->target(); }
  // fc(x) is fc->forward(x).
  template <class... Args>
  decltype(auto) operator()(Args&&... args) {
    return target().forward(std::forward<Args>(args)...);
  }
  // The layer as a shared_ptr. A layer held in place that no shared_ptr owns yet is first
  // moved into a heap object, and this value becomes a handle to it.
  std::shared_ptr<Self> ptr() {
    if (self().Module::is_handle_) return target_;
    if (auto owner = self().weak_from_this().lock()) return std::static_pointer_cast<Self>(owner);
    auto heap = std::make_shared<Self>(std::move(self()));
    target_ = heap;
    self().Module::is_handle_ = true;
    return heap;
  }
  Self* get() { return &target(); }
  // True only for an empty handle (`nn::Linear fc{nullptr}` before anything is assigned).
  bool is_empty() const { return self().Module::is_handle_ && target_ == nullptr; }
  explicit operator bool() const { return !is_empty(); }

  // A handle to `layer` (what register_module returns).
  static Self handle_to(std::shared_ptr<Self> layer) { return Self(std::move(layer)); }

 protected:
  Holder() = default;
  // For CAKE_HOLDER_CONSTRUCTORS: an empty handle, or a handle to `layer`.
  void make_handle(std::shared_ptr<Self> layer) {
    target_ = std::move(layer);
    self().Module::is_handle_ = true;
  }

 private:
  Self& self() { return static_cast<Self&>(*this); }
  const Self& self() const { return static_cast<const Self&>(*this); }
  Self& target() {
    if (!self().Module::is_handle_) return self();
    CAKE_CHECK(target_ != nullptr, "nn::", self().Module::name(),
               ": this holder is empty (made with nullptr); assign a layer to it before use");
    return *target_;
  }
  std::shared_ptr<Self> target_;
};

// Inside a built-in layer's class body: `nn::Linear fc{nullptr};` (an empty handle) and
// `nn::Linear fc(layer_ptr)` (a handle to an existing layer), as libtorch's holders have.
#define CAKE_HOLDER_CONSTRUCTORS(Class)                               \
  Class(std::nullptr_t) { this->make_handle(nullptr); } /* NOLINT */ \
  explicit Class(std::shared_ptr<Class> layer) { this->make_handle(std::move(layer)); }

template <HolderLayer Layer>
std::remove_cvref_t<Layer> Module::register_module(const std::string& name, Layer&& layer) {
  using Type = std::remove_cvref_t<Layer>;
  std::shared_ptr<Type> shared = layer.ptr();
  add_child(name, shared);
  return Type::handle_to(std::move(shared));
}

// libtorch's ModuleHolder: a nullable shared pointer to a user's module with `->`, `*` and a
// call operator that runs forward. CAKE_MODULE(Net) derives Net from ModuleHolder<NetImpl>.
template <class Impl>
class ModuleHolder {
 public:
  using ContainedType = Impl;
  // Default-constructs the module; `Net net{nullptr}` (or = nullptr) makes an empty holder.
  ModuleHolder()
    requires std::default_initializable<Impl>
      : impl_(std::make_shared<Impl>()) {}
  ModuleHolder(std::nullptr_t) {}                                       // NOLINT
  ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}  // NOLINT
  // Net(1, 2) builds NetImpl(1, 2).
  template <class First, class... Rest>
    requires(!std::derived_from<std::remove_cvref_t<First>, ModuleHolder> &&
             !std::same_as<std::remove_cvref_t<First>, std::nullptr_t> &&
             !std::same_as<std::remove_cvref_t<First>, std::shared_ptr<Impl>> &&
             std::constructible_from<Impl, First, Rest...>)
  explicit ModuleHolder(First&& first, Rest&&... rest)
      : impl_(std::make_shared<Impl>(std::forward<First>(first), std::forward<Rest>(rest)...)) {}

  Impl* operator->() const { return get(); }
  Impl& operator*() const { return *get(); }
  Impl* get() const {
    CAKE_CHECK(impl_ != nullptr, "ModuleHolder: this holder is empty (made with nullptr); assign a module first");
    return impl_.get();
  }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }
  explicit operator bool() const { return impl_ != nullptr; }
  template <class... Args>
  decltype(auto) operator()(Args&&... args) const {
    return get()->forward(std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<Impl> impl_;
};

// As libtorch's TORCH_MODULE: `struct NetImpl : nn::Module {...}; CAKE_MODULE(Net);` defines
// Net, a ModuleHolder<NetImpl> with all its constructors.
#define CAKE_MODULE(Name)                                     \
  class Name : public ::cake::nn::ModuleHolder<Name##Impl> {  \
   public:                                                    \
    using ::cake::nn::ModuleHolder<Name##Impl>::ModuleHolder; \
    using Impl = Name##Impl;                                  \
  }

// The shared_ptr behind anything ModuleLike.
template <class M>
std::shared_ptr<M> module_ptr(std::shared_ptr<M> module) {
  return module;
}
template <PureHolder HolderType>
auto module_ptr(HolderType&& holder) {
  return holder.ptr();
}
template <HolderLayer Layer>
auto module_ptr(Layer&& layer) {
  return layer.ptr();
}

// ---- deep copies ----------------------------------------------------------------------------

// libtorch's Cloneable: derive NetImpl from Cloneable<NetImpl>, register every parameter,
// buffer and submodule in reset(), and call reset() from the constructor; clone() then returns
// a NetImpl with fresh tensors holding the same values.
//   struct KeyEncoderImpl : nn::Cloneable<KeyEncoderImpl> {
//     nn::Linear fc{nullptr};
//     KeyEncoderImpl() { reset(); }
//     void reset() override { fc = register_module("fc", nn::Linear(4, 2)); }
//     cake::Tensor forward(const cake::Tensor& x) override { return fc(x); }
//   };
template <class Derived>
class Cloneable : public Module {
 public:
  // (Re)creates every parameter, buffer and submodule; called by the constructor and clone().
  virtual void reset() = 0;

  std::shared_ptr<Module> clone() const override {
    // A copy shares the original's tensors and submodules; forgetting the registrations and
    // calling reset() gives it fresh ones, into which the original's values are copied.
    auto copy = std::make_shared<Derived>(static_cast<const Derived&>(*this));
    copy->clear_registrations();
    copy->reset();
    return copy_state_into(copy);
  }

 protected:
  Cloneable() = default;
  Cloneable(const Cloneable&) = default;
  Cloneable(Cloneable&&) = default;
  Cloneable& operator=(const Cloneable&) = default;
  Cloneable& operator=(Cloneable&&) = default;
};

// Prints the module tree as PyTorch does:
//   Net(
//     (conv): Conv2d(1, 4, kernel_size=3, stride=2, padding=1)
//     (fc): Linear(in_features=64, out_features=3, bias=true)
//   )
std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace cake::nn
