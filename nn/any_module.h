// any_module.h: nn::AnyModule, libtorch's type-erased module: one type that holds any module
// (by shared_ptr) and calls its forward, whatever that forward takes and returns; and
// nn::AnyValue, the type-erased value it returns from any_forward. What the Transformer's
// custom_encoder / custom_decoder and the stacks' `norm` option take (nn/transformer.h).
//
//   namespace nn = cake::nn;
//   nn::AnyModule linear(nn::Linear(4, 2));                          // or from std::make_shared<nn::Linear>(4, 2)
//   cake::Tensor y = linear.forward(x);                              // forward<R = cake::Tensor>, as libtorch
//   nn::AnyValue value = linear.any_forward(x);                      // the result kept erased ...
//   cake::Tensor same = value.get<cake::Tensor>();                   // ... and read back by its type
//   nn::TransformerEncoderLayer layer(16, 4);
//   nn::AnyModule encoder(nn::TransformerEncoder(nn::TransformerEncoderOptions(layer, 2)));
//   cake::Tensor memory = encoder.forward(src, cake::Tensor(), pad); // three tensors: src, mask, key padding
//   nn::AnyModule lstm(nn::LSTM(4, 8));
//   auto [out, state] = lstm.forward<std::tuple<cake::Tensor, std::tuple<cake::Tensor, cake::Tensor>>>(sequence);
//   nn::Linear& typed = linear.get<nn::Linear>();                    // the module as its own type
//   nn::AnyModule copy = linear.clone();                             // a deep copy: its own parameters
//
// NOTE [ How AnyModule erases an overloaded forward ]
// libtorch reads the argument types off `&M::forward`, which needs M to have exactly one
// forward. Cake's layers overload it: the virtual `Tensor forward(const Tensor&)` beside
// masked or multi-input forms with default arguments (TransformerEncoder takes 1 to 3 tensors,
// MultiheadAttention 1 or 3 to 5). So AnyModule asks the compiler, once per module type M and
// while M is still known (at construction), which argument lists M's forward accepts, trying:
//   * one to eight tensors (Transformer's decoder takes six);
//   * a tensor and a (tensor, tensor) pair: an LSTM's (h, c) state;
//   * and, when M declares a single forward, its own argument types, as libtorch does, so
//     that a user's forward(const Tensor& x, double temperature) works too.
// For each list M accepts, it keeps a thunk: a function that unpacks the arguments, calls
// M's forward (overload resolution and default arguments exactly as in a direct call) and
// wraps the result in an AnyValue. A call looks up the thunk by its arguments' types (after
// std::decay: a const Tensor& is a Tensor), and a list M does not accept is an error that
// names the module and the lists it does accept. Exact types, as in libtorch: pass 2.0 to a
// double parameter, not 2; and cake::Tensor() for an absent tensor (a braced {} has no type).
// The trade against libtorch: a fixed list of argument kinds instead of any signature; in
// return the module needs no FORWARD_HAS_DEFAULT_ARGS, and overloaded forwards work.
#pragma once

#include <any>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <vector>

#include "cake/nn/module.h"

namespace cake::nn {

namespace detail {
// The readable C++ name of a type ("cake::Tensor", "std::tuple<cake::Tensor, cake::Tensor>").
std::string type_name(const std::type_info& type);
}  // namespace detail

// A value of any (copyable) type with its type remembered, as libtorch's AnyValue: what
// AnyModule::any_forward returns. Empty when the forward returns void.
class AnyValue {
 public:
  AnyValue() = default;
  template <class T>
    requires(!std::same_as<std::remove_cvref_t<T>, AnyValue>)
  explicit AnyValue(T&& value) : value_(std::forward<T>(value)) {}

  // The value as a T; throws, naming both types, when it is not a T.
  template <class T>
  T& get() {
    T* value = try_get<T>();
    if (value == nullptr) throw_wrong_type(typeid(T));
    return *value;
  }
  template <class T>
  const T& get() const {
    return const_cast<AnyValue*>(this)->get<T>();
  }
  // A pointer to the value, or null when it is not a T.
  template <class T>
  T* try_get() {
    return std::any_cast<T>(&value_);
  }
  const std::type_info& type_info() const { return value_.type(); }  // typeid(void) when empty
  bool has_value() const { return value_.has_value(); }

