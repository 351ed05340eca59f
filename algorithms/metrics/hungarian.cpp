#include "cake/algorithms/metrics/hungarian.h"

#include <cmath>
#include <limits>

#include "cake/tensor/native/elementwise.h"

namespace cake::metrics {
namespace {

// Square or wide case (n <= m): assigns every row. a(i, j) is the cost, 0-based.
// Arrays are 1-based with index 0 a virtual column that holds the row being inserted.
template <class Cost>
std::vector<std::int64_t> assign_rows(std::int64_t n, std::int64_t m, const Cost& a) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0);   // row and column potentials
  std::vector<std::int64_t> match(m + 1, 0);          // match[j]: the row in column j (0: none)
  std::vector<std::int64_t> way(m + 1, 0);            // previous column on the shortest path
  std::vector<double> min_reduced(m + 1);
  std::vector<char> visited(m + 1);
  for (std::int64_t row = 1; row <= n; ++row) {
    match[0] = row;
    std::int64_t col = 0;
    std::fill(min_reduced.begin(), min_reduced.end(), kInf);
    std::fill(visited.begin(), visited.end(), 0);
    // Grow the shortest-path tree until it reaches a free column.
    do {
      visited[col] = 1;
      const std::int64_t i = match[col];
      double delta = kInf;
      std::int64_t next = 0;
      for (std::int64_t j = 1; j <= m; ++j) {
        if (visited[j]) continue;
        const double reduced = a(i - 1, j - 1) - u[i] - v[j];
        if (reduced < min_reduced[j]) {
          min_reduced[j] = reduced;
          way[j] = col;
        }
        if (min_reduced[j] < delta) {
          delta = min_reduced[j];
          next = j;
        }
      }
      // Shift the potentials: tree edges stay tight, the others come delta closer.
      for (std::int64_t j = 0; j <= m; ++j) {
        if (visited[j]) {
          u[match[j]] += delta;
          v[j] -= delta;
        } else {
          min_reduced[j] -= delta;
        }
      }
      col = next;
    } while (match[col] != 0);
    // Augment: flip the matching along the path back to the virtual column.
    do {
      const std::int64_t previous = way[col];
      match[col] = match[previous];
      col = previous;
    } while (col != 0);
  }
  std::vector<std::int64_t> row_to_col(n, -1);
  for (std::int64_t j = 1; j <= m; ++j)
    if (match[j] != 0) row_to_col[match[j] - 1] = j - 1;
  return row_to_col;
}

}  // namespace

Assignment linear_sum_assignment(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols,
                                 bool maximize) {
  CAKE_CHECK(rows >= 0 && cols >= 0 && static_cast<std::int64_t>(cost.size()) == rows * cols,
             "linear_sum_assignment: ", cost.size(), " costs for a ", rows, "x", cols, " matrix");
  for (double c : cost) CAKE_CHECK(std::isfinite(c), "linear_sum_assignment: costs must be finite, got ", c);
  const double sign = maximize ? -1.0 : 1.0;  // maximising c is minimising -c
  Assignment result;
  result.row_to_col.assign(static_cast<std::size_t>(rows), -1);
  if (rows == 0 || cols == 0) return result;
  if (rows <= cols) {
    result.row_to_col = assign_rows(rows, cols, [&](std::int64_t i, std::int64_t j) { return sign * cost[i * cols + j]; });
  } else {
    // More rows than columns: solve the transpose, where every column gets a row.
    const auto col_to_row =
        assign_rows(cols, rows, [&](std::int64_t i, std::int64_t j) { return sign * cost[j * cols + i]; });
    for (std::int64_t j = 0; j < cols; ++j) result.row_to_col[col_to_row[j]] = j;
  }
  for (std::int64_t i = 0; i < rows; ++i)
    if (result.row_to_col[i] >= 0) result.total += cost[i * cols + result.row_to_col[i]];
  return result;
}

Assignment linear_sum_assignment(const Tensor& cost, bool maximize) {
  CAKE_CHECK(cost.defined() && cost.dim() == 2, "linear_sum_assignment: expected a 2-D cost matrix, got ",
             cost.defined() ? shape_str(cost.sizes()) : "an undefined tensor");
  const Tensor c = native::contiguous(native::to_dtype(native::to_device(cost.detach(), kCPU), kFloat64));
  const double* p = c.data_ptr<double>();
  return linear_sum_assignment(std::vector<double>(p, p + c.numel()), c.size(0), c.size(1), maximize);
}

}  // namespace cake::metrics
