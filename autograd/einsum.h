// einsum.h: Einstein summation, as torch::einsum.
//
//   cake::Tensor c = cake::einsum("bij,bjk->bik", {a, b});    // batched matrix product
//   cake::Tensor t = cake::einsum("ii", {m});                  // trace
//   cake::Tensor y = cake::einsum("...ij,...j->...i", {a, v}); // broadcast batches of mat-vecs
//
// The notation. Each operand gets a string of one-letter labels, one per dim ("bij" for a
// [B, I, J] tensor); the operands' strings are separated by commas, and after "->" comes the
// output's. The result is, for every assignment of indices to the output labels, the sum over
// every label missing from the output of the product of the operands' elements:
//
//   c[n, i, k] = sum_j a[n, i, j] * b[n, j, k]          ("nij,njk->nik")
//
// So a label shared by two operands and absent from the output is contracted, one kept in the
// output is a batch or free index, and one absent everywhere else is summed. The details, as
// PyTorch's:
//  - labels are the letters a-z and A-Z; spaces are ignored;
//  - without "->" the output is every label that occurs exactly once, in alphabetical order
//    (A-Z before a-z), after the "..." dims: "ij,jk" is "ij,jk->ik", "ji" is "ji->ij";
//  - a label repeated in one operand takes its diagonal: "ii->i" is the diagonal, "ii->" (or
//    "ii") the trace; the repeated dims must have the same size;
//  - "..." stands for any number of leading, middle or trailing dims; the operands' "..." dims
//    broadcast against each other (aligned at the right, as in elementwise ops), and appear in
//    the output where "..." is written (summed when the output has no "...");
//  - a label of size 1 in one operand broadcasts against its size in another.
//
// How it is computed: each operand first loses its repeated labels (a diagonal) and the labels
// that no other operand and not the output names (a sum). Then the operands are contracted
// pairwise, left to right, each pair as ONE batched matrix product: both are permuted to
// [labels both keep, labels one keeps, labels contracted], reshaped to [batch, M, K] and
// [batch, K, N], multiplied by matmul, and reshaped back. Everything is composed of
// differentiable ops (permute, reshape, slice, sum, matmul), so the gradient and the CUDA
// backend come with them. Left to right is not always the cheapest order for three or more
// operands: write the cheapest order into the equation, or call einsum once per pair.
#pragma once

#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake {

// The Einstein sum of the operands by `equation` (see above). Errors name the equation and the
// offending operand, label or shapes.
Tensor einsum(std::string_view equation, std::span<const Tensor> operands);
inline Tensor einsum(std::string_view equation, std::initializer_list<Tensor> operands) {
  return einsum(equation, std::span<const Tensor>(operands.begin(), operands.size()));
}
inline Tensor einsum(std::string_view equation, const std::vector<Tensor>& operands) {
  return einsum(equation, std::span<const Tensor>(operands));
}

}  // namespace cake
