// error.h: Cake's one exception type and the checks that throw it.
//
//   CAKE_CHECK(a.dim() == 2, "matmul: expected a matrix, got shape ", a.sizes());
//
// Every message names what was wrong and the shapes, dtypes or devices involved, so a user
// can fix the call without a debugger.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cake {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class T>
void stream_one(std::ostream& out, const T& value) {
  out << value;
}
// Shapes (and any vector) print as [2, 3] inside messages.
template <class T>
void stream_one(std::ostream& out, const std::vector<T>& values) {
  out << '[';
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  out << ']';
}
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (stream_one(out, args), ...);
  return out.str();
}
}  // namespace detail

}  // namespace cake

// Throws cake::Error with the streamed message when the condition is false.
#define CAKE_CHECK(cond, ...)                                            \
  do {                                                                   \
    if (!(cond)) [[unlikely]] {                                          \
      throw ::cake::Error(::cake::detail::concat(__VA_ARGS__));          \
    }                                                                    \
  } while (0)

#define CAKE_FAIL(...) throw ::cake::Error(::cake::detail::concat(__VA_ARGS__))
