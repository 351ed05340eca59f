// hungarian.h: the linear assignment problem, solved by the Hungarian method in O(n^2 m).
//
//   // cost[i][j]: cost of giving row i (a worker) column j (a job); each row gets one column.
//   auto a = cake::metrics::linear_sum_assignment({4, 1, 3,  2, 0, 5,  3, 2, 2}, 3, 3);
//   // a.row_to_col == {1, 0, 2}, a.total == 5
//
// Kuhn (1955) and Munkres (1957), in the shortest-augmenting-path form with row and column
// potentials (as in Jonker & Volgenant, 1987): rows are added one at a time; for each, a
// Dijkstra-like search over reduced costs c[i][j] - u[i] - v[j] >= 0 finds the cheapest
// augmenting path, and the potentials are shifted so that the reduced costs stay non-negative
// and are zero along the matching. Each of the n row insertions costs O(n m), so O(n^2 m) in
// all (O(n^3) for a square matrix).
//
// Rectangular matrices are allowed: with more columns than rows every row is assigned; with
// more rows than columns every column is, and the remaining rows get -1 (the same optimum as
// scipy.optimize.linear_sum_assignment).
#pragma once

#include <cstdint>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::metrics {

struct Assignment {
  std::vector<std::int64_t> row_to_col;  // the column of each row, or -1 if it has none
  double total = 0.0;                    // the sum of the chosen entries
};

// `cost` is rows x cols, row-major; finite values. With maximize, the sum is maximised.
Assignment linear_sum_assignment(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols,
                                 bool maximize = false);
// The same for a 2-D tensor of any real dtype.
Assignment linear_sum_assignment(const Tensor& cost, bool maximize = false);

}  // namespace cake::metrics

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::metrics.
namespace cake::algorithms {
using ::cake::metrics::Assignment;
using ::cake::metrics::linear_sum_assignment;
}  // namespace cake::algorithms
