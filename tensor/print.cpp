// print.cpp: `std::cout << tensor`, in PyTorch's style:
//
//   tensor([[ 0.1000, -2.0000],
//           [ 3.5000,  4.0000]], shape=[2, 2], dtype=float32, device=cpu)
//
// Floats get four decimals (scientific notation when values are very large or small); tensors
// with more than 1000 elements show their first and last 3 entries per dimension with "...".
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/tensor.h"

namespace cake {
namespace {

constexpr std::int64_t kSummariseAbove = 1000;
constexpr std::int64_t kEdgeItems = 3;

struct Formatter {
  bool floating = false, scientific = false;
  int width = 1;

  std::string format(double v) const {
    std::ostringstream s;
    if (!floating) {
      s << static_cast<std::int64_t>(v);
    } else if (std::isnan(v)) {
      s << "nan";
    } else if (std::isinf(v)) {
      s << (v > 0 ? "inf" : "-inf");
    } else if (scientific) {
      s << std::scientific << std::setprecision(4) << v;
    } else {
      s << std::fixed << std::setprecision(4) << v;
    }
    return s.str();
  }
};

void print_dim(std::ostream& out, const double* values, const Shape& sizes, const Shape& strides, std::size_t dim,
               const Formatter& f, bool summarise, int indent) {
  const std::int64_t n = sizes[dim];
  out << '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
      out << (dim + 1 == sizes.size() ? "..., " : "...,\n" + std::string(static_cast<std::size_t>(indent + 1), ' '));
      i = n - kEdgeItems;
    }
    const double* p = values + i * strides[dim];
    if (dim + 1 == sizes.size()) {
      const std::string text = f.format(*p);
      out << std::string(static_cast<std::size_t>(std::max<int>(0, f.width - static_cast<int>(text.size()))), ' ') << text;
    } else {
      print_dim(out, p, sizes, strides, dim + 1, f, summarise, indent + 1);
    }
    if (i + 1 < n) {
      out << ',';
      if (dim + 1 == sizes.size()) out << ' ';
      else out << std::string(sizes.size() - dim - 1, '\n') << std::string(static_cast<std::size_t>(indent + 1), ' ');
    }
  }
  out << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  if (!t.defined()) return out << "tensor(undefined)";
  Tensor host = native::contiguous(native::to_dtype(native::to_device(t, kCPU), kFloat64));
  const double* values = host.data_ptr<double>();
  Formatter f;
  f.floating = t.is_floating_point();
  double max_abs = 0.0, min_abs = INFINITY;
  for (std::int64_t i = 0; i < host.numel(); ++i) {
    if (!std::isfinite(values[i])) continue;
    max_abs = std::max(max_abs, std::abs(values[i]));
    if (values[i] != 0.0) min_abs = std::min(min_abs, std::abs(values[i]));
  }
  f.scientific = f.floating && (max_abs >= 1e8 || (min_abs < 1e-4 && min_abs != INFINITY));
  for (std::int64_t i = 0; i < host.numel(); ++i)
    f.width = std::max(f.width, static_cast<int>(f.format(values[i]).size()));
  const int indent = 7;  // strlen("tensor(")
  out << "tensor(";
  if (t.dim() == 0) {
    out << f.format(values[0]);
  } else {
    print_dim(out, values, host.sizes(), host.strides(), 0, f, t.numel() > kSummariseAbove, indent);
  }
  out << ", shape=" << t.sizes() << ", dtype=" << t.dtype() << ", device=" << t.device();
  if (t.requires_grad()) out << ", requires_grad=true";
  return out << ')';
}

std::string Tensor::to_string() const {
  std::ostringstream s;
  s << *this;
  return s.str();
}

}  // namespace cake
