// sequential.h: a chain of modules, each fed the previous one's output; and the containers
// ModuleList (an indexed list) and ModuleDict (named entries), which register what they hold
// but leave the wiring to their owner's forward, and ParameterList / ParameterDict, the same
// for single parameters.
//
//   cake::Tensor x = cake::randn({2, 1, 3, 3});
//   auto encoder = std::make_shared<cake::nn::Sequential>();
//   encoder->push_back(std::make_shared<cake::nn::Conv2d>(1, 16, 3));        // [2, 16, 1, 1]
//   encoder->push_back(std::make_shared<cake::nn::ReLU>());
//   encoder->push_back(std::make_shared<cake::nn::Flatten>());               // [2, 16]
//   encoder->push_back("head", std::make_shared<cake::nn::Linear>(16, 8));   // named "head"
//   cake::Tensor z = encoder->forward(x);                                     // [2, 8]
//   auto conv = encoder->at<cake::nn::Conv2d>(0);                             // typed access
//   cake::nn::Sequential mlp(cake::nn::Linear(4, 8), cake::nn::ReLU(), cake::nn::Linear(8, 2));   // libtorch's spelling
//   cake::Tensor y = mlp(cake::randn({3, 4}));
//   cake::nn::ModuleList blocks(cake::nn::Linear(2, 2), cake::nn::Linear(2, 2));
//   for (const auto& block : *blocks) y = block->forward(y);
//   cake::nn::ParameterList scales({cake::ones({2}), cake::ones({2})});      // "0", "1": trained
//   cake::nn::ParameterDict offsets;
//   offsets->insert("shift", cake::zeros({2}));
//   cake::Tensor shifted = y * scales[1] + offsets["shift"].sum();
//
// Unnamed entries are called "0", "1", ... so parameters read "0.weight", as in PyTorch. Each
// accepts shared_ptrs, built-in layer values and CAKE_MODULE holders alike (see nn/module.h).
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cake/nn/module.h"

namespace cake::nn {

// The shared behaviour of Sequential and ModuleList: an ordered list of registered modules.
class ModuleSequence : public Module {
 public:
  template <ModuleLike ModuleType>
  auto push_back(ModuleType&& module) {
    return push_back(std::to_string(modules_.size()), std::forward<ModuleType>(module));
  }
  template <ModuleLike ModuleType>
  auto push_back(const std::string& name, ModuleType&& module) {
    auto shared = module_ptr(std::forward<ModuleType>(module));
    register_module(name, shared);
    modules_.push_back(shared);
    return shared;
  }

  std::size_t size() const { return modules_.size(); }
  const std::shared_ptr<Module>& operator[](std::size_t index) const;
  // The module at `index` as its concrete type; throws if it is something else.
  template <class ModuleType>
  std::shared_ptr<ModuleType> at(std::size_t index) const {
    auto typed = std::dynamic_pointer_cast<ModuleType>((*this)[index]);
    CAKE_CHECK(typed != nullptr, name(), "::at(", index, "): the module there is a ", (*this)[index]->name(),
               ", not the type asked for");
    return typed;
  }
  // libtorch's ptr(index): the module at index, untyped.
  std::shared_ptr<Module> ptr(std::size_t index) const { return (*this)[index]; }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 protected:
  ModuleSequence() = default;
  // Pushes a clone of each of this list's modules, under the same names, onto `copy`.
  std::shared_ptr<Module> clone_into(std::shared_ptr<ModuleSequence> copy) const;

  std::vector<std::shared_ptr<Module>> modules_;
};

class Sequential : public ModuleSequence, public Holder<Sequential> {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  // std::make_shared<Sequential>(std::make_shared<Linear>(4, 8), std::make_shared<ReLU>()), or
  // libtorch's nn::Sequential seq(nn::Linear(4, 8), nn::ReLU()).
  template <ModuleLike... ModuleTypes>
    requires(sizeof...(ModuleTypes) > 0 &&
             !(sizeof...(ModuleTypes) == 1 && (std::same_as<std::remove_cvref_t<ModuleTypes>, Sequential> && ...)))
  explicit Sequential(ModuleTypes&&... modules) {
    (push_back(std::forward<ModuleTypes>(modules)), ...);
  }
  CAKE_HOLDER_CONSTRUCTORS(Sequential)
  using ModuleSequence::push_back;
  using ModuleSequence::operator[];
  using ModuleSequence::ptr;
  using Holder<Sequential>::ptr;
  // seq->is_empty(): no modules; on an empty holder value, seq.is_empty() is true as well.
  bool is_empty() const { return is_handle_ ? Holder::is_empty() : modules_.empty(); }

  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Module> clone() const override { return clone_into(std::make_shared<Sequential>()); }
  std::string name() const override { return "Sequential"; }
};

// Holds modules in order without calling them: the owner's forward decides how.
class ModuleList : public ModuleSequence, public Holder<ModuleList> {
 public:
  ModuleList() = default;
  template <ModuleLike... ModuleTypes>
    requires(sizeof...(ModuleTypes) > 0 &&
             !(sizeof...(ModuleTypes) == 1 && (std::same_as<std::remove_cvref_t<ModuleTypes>, ModuleList> && ...)))
  explicit ModuleList(ModuleTypes&&... modules) {
    (push_back(std::forward<ModuleTypes>(modules)), ...);
  }
  CAKE_HOLDER_CONSTRUCTORS(ModuleList)
  using ModuleSequence::push_back;
  // list[i], on the list or on a holder of it (what register_module returns), as libtorch's.
  const std::shared_ptr<Module>& operator[](std::size_t index) const { return layer().ModuleSequence::operator[](index); }
  using ModuleSequence::ptr;
  using Holder<ModuleList>::ptr;
  // seq->is_empty(): no modules; on an empty holder value, seq.is_empty() is true as well.
  bool is_empty() const { return is_handle_ ? Holder::is_empty() : modules_.empty(); }

