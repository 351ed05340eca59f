// custom_function.cpp: the recording half of autograd::Function<T> (custom_function.h).
#include "cake/autograd/custom_function.h"

#include <algorithm>

#if defined(__GNUG__)
#include <cxxabi.h>
#endif

#include "cake/tensor/creation.h"
#include "cake/tensor/native/view.h"

namespace cake::autograd {

void AutogradContext::save_for_backward(variable_list tensors) {
  CAKE_CHECK(saved_.empty() && to_save_.empty(), "save_for_backward: call it once, from forward");
  to_save_ = std::move(tensors);
}

variable_list AutogradContext::get_saved_variables() const {
  variable_list out;
  out.reserve(saved_.size());
  for (const SavedTensor& s : saved_) out.push_back(s.get());
  return out;
}

void AutogradContext::mark_non_differentiable(const variable_list& outputs) {
  for (const Tensor& t : outputs)
    if (t.defined()) non_differentiable_.push_back(t.impl_ptr());
}

bool AutogradContext::needs_input_grad(std::size_t index) const {
  CAKE_CHECK(index < needs_input_grad_.size(), "needs_input_grad: forward has ", needs_input_grad_.size(),
             " arguments, asked for argument ", index);
  return needs_input_grad_[index];
}

namespace detail {

std::string demangle(const char* mangled) {
#if defined(__GNUG__)
  int status = 0;
  char* name = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  if (status == 0 && name) {
    std::string out(name);
    std::free(name);
    return out;
  }
#endif
  return mangled;
}

variable_list record_custom(const std::string& name, const std::shared_ptr<AutogradContext>& ctx,
                            const variable_list& inputs, variable_list outputs,
                            std::function<variable_list(AutogradContext*, variable_list)> backward) {
  // An output that *is* an input (forward returned its argument) gets its own view, so that
  // recording the node never turns the caller's tensor (a leaf, say) into the node's output.
  for (Tensor& out : outputs) {
    CAKE_CHECK(out.defined(), name, ": forward returned an undefined tensor");
    for (const Tensor& in : inputs)
      if (in.defined() && in.is_same(out)) out = native::as_strided(out, out.sizes(), out.strides(), out.storage_offset());
  }
  const bool record_node = needs_grad(inputs);
  // Outputs that take part in the graph, and where each sits among all outputs.
  std::vector<std::size_t> differentiable;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const bool excluded = std::ranges::find(ctx->non_differentiable_, outputs[i].impl_ptr()) != ctx->non_differentiable_.end();
    if (!excluded && outputs[i].is_floating_point()) differentiable.push_back(i);
  }
  if (record_node && !differentiable.empty()) {
    std::vector<OutputInfo> all_outputs;
    for (const Tensor& o : outputs) all_outputs.push_back({o.sizes(), o.dtype(), o.device()});
    variable_list recorded;
    for (std::size_t i : differentiable) recorded.push_back(outputs[i]);
    record(name.c_str(), inputs, recorded,
           [ctx, node_name = name, differentiable, all_outputs, n_inputs = inputs.size(),
            backward = std::move(backward)](const TensorList& g) {
             // Every output gets a gradient: zeros for the non-differentiable ones.
             variable_list grads(all_outputs.size());
             for (std::size_t k = 0; k < differentiable.size(); ++k) grads[differentiable[k]] = g[k];
             for (std::size_t i = 0; i < grads.size(); ++i)
               if (!grads[i].defined())
                 grads[i] = zeros(all_outputs[i].sizes, {all_outputs[i].dtype, all_outputs[i].device});
             variable_list input_grads = backward(ctx.get(), std::move(grads));
             CAKE_CHECK(input_grads.size() == n_inputs, node_name, ": backward returned ", input_grads.size(),
                        " gradients, expected ", n_inputs, " (one per forward argument after ctx; an undefined "
                        "Tensor for arguments that get none)");
             return input_grads;
           });
  }
  // Now that the outputs have their grad_fn, saved outputs are kept by a weak reference to it
  // (see SavedTensor), saved inputs by their own place in the graph.
  for (const Tensor& t : ctx->to_save_) ctx->saved_.emplace_back(t);
  ctx->to_save_.clear();
  return outputs;
}

}  // namespace detail
}  // namespace cake::autograd
