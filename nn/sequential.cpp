// sequential.cpp: nn::Sequential.
#include "nn/sequential.h"

namespace cake::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& module : modules) push_back(module);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  for (const auto& module : modules_) out = module->forward(out);
  return out;
}

const std::shared_ptr<Module>& Sequential::operator[](std::size_t index) const {
  CAKE_CHECK(index < modules_.size(), "Sequential: index ", index, " out of range for ", modules_.size(), " modules");
  return modules_[index];
}

}  // namespace cake::nn