 private:
  [[noreturn]] void throw_wrong_type(const std::type_info& asked) const;
  std::any value_;
};

namespace detail {

// A list of argument types, and the argument lists AnyModule tries (see the NOTE above).
template <class... A>
struct ArgumentList {};
template <std::size_t>
using AlwaysTensor = Tensor;
template <std::size_t... I>
ArgumentList<AlwaysTensor<I>...> tensors(std::index_sequence<I...>);
template <std::size_t N>
using Tensors = decltype(tensors(std::make_index_sequence<N>{}));  // N tensors
inline constexpr std::size_t kMaxTensorArguments = 8;

// The argument types of a (non-overloaded) member function, decayed.
template <class F>
struct ArgumentsOf;
template <class R, class C, class... A>
struct ArgumentsOf<R (C::*)(A...)> {
  using type = ArgumentList<std::decay_t<A>...>;
};
template <class R, class C, class... A>
struct ArgumentsOf<R (C::*)(A...) const> : ArgumentsOf<R (C::*)(A...)> {};
template <class R, class C, class... A>
struct ArgumentsOf<R (C::*)(A...) noexcept> : ArgumentsOf<R (C::*)(A...)> {};
template <class R, class C, class... A>
struct ArgumentsOf<R (C::*)(A...) const noexcept> : ArgumentsOf<R (C::*)(A...)> {};

// How one call travels through the erasure: references to the caller's arguments, in a
// std::any whose type says which argument list they make.
template <class... A>
using ArgumentRefs = std::tuple<const A&...>;

// The argument lists one module type accepts, each with the thunk that calls its forward.
struct ForwardTable {
  using Thunk = AnyValue (*)(Module& module, const std::any& arguments);
  struct Entry {
    std::type_index arguments;  // typeid(ArgumentRefs<A...>)
    std::string signature;      // "(cake::Tensor, cake::Tensor)", for error messages
    Thunk thunk;
  };
  const std::type_info* module_type = nullptr;  // typeid(M)
  std::vector<Entry> entries;

  const Entry* find(const std::type_info& arguments) const;
  std::string signatures() const;  // every accepted list, for error messages
};

std::string signature_of(const std::vector<const std::type_info*>& types);

// M's forward with the arguments A..., its result as an AnyValue.
template <class M, class... A>
AnyValue call_forward(Module& module, const std::any& arguments) {
  const auto& refs = *std::any_cast<ArgumentRefs<A...>>(&arguments);  // the table matched the type
  auto call = [&](const A&... a) { return static_cast<M&>(module).forward(a...); };
  if constexpr (std::is_void_v<decltype(std::apply(call, refs))>) {
    std::apply(call, refs);
    return AnyValue();
  } else {
    return AnyValue(std::apply(call, refs));
  }
}

// Adds A... to the table if M's forward accepts it (and it is not there yet).
template <class M, class... A>
void add_if_accepted(ForwardTable& table, ArgumentList<A...>) {
  if constexpr (requires(M& m, const A&... a) { m.forward(a...); }) {
    if (table.find(typeid(ArgumentRefs<A...>)) != nullptr) return;
    table.entries.push_back({typeid(ArgumentRefs<A...>), signature_of({&typeid(A)...}), &call_forward<M, A...>});
  }
}

template <class M, std::size_t... N>
void add_tensor_lists(ForwardTable& table, std::index_sequence<N...>) {
  (add_if_accepted<M>(table, Tensors<N + 1>{}), ...);
}

// Built once per module type (see NOTE [ How AnyModule erases an overloaded forward ]).
template <class M>
const ForwardTable& forward_table() {
  static const ForwardTable table = [] {
    ForwardTable t;
    t.module_type = &typeid(M);
    add_tensor_lists<M>(t, std::make_index_sequence<kMaxTensorArguments>{});
    add_if_accepted<M>(t, ArgumentList<Tensor, std::tuple<Tensor, Tensor>>{});
    if constexpr (requires { &M::forward; }) {  // a single forward: its own argument types
      add_if_accepted<M>(t, typename ArgumentsOf<decltype(&M::forward)>::type{});
    }
    return t;
  }();
  return table;
}

}  // namespace detail

// Any module, type-erased (see NOTE [ How AnyModule erases an overloaded forward ]). Copies
// share the module, as libtorch's do; clone() makes a deep copy.
class AnyModule {
 public:
  AnyModule() = default;  // empty: is_empty() is true, and every use but is_empty throws
  template <class M>
    requires std::derived_from<M, Module>
  explicit AnyModule(std::shared_ptr<M> module) : module_(std::move(module)), table_(&detail::forward_table<M>()) {
    check_not_null();
  }
  // A built-in layer value (nn::Linear(4, 2), moved to the heap if it holds its layer, as
  // register_module does) or a CAKE_MODULE holder.
  template <ModuleLike T>
    requires(!is_module_shared_ptr<std::remove_cvref_t<T>>::value)
  explicit AnyModule(T&& module) : AnyModule(module_ptr(std::forward<T>(module))) {}