  std::shared_ptr<Module> clone() const override { return clone_into(std::make_shared<ModuleList>()); }
  std::string name() const override { return "ModuleList"; }

 private:
  const ModuleList& layer() const { return *const_cast<ModuleList*>(this)->get(); }  // itself, or the held one
};

// Named modules in insertion order: dict->insert("encoder", nn::Linear(4, 2)); dict["encoder"].
class ModuleDict : public Module, public Holder<ModuleDict> {
 public:
  ModuleDict() = default;
  explicit ModuleDict(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules);
  CAKE_HOLDER_CONSTRUCTORS(ModuleDict)

  template <ModuleLike ModuleType>
  auto insert(const std::string& key, ModuleType&& module) {
    auto shared = module_ptr(std::forward<ModuleType>(module));
    register_module(key, shared);
    return shared;
  }
  std::size_t size() const { return named_children().size(); }
  bool is_empty() const { return is_handle_ ? Holder::is_empty() : size() == 0; }
  bool contains(const std::string& key) const;
  // The module under `key`; throws, listing the keys, if there is none.
  std::shared_ptr<Module> operator[](const std::string& key) const;
  template <class ModuleType>
  std::shared_ptr<ModuleType> at(const std::string& key) const {
    auto typed = std::dynamic_pointer_cast<ModuleType>((*this)[key]);
    CAKE_CHECK(typed != nullptr, "ModuleDict::at(\"", key, "\"): the module there is a ", (*this)[key]->name(),
               ", not the type asked for");
    return typed;
  }
  std::vector<std::string> keys() const;
  std::vector<std::shared_ptr<Module>> values() const { return children(); }
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> items() const { return named_children(); }

  std::shared_ptr<Module> clone() const override;
  std::string name() const override { return "ModuleDict"; }

 private:
  const ModuleDict& layer() const { return *const_cast<ModuleDict*>(this)->get(); }  // itself, or the held one
};

// Parameters in a list, registered as "0", "1", ... (each set to require a gradient):
// list->append(cake::zeros({4})); list[0]. The owner's forward decides how they are used.
class ParameterList : public Module, public Holder<ParameterList> {
 public:
  ParameterList() = default;
  explicit ParameterList(const std::vector<Tensor>& tensors) { extend(tensors); }
  CAKE_HOLDER_CONSTRUCTORS(ParameterList)

  Tensor append(Tensor tensor);  // returns the registered parameter
  void extend(const std::vector<Tensor>& tensors);
  std::size_t size() const { return layer().named_parameters(false).size(); }
  bool is_empty() const { return is_handle_ ? Holder::is_empty() : size() == 0; }
  // The parameter at `index`; throws, naming the size, past the end.
  Tensor operator[](std::size_t index) const;
  std::vector<Tensor> values() const { return layer().parameters(false); }

  std::shared_ptr<Module> clone() const override;
  std::string name() const override { return "ParameterList"; }

 private:
  // The list this value stands for: itself, or the one a holder (register_module's) points to.
  const ParameterList& layer() const { return *const_cast<ParameterList*>(this)->get(); }
};

// Named parameters in insertion order: dict->insert("scale", cake::ones({3})); dict["scale"].
class ParameterDict : public Module, public Holder<ParameterDict> {
 public:
  ParameterDict() = default;
  explicit ParameterDict(const NamedTensors& tensors);
  CAKE_HOLDER_CONSTRUCTORS(ParameterDict)

  Tensor insert(const std::string& key, Tensor tensor);  // returns the registered parameter
  std::size_t size() const { return items().size(); }
  bool is_empty() const { return is_handle_ ? Holder::is_empty() : size() == 0; }
  bool contains(const std::string& key) const;
  // The parameter under `key`; throws, listing the keys, if there is none.
  Tensor operator[](const std::string& key) const;
  Tensor get(const std::string& key) const { return (*this)[key]; }
  std::vector<std::string> keys() const;
  std::vector<Tensor> values() const { return layer().parameters(false); }
  NamedTensors items() const { return layer().named_parameters(false); }

  std::shared_ptr<Module> clone() const override;
  std::string name() const override { return "ParameterDict"; }

 private:
  const ParameterDict& layer() const { return *const_cast<ParameterDict*>(this)->Holder<ParameterDict>::get(); }
};

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using SequentialImpl = Sequential;
using ModuleListImpl = ModuleList;
using ModuleDictImpl = ModuleDict;
using ParameterListImpl = ParameterList;
using ParameterDictImpl = ParameterDict;

}  // namespace cake::nn
