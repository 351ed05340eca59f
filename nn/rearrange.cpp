// rearrange.cpp: the printed settings of Unfold and Fold (their forwards are F::unfold, F::fold).
#include "cake/nn/rearrange.h"

#include <sstream>

namespace cake::nn {

// PyTorch's form: one number where both dims agree, (h, w) where they differ.
static void print_pair(std::ostream& out, const char* name, Pair value) {
  out << name << "=";
  if (value[0] == value[1]) out << value[0];
  else out << "(" << value[0] << ", " << value[1] << ")";
}

static void print_block_settings(std::ostream& out, Pair kernel, Pair dilation, Pair padding, Pair stride) {
  print_pair(out, "kernel_size", kernel);
  print_pair(out << ", ", "dilation", dilation);
  print_pair(out << ", ", "padding", padding);
  print_pair(out << ", ", "stride", stride);
}

std::string Unfold::extra_repr() const {
  std::ostringstream out;
  print_block_settings(out, options.kernel_size, options.dilation, options.padding, options.stride);
  return out.str();
}

std::string Fold::extra_repr() const {
  std::ostringstream out;
  print_pair(out, "output_size", options.output_size);
  print_block_settings(out << ", ", options.kernel_size, options.dilation, options.padding, options.stride);
  return out.str();
}

}  // namespace cake::nn
