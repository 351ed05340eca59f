// sequential.h: a chain of modules, each fed the previous one's output.
//
//   auto encoder = std::make_shared<cake::nn::Sequential>();
//   encoder->push_back(std::make_shared<cake::nn::Conv2d>(1, 16, 3));
//   encoder->push_back(std::make_shared<cake::nn::ReLU>());
//   encoder->push_back("head", std::make_shared<cake::nn::Linear>(16, 8));   // named "head"
//   cake::Tensor z = encoder->forward(x);
//   auto conv = encoder->at<cake::nn::Conv2d>(0);                             // typed access
//
// Unnamed entries are called "0", "1", ... so parameters read "0.weight", as in PyTorch.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"

namespace cake::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  // std::make_shared<Sequential>(std::make_shared<Linear>(4, 8), std::make_shared<ReLU>())
  template <class... ModuleTypes>
  explicit Sequential(std::shared_ptr<ModuleTypes>... modules) {
    (push_back(std::move(modules)), ...);
  }

  template <class ModuleType>
  std::shared_ptr<ModuleType> push_back(std::shared_ptr<ModuleType> module) {
    return push_back(std::to_string(modules_.size()), std::move(module));
  }
  template <class ModuleType>
  std::shared_ptr<ModuleType> push_back(const std::string& name, std::shared_ptr<ModuleType> module) {
    register_module(name, module);
    modules_.push_back(module);
    return module;
  }

  Tensor forward(const Tensor& x) override;
  std::size_t size() const { return modules_.size(); }
  const std::shared_ptr<Module>& operator[](std::size_t index) const;
  // The module at `index` as its concrete type; throws if it is something else.
  template <class ModuleType>
  std::shared_ptr<ModuleType> at(std::size_t index) const {
    auto typed = std::dynamic_pointer_cast<ModuleType>((*this)[index]);
    CAKE_CHECK(typed != nullptr, "Sequential::at(", index, "): the module there is a ", (*this)[index]->name(),
               ", not the type asked for");
    return typed;
  }
  std::string name() const override { return "Sequential"; }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace cake::nn
