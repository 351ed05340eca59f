// padding.cpp: the padding layers' forward (F::pad) and PyTorch's repr.
#include "cake/nn/padding.h"

#include <cmath>
#include <sstream>

namespace cake::nn {

Tensor PadLayer::forward(const Tensor& x) {
  const std::int64_t batch_rank = spatial_dims() + 2;
  CAKE_CHECK(x.dim() == batch_rank || x.dim() == batch_rank - 1, name(), ": expected an input of ", batch_rank,
             " dims (", batch_rank == 3 ? "[N, C, L]" : "[N, C, H, W]", ") or ", batch_rank - 1,
             " for one unbatched sample, got shape ", x.sizes());
  try {
    return functional::pad(x, padding, mode, value);
  } catch (const Error& e) {
    CAKE_FAIL(name(), ": ", e.what());
  }
}

std::string PadLayer::extra_repr() const {
  std::ostringstream out;
  if (shows_value_) out << "padding=";
  out << "(";
  for (std::size_t i = 0; i < padding.size(); ++i) out << (i ? ", " : "") << padding[i];
  out << ")";
  if (shows_value_) {  // as Python prints a float: -1.0, 0.5
    out << ", value=" << value << (value == std::floor(value) && std::abs(value) < 1e15 ? ".0" : "");
  }
  return out.str();
}

}  // namespace cake::nn
