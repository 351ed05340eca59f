// einsum.h: Einstein summation, as torch::einsum.
//
//   cake::Tensor c = cake::einsum("bij,bjk->bik", {a, b});    // batched matrix product
//   cake::Tensor t = cake::einsum("ii", {m});                  // trace
//   cake::Tensor y = cake::einsum("...ij,...j->...i", {a, v}); // broadcast batches of mat-vecs
//   cake::Tensor z = cake::einsum("ij,jk,k->i", {m, m, v}, {1, 2, 0, 1});  // m (m v): pair (1, 2) first
//   cake::EinsumPath plan = cake::einsum_path("ij,jk,k->i", {{3, 3}, {3, 3}, {3}});  // the same order
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
// pairwise, each pair as ONE batched matrix product: both are permuted to [labels both keep,
// labels one keeps, labels contracted], reshaped to [batch, M, K] and [batch, K, N], multiplied
// by matmul, and reshaped back. Everything is composed of differentiable ops (permute, reshape,
// slice, sum, matmul), so the gradient and the CUDA backend come with them.
//
// The order of the products. With three or more operands the order changes the cost, not the
// result (up to rounding): for "ij,jk,kl->il" with shapes [10, 20], [20, 30], [30, 1], (A B) C
// takes 6000 + 300 multiply-adds and A (B C) 600 + 200. `path` fixes the order, as libtorch's
// argument of that name (in opt_einsum's format): pairs of positions, flattened, in the list of
// operands still waiting; after each product its two operands leave the list and the product is
// appended at its end. {1, 2, 0, 1} above: m v first, leaving [m, m v]; then those two. A single
// operand's path is {0}. Cake multiplies a pair in the order written (the first is the left
// factor) where PyTorch sorts it: the same values up to rounding.
//
// Without a path, Cake takes the greedy order of opt_einsum (D. G. A. Smith and J. Gray,
// "opt_einsum - A Python package for optimizing contraction order for einsum-like expressions",
// JOSS 2018): at each step the pair whose product frees the most memory (size of the product
// less those of the pair), among equals the one with fewer multiply-adds, then the first pair.
// It is taken only where its products need fewer multiply-adds in all than left to right, which
// is kept otherwise (the order einsum had before paths: (0, 1), then (n-2, 0), (n-3, 0), ...,
// (1, 0), the product so far on the left), so that an einsum reordering cannot help computes
// exactly what it did. PyTorch 1.13 differs: torch.einsum in Python asks the opt_einsum package
// for a path (its "auto" strategy) when that is installed and goes left to right when not, and
// libtorch's C++ einsum always goes left to right. Cake has no optional package to depend on,
// and a C++ user gets the cheaper order without asking; einsum_path shows which one, and any
// order can be fixed with `path`.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake {

// The Einstein sum of the operands by `equation` (see above), contracted in the order of `path`
// (libtorch's OptionalIntArrayRef; see above) or, without one, in the default order. Errors name
// the equation and the offending operand, label, shapes or pair of the path.
Tensor einsum(std::string_view equation, std::span<const Tensor> operands,
              const std::optional<IntArrayRef>& path = std::nullopt);
inline Tensor einsum(std::string_view equation, std::initializer_list<Tensor> operands,
                     const std::optional<IntArrayRef>& path = std::nullopt) {
  return einsum(equation, std::span<const Tensor>(operands.begin(), operands.size()), path);
}
inline Tensor einsum(std::string_view equation, const std::vector<Tensor>& operands,
                     const std::optional<IntArrayRef>& path = std::nullopt) {
  return einsum(equation, std::span<const Tensor>(operands), path);
}
// The path written in braces, as einsum("ij,jk,kl->il", {a, b, c}, {1, 2, 0, 1}).
inline Tensor einsum(std::string_view equation, std::initializer_list<Tensor> operands,
                     std::initializer_list<std::int64_t> path) {
  return einsum(equation, operands, std::optional<IntArrayRef>(std::in_place, path));
}
inline Tensor einsum(std::string_view equation, std::span<const Tensor> operands,
                     std::initializer_list<std::int64_t> path) {
  return einsum(equation, operands, std::optional<IntArrayRef>(std::in_place, path));
}

// The order einsum takes for operands of these shapes: the given path (checked) or the default
// order, and what its products cost. Needs the shapes only, not the tensors.
struct EinsumPath {
  IntArrayRef path;          // in the format of einsum's `path`
  double multiply_adds = 0;  // batch * M * K * N summed over the pairwise products (a double: an
                             // outer product of large operands can pass the range of int64)
};
EinsumPath einsum_path(std::string_view equation, const std::vector<Shape>& shapes,
                       const std::optional<IntArrayRef>& path = std::nullopt);

}  // namespace cake
