// custom_function.h: differentiable operations written by the user, as libtorch writes them.
//
//   struct MulConstant : cake::autograd::Function<MulConstant> {
//     static cake::Tensor forward(cake::autograd::AutogradContext* ctx, cake::Tensor x, double c) {
//       ctx->saved_data["c"] = c;
//       ctx->save_for_backward({x});
//       return x * c;
//     }
//     static cake::tensor_list backward(cake::autograd::AutogradContext* ctx, cake::tensor_list grads) {
//       double c = ctx->saved_data["c"].toDouble();
//       return {grads[0] * c, cake::Tensor()};      // one gradient per forward argument
//     }
//   };
//   cake::Tensor y = MulConstant::apply(x, 3.0);
//
// apply() runs forward with gradient recording off (forward computes plain values), then, when
// an input requires a gradient, records one graph node whose backward calls T::backward.
// backward returns one gradient per forward argument after ctx, tensors or not (an undefined
// Tensor for arguments that get none). In a create_graph backward, T::backward runs with
// recording on and get_saved_variables() hands back tensors attached to the graph, so a
// backward written with cake:: ops is itself differentiable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "cake/autograd/function.h"

namespace cake::autograd {

using Variable = Tensor;                // libtorch's spellings
using variable_list = std::vector<Tensor>;

// The values a context can keep besides tensors (libtorch's IValue, reduced to what a backward
// typically needs): a double, an int64, a bool, a string or a Tensor.
class IValue {
 public:
  IValue() = default;
  IValue(double v) : value_(v) {}                                                      // NOLINT
  IValue(float v) : value_(static_cast<double>(v)) {}                                  // NOLINT
  template <std::integral I>
    requires(!std::is_same_v<I, bool>)
  IValue(I v) : value_(static_cast<std::int64_t>(v)) {}                                // NOLINT
  IValue(bool v) : value_(v) {}                                                        // NOLINT
  IValue(std::string v) : value_(std::move(v)) {}                                      // NOLINT
  IValue(const char* v) : value_(std::string(v)) {}                                    // NOLINT
  IValue(Tensor v) : value_(std::move(v)) {}                                           // NOLINT

  bool isNone() const { return std::holds_alternative<std::monostate>(value_); }
  bool isDouble() const { return std::holds_alternative<double>(value_); }
  bool isInt() const { return std::holds_alternative<std::int64_t>(value_); }
  bool isBool() const { return std::holds_alternative<bool>(value_); }
  bool isString() const { return std::holds_alternative<std::string>(value_); }
  bool isTensor() const { return std::holds_alternative<Tensor>(value_); }
  // An int converts to double (as libtorch's toDouble does not; it is the common intent).
  double toDouble() const {
    if (isInt()) return static_cast<double>(std::get<std::int64_t>(value_));
    CAKE_CHECK(isDouble(), "IValue: expected a double, holds ", kind());
    return std::get<double>(value_);
  }
  std::int64_t toInt() const {
    CAKE_CHECK(isInt(), "IValue: expected an int, holds ", kind());
    return std::get<std::int64_t>(value_);
  }
  bool toBool() const {
    CAKE_CHECK(isBool(), "IValue: expected a bool, holds ", kind());
    return std::get<bool>(value_);
  }
  const std::string& toStringRef() const {
    CAKE_CHECK(isString(), "IValue: expected a string, holds ", kind());
    return std::get<std::string>(value_);
  }
  const Tensor& toTensor() const {
    CAKE_CHECK(isTensor(), "IValue: expected a Tensor, holds ", kind());
    return std::get<Tensor>(value_);
  }
  const char* kind() const {
    static constexpr const char* names[] = {"None", "a double", "an int", "a bool", "a string", "a Tensor"};
    return names[value_.index()];
  }

 private:
  std::variant<std::monostate, double, std::int64_t, bool, std::string, Tensor> value_;
};

// What forward leaves for backward.
class AutogradContext {
 public:
  // Tensors backward needs (inputs or outputs). They are checked against in-place changes.
  void save_for_backward(variable_list tensors);
  // The saved tensors, in the order saved.
  variable_list get_saved_variables() const;
  // Outputs that get no gradient (indices, masks): they do not require grad, and backward
  // receives a zero gradient for them.
  void mark_non_differentiable(const variable_list& outputs);
  // Whether forward argument `index` (counting all arguments after ctx) wants a gradient.
  bool needs_input_grad(std::size_t index) const;

  std::unordered_map<std::string, IValue> saved_data;

  // ---- used by Function<T>::apply ----
  std::vector<Tensor> to_save_;                 // until the node is recorded
  std::vector<SavedTensor> saved_;              // after
  std::vector<std::shared_ptr<TensorImpl>> non_differentiable_;
  std::vector<bool> needs_input_grad_;
};

namespace detail {
std::string demangle(const char* mangled);
// Records the node of a custom function: inputs are the forward arguments (undefined tensors
// for non-tensor arguments), outputs the forward results; T::backward is called through
// `backward`. Returns the outputs (aliases of inputs are replaced by fresh views).
variable_list record_custom(const std::string& name, const std::shared_ptr<AutogradContext>& ctx,
                            const variable_list& inputs, variable_list outputs,
                            std::function<variable_list(AutogradContext*, variable_list)> backward);

template <class A> Tensor as_input(const A& a) {
  if constexpr (std::is_convertible_v<const A&, const Tensor&>) return a;
  else return Tensor();
}
}  // namespace detail

// Base of a custom function T with static T::forward(AutogradContext*, args...) returning a
// Tensor or a variable_list, and static T::backward(AutogradContext*, variable_list).
template <class T>
struct Function {
  template <class... Args>
  static auto apply(Args&&... args) {
    auto ctx = std::make_shared<AutogradContext>();
    variable_list inputs{detail::as_input(args)...};
    ctx->needs_input_grad_.reserve(inputs.size());
    for (const Tensor& t : inputs) ctx->needs_input_grad_.push_back(t.defined() && t.requires_grad());
    using Out = decltype(T::forward(ctx.get(), std::forward<Args>(args)...));
    Out out;
    {
      AutoGradMode forward_mode(false);  // forward computes values; the node is recorded below
      out = T::forward(ctx.get(), std::forward<Args>(args)...);
    }
    const std::string name = detail::demangle(typeid(T).name()) + "Backward";
    auto call_backward = [](AutogradContext* c, variable_list g) { return T::backward(c, std::move(g)); };
    if constexpr (std::is_convertible_v<Out, Tensor>) {
      return detail::record_custom(name, ctx, inputs, {Tensor(out)}, call_backward)[0];
    } else {
      return detail::record_custom(name, ctx, inputs, variable_list(out.begin(), out.end()), call_backward);
    }
  }
};

}  // namespace cake::autograd