  // The module's forward with these arguments, its result as a ReturnType (a Tensor unless
  // named), as libtorch's forward<ReturnType>; throws, naming the module and the types, when
  // the module takes no such arguments or returns something else.
  template <class ReturnType = Tensor, class... Args>
  ReturnType forward(Args&&... args) {
    AnyValue result = any_forward(std::forward<Args>(args)...);
    if (result.try_get<ReturnType>() == nullptr) throw_wrong_return_type(result, typeid(ReturnType));
    return std::move(result.get<ReturnType>());
  }
  // The same, the result left erased (libtorch's any_forward).
  template <class... Args>
  AnyValue any_forward(Args&&... args) {
    using Refs = detail::ArgumentRefs<std::decay_t<Args>...>;
    const auto& entry = find_forward(typeid(Refs), {&typeid(std::decay_t<Args>)...});
    return entry.thunk(*module_, std::any(Refs(args...)));
  }

  // The module: untyped, or as M (throws, naming both types, when it is not an M).
  const std::shared_ptr<Module>& ptr() const;
  template <class M>
  std::shared_ptr<M> ptr() const {
    auto typed = std::dynamic_pointer_cast<M>(ptr());
    if (typed == nullptr) throw_wrong_module_type(typeid(M));
    return typed;
  }
  // As libtorch's get<T>: a reference to the module for a module type, a holder of it for a
  // CAKE_MODULE holder type (get<Net>() for a NetImpl).
  template <class T>
    requires std::derived_from<T, Module>
  T& get() const {
    return *ptr<T>();
  }
  template <PureHolder T>
  T get() const {
    return T(ptr<typename T::ContainedType>());
  }

  // A deep copy (Module::clone: its own parameters and buffers, same values), optionally moved
  // to `device`.
  AnyModule clone(std::optional<Device> device = std::nullopt) const;
  bool is_empty() const { return module_ == nullptr; }
  // typeid of the module type it was made from (NetImpl for a Net holder), as libtorch's.
  const std::type_info& type_info() const;

 private:
  AnyModule(std::shared_ptr<Module> module, const detail::ForwardTable* table)
      : module_(std::move(module)), table_(table) {}
  void check_not_null() const;
  const detail::ForwardTable::Entry& find_forward(const std::type_info& arguments,
                                                  const std::vector<const std::type_info*>& argument_types) const;
  [[noreturn]] void throw_wrong_return_type(const AnyValue& result, const std::type_info& asked) const;
  [[noreturn]] void throw_wrong_module_type(const std::type_info& asked) const;

  std::shared_ptr<Module> module_;
  const detail::ForwardTable* table_ = nullptr;  // one per module type, never freed
};

}  // namespace cake::nn
