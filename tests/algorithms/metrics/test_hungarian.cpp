// Tests for algorithms/metrics/hungarian.h: known matrices (square, rectangular both ways, maximise),
// and the O(n^3) solver against brute force over every assignment on random small matrices.
#include <algorithm>
#include <numeric>
#include <random>

#include "cake/algorithms/metrics/hungarian.h"
#include "helpers.h"

using namespace cake;
using cake::algorithms::linear_sum_assignment;

namespace {

// The naive reference: try every injective map of the smaller side into the larger one.
double brute_force_best(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols, bool maximize) {
  const bool transpose = rows > cols;
  const std::int64_t small = transpose ? cols : rows, large = transpose ? rows : cols;
  auto at = [&](std::int64_t s, std::int64_t l) { return transpose ? cost[l * cols + s] : cost[s * cols + l]; };
  std::vector<std::int64_t> perm(static_cast<std::size_t>(large));
  std::iota(perm.begin(), perm.end(), 0);
  double best = maximize ? -1e300 : 1e300;
  do {  // the first `small` entries of each permutation are a candidate map
    double total = 0;
    for (std::int64_t s = 0; s < small; ++s) total += at(s, perm[s]);
    best = maximize ? std::max(best, total) : std::min(best, total);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

void check_valid(const cake::algorithms::Assignment& a, std::int64_t rows, std::int64_t cols) {
  REQUIRE(static_cast<std::int64_t>(a.row_to_col.size()) == rows);
  std::vector<int> used(static_cast<std::size_t>(cols), 0);
  std::int64_t assigned = 0;
  for (std::int64_t c : a.row_to_col) {
    if (c < 0) continue;
    REQUIRE(c < cols);
    CHECK(used[c]++ == 0);  // each column at most once
    ++assigned;
  }
  CHECK(assigned == std::min(rows, cols));  // as many pairs as possible
}

}  // namespace

TEST_CASE("hungarian: the square example of scipy's documentation") {
  const auto a = linear_sum_assignment({4, 1, 3, 2, 0, 5, 3, 2, 2}, 3, 3);
  CHECK(a.row_to_col == std::vector<std::int64_t>{1, 0, 2});
  CHECK(a.total == 5.0);
  const auto m = linear_sum_assignment({4, 1, 3, 2, 0, 5, 3, 2, 2}, 3, 3, /*maximize=*/true);
  CHECK(m.total == 11.0);  // 4 + 5 + 2
  CHECK(m.row_to_col == std::vector<std::int64_t>{0, 2, 1});
}

TEST_CASE("hungarian: rectangular matrices, wide and tall") {
  // Wide: every row gets a column, two columns stay free.
  const std::vector<double> wide = {10, 1, 7, 3, 4, 9, 2, 8};
  const auto w = linear_sum_assignment(wide, 2, 4);
  CHECK(w.row_to_col == std::vector<std::int64_t>{1, 2});
  CHECK(w.total == 3.0);
  // Tall (its transpose): every column gets a row, rows 0 and 3 get none.
  const std::vector<double> tall = {10, 4, 1, 9, 7, 2, 3, 8};
  const auto t = linear_sum_assignment(tall, 4, 2);
  CHECK(t.row_to_col == std::vector<std::int64_t>{-1, 0, 1, -1});
  CHECK(t.total == 3.0);
  // Negative costs and a single row.
  const auto one = linear_sum_assignment({-1, -5, -3}, 1, 3);
  CHECK(one.row_to_col == std::vector<std::int64_t>{1});
  CHECK(linear_sum_assignment(std::vector<double>{}, 0, 3).row_to_col.empty());
  CHECK(linear_sum_assignment(std::vector<double>{}, 2, 0).row_to_col == std::vector<std::int64_t>{-1, -1});
}

TEST_CASE("hungarian: optimal against brute force on random matrices with ties") {
  std::mt19937 gen(7);
  for (int trial = 0; trial < 300; ++trial) {
    const std::int64_t rows = 1 + gen() % 6, cols = 1 + gen() % 6;
    std::vector<double> cost(static_cast<std::size_t>(rows * cols));
    // Small integers make ties common; occasionally real values.
    for (double& c : cost) c = trial % 3 == 0 ? std::uniform_real_distribution<double>(-5, 5)(gen) : double(gen() % 5);
    const bool maximize = trial % 2 == 1;
    const auto a = linear_sum_assignment(cost, rows, cols, maximize);
    check_valid(a, rows, cols);
    double recomputed = 0;
    for (std::int64_t r = 0; r < rows; ++r)
      if (a.row_to_col[r] >= 0) recomputed += cost[r * cols + a.row_to_col[r]];
    CHECK(recomputed == doctest::Approx(a.total));
    CHECK(a.total == doctest::Approx(brute_force_best(cost, rows, cols, maximize)));
  }
}

TEST_CASE("hungarian: a permutation matrix is recovered at size 200") {
  // cost 0 on a hidden permutation, 1 elsewhere: the optimum is exactly that permutation.
  const std::int64_t n = 200;
  std::vector<std::int64_t> hidden(n);
  std::iota(hidden.begin(), hidden.end(), 0);
  std::shuffle(hidden.begin(), hidden.end(), std::mt19937(3));
  std::vector<double> cost(static_cast<std::size_t>(n * n), 1.0);
  for (std::int64_t r = 0; r < n; ++r) cost[r * n + hidden[r]] = 0.0;
  const auto a = linear_sum_assignment(cost, n, n);
  CHECK(a.row_to_col == hidden);
  CHECK(a.total == 0.0);
}

TEST_CASE("hungarian: tensor input and errors") {
  const auto a = linear_sum_assignment(tensor({4, 1, 3, 2, 0, 5, 3, 2, 2}, {3, 3}, kInt64));
  CHECK(a.row_to_col == std::vector<std::int64_t>{1, 0, 2});
  CHECK_THROWS_AS(linear_sum_assignment(tensor({1.0, 2.0})), Error);                 // not 2-D
  CHECK_THROWS_AS(linear_sum_assignment(std::vector<double>{1, 2, 3}, 2, 2), Error);  // wrong count
  CHECK_THROWS_AS(linear_sum_assignment(std::vector<double>{1, NAN, 3, 4}, 2, 2), Error);
  CHECK_THROWS_AS(linear_sum_assignment(std::vector<double>{1, INFINITY, 3, 4}, 2, 2), Error);
}
