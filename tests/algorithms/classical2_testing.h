// classical2_testing.h: helpers shared by the tests of agglomerative, spectral, DBSCAN, NMF,
// FastICA and sparse coding: fixture vectors as tensors, label comparisons.
#pragma once

#include <algorithm>
#include <map>
#include <vector>

#include "fixtures/classical2_fixtures.h"
#include "helpers.h"

namespace cake::testing {

// A @ B by the textbook triple loop (float64), a reference independent of BLAS.
inline Tensor matmul_reference(const Tensor& a, const Tensor& b) {
  const std::vector<double> va = values(a), vb = values(b);
  const std::int64_t n = a.size(0), k = a.size(1), m = b.size(1);
  std::vector<double> out(static_cast<std::size_t>(n * m), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t t = 0; t < k; ++t)
      for (std::int64_t j = 0; j < m; ++j) out[i * m + j] += va[i * k + t] * vb[t * m + j];
  return tensor(out, {n, m}, kFloat64);
}

// True when a and b are the same partition: a one-to-one map sends every label of a to the
// label of b at the same position.
inline bool same_partition(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  if (a.size() != b.size()) return false;
  std::map<std::int64_t, std::int64_t> forward, backward;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto f = forward.emplace(a[i], b[i]).first;
    const auto g = backward.emplace(b[i], a[i]).first;
    if (f->second != b[i] || g->second != a[i]) return false;
  }
  return true;
}

// The fraction of samples whose label agrees with `truth` after the best one-to-one matching
// of labels (greedy on the contingency table; exact for the near-perfect clusterings tested).
inline double matched_accuracy(const std::vector<std::int64_t>& labels, const std::vector<std::int64_t>& truth) {
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> counts;
  for (std::size_t i = 0; i < labels.size(); ++i) ++counts[{labels[i], truth[i]}];
  std::vector<std::pair<std::int64_t, std::pair<std::int64_t, std::int64_t>>> cells;
  for (const auto& [key, c] : counts) cells.push_back({c, key});
  std::sort(cells.rbegin(), cells.rend());
  std::map<std::int64_t, bool> used_label, used_truth;
  std::int64_t correct = 0;
  for (const auto& [c, key] : cells) {
    if (used_label[key.first] || used_truth[key.second]) continue;
    used_label[key.first] = used_truth[key.second] = true;
    correct += c;
  }
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

}  // namespace cake::testing
