// options.h: option structs that take both Cake's designated initializers and libtorch's
// chained setters.
//
//   cake::nn::Conv2dOptions a{.stride = 2, .padding = 1};                  // C++20 designated initializers
//   cake::nn::Conv2dOptions b = cake::nn::Conv2dOptions(1, 16, 3).stride(2).padding(1);   // libtorch's builder
//   std::int64_t s = b.stride;          // a field reads as its value ...
//   std::int64_t t = b.stride();        // ... and, as in libtorch, through a getter
//   b.stride = 3;                       // and assigns as one
//   cake::nn::UnfoldOptions u = cake::nn::UnfoldOptions({2, 3}).stride(2);   // a Pair's setter: one number for both
//
// NOTE [ Designated initializers and chained setters ]
// The two spellings pull in opposite directions: `{.stride = 2}` needs an aggregate whose
// public field is called `stride`, while `.stride(2)` needs a member *function* called
// `stride`, and a class cannot have both. libtorch makes the fields private (stride_), which
// would break every `{.stride = 2}` in Cake. Here each field is a small class, Arg, that is
// at the same time the value (an implicit conversion reads it, an implicit constructor
// initialises it, so `{.stride = 2}` and `opts.stride + 1` work unchanged) and the setter:
// calling it, `opts.stride(2)`, stores 2 and returns the struct that holds the field, so
// calls chain. To find that struct from the field, Arg subtracts the field's offset
// (offsetof, computed by a static function the CAKE_ARG macro declares beside the field)
// from its own address: the "container_of" idiom of intrusive containers. The structs stay
// aggregates and standard-layout (which offsetof needs), so C++20's parenthesised aggregate
// initialisation gives libtorch's positional form for free: the required arguments come
// first in each struct (Conv2dOptions(1, 16, 3) is in_channels, out_channels, kernel_size),
// and nothing positional can land in an unintended field.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace cake::nn {

template <class T>
struct is_std_array : std::false_type {};
template <class E, std::size_t N>
struct is_std_array<std::array<E, N>> : std::true_type {};

template <class Owner, class T, std::size_t (*OffsetInOwner)()>
class Arg {
 public:
  // The implicit constructors make `{.stride = 2}`, `= {0.9, 0.999}` and the positional
  // `Conv2dOptions(1, 16, 3)` initialise the value.
  constexpr Arg() = default;
  constexpr Arg(const T& value) : value_(value) {}  // NOLINT(google-explicit-constructor)
  // A braced list inside the positional form, libtorch's LayerNormOptions({64}) or
  // UnflattenOptions(1, {16, 7, 7}), fills a container (Shape) or a fixed array (Pair).
  template <class E>
    requires(std::constructible_from<T, std::initializer_list<E>> || std::constructible_from<T, const E*, const E*> ||
             is_std_array<T>::value)
  constexpr Arg(std::initializer_list<E> list) : value_(from_list(list)) {}  // NOLINT
  template <class... Args>
    requires(sizeof...(Args) != 1 && std::constructible_from<T, Args...>)
  constexpr Arg(Args&&... args) : value_(std::forward<Args>(args)...) {}  // NOLINT
  template <class U>
    requires(!std::same_as<std::remove_cvref_t<U>, Arg> && !std::same_as<std::remove_cvref_t<U>, T> &&
             std::convertible_to<U, T>)
  constexpr Arg(U&& value) : value_(static_cast<T>(std::forward<U>(value))) {}  // NOLINT

  // Reading: `opts.stride` converts to the value; `opts.stride()` is libtorch's getter.
  constexpr operator const T&() const { return value_; }  // NOLINT(google-explicit-constructor)
  constexpr const T& operator()() const { return value_; }
  constexpr const T& get() const { return value_; }
  T& get() { return value_; }
  const T* operator->() const { return &value_; }  // opts.betas->first

  // Writing: `opts.stride(2)` sets the value and returns the whole struct, so calls chain.
  Owner& operator()(T value) {
    value_ = std::move(value);
    return owner();
  }
  // A fixed array's setter also takes one number for every element, as libtorch's
  // ExpandingArray does: UnfoldOptions({3, 3}).stride(2) moves the window 2 in both dims. Only
  // the setter: a constructor from one number would make UnfoldOptions({2, 3}) the copy of the
  // aggregate {kernel_size = 2, dilation = 3} (a constructor, the copy constructor, wins over
  // the positional form), so a positional array is always braced.
  template <class E>
    requires(is_std_array<T>::value && std::is_arithmetic_v<E>)
  Owner& operator()(E value) {
    return (*this)(filled(value));
  }

 private:
  template <class E>
  static constexpr T from_list(std::initializer_list<E> list) {
    if constexpr (is_std_array<T>::value) {
      if (list.size() != std::tuple_size<T>::value) throw std::invalid_argument("option: wrong number of values in a braced list");
      T out{};
      std::copy(list.begin(), list.end(), out.begin());
      return out;
    } else if constexpr (std::constructible_from<T, std::initializer_list<E>>) {
      return T(list);
    } else {
      return T(list.begin(), list.end());  // Shape from {16, 7, 7}: int elements, int64 values
    }
  }

  template <class E>
  static constexpr T filled(E value) {
    T out{};
    out.fill(static_cast<typename T::value_type>(value));
    return out;
  }

  Owner& owner() {
    // The field lives OffsetInOwner() bytes into its Owner (see the note above).
    return *reinterpret_cast<Owner*>(reinterpret_cast<char*>(this) - OffsetInOwner());
  }

  T value_{};
};

}  // namespace cake::nn

// Declares the option field `name` of type `type` inside an options struct that has declared
// `using Self = <the struct>;`: the field (an Arg) and the static function giving its offset.
// Follow it with a default: CAKE_ARG(std::int64_t, stride) = 1;
#define CAKE_ARG(type, name)                                                \
  static std::size_t name##_offset_() { return offsetof(Self, name); }      \
  ::cake::nn::Arg<Self, type, &Self::name##_offset_> name
