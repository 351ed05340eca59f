// sparse_codes.h: the sparse coders of one sample on a Gram matrix, shared by dictionary
// learning's sparse_encode (decomposition/dictionary_learning.h) and sparse subspace clustering
// (cluster/sparse_subspace.h), whose dictionary is the data itself and whose sample i may not use
// atom i (the `excluded` argument). Templates on float and double; internal to algorithms/.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cake/tensor/blas.h"

namespace cake::algorithms::detail {

// Batch-OMP (Rubinstein et al. 2008, Alg. 2) for one sample, given the Gram matrix G [k, k] and
// the correlations b = D x [k]. The chosen atoms' Gram block is factored as L L^T and grown by
// one row per atom: L's new row w solves L w = G[I, j], its diagonal is sqrt(G_jj - |w|^2).
// Stops early, as scikit-learn, when the best atom is already chosen or linearly dependent.
// Atom `excluded` (when >= 0) is never chosen.
template <class T>
void omp_code(const T* gram, const T* b, std::int64_t k, std::int64_t n_nonzero, T* code, std::vector<T>& lower,
              std::vector<std::int64_t>& active, std::vector<T>& gamma, std::vector<T>& residual_corr,
              std::int64_t excluded = -1) {
  const T tiny = std::numeric_limits<T>::epsilon();
  const std::int64_t s_max = n_nonzero;
  lower.assign(static_cast<std::size_t>(s_max * s_max), T(0));
  active.clear();
  residual_corr.assign(b, b + k);  // alpha = b - G[:, I] gamma
  gamma.clear();
  while (static_cast<std::int64_t>(active.size()) < s_max) {
    std::int64_t best = excluded == 0 ? 1 : 0;
    for (std::int64_t j = best + 1; j < k; ++j)
      if (j != excluded && std::abs(residual_corr[j]) > std::abs(residual_corr[best])) best = j;
    if (best >= k) break;  // a one-atom dictionary whose atom is excluded
    if (residual_corr[best] * residual_corr[best] < tiny ||
        std::find(active.begin(), active.end(), best) != active.end())
      break;
    const std::int64_t s = static_cast<std::int64_t>(active.size());
    T* row = lower.data() + s * s_max;
    if (s > 0) {
      for (std::int64_t p = 0; p < s; ++p) row[p] = gram[best * k + active[p]];
      for (std::int64_t p = 0; p < s; ++p) {  // forward substitution L w = G[I, best]
        T v = row[p];
        for (std::int64_t q = 0; q < p; ++q) v -= lower[p * s_max + q] * row[q];
        row[p] = v / lower[p * s_max + p];
      }
      T w2 = 0;
      for (std::int64_t p = 0; p < s; ++p) w2 += row[p] * row[p];
      const T pivot = gram[best * k + best] - w2;
      if (pivot <= tiny) break;  // the atom lies in the span of the chosen ones
      row[s] = std::sqrt(pivot);
    } else {
      row[0] = std::sqrt(gram[best * k + best]);
    }
    active.push_back(best);
    // gamma = (L L^T)^-1 b_I by two triangular solves.
    const std::int64_t m = s + 1;
    gamma.resize(static_cast<std::size_t>(m));
    for (std::int64_t p = 0; p < m; ++p) {
      T v = b[active[p]];
      for (std::int64_t q = 0; q < p; ++q) v -= lower[p * s_max + q] * gamma[q];
      gamma[p] = v / lower[p * s_max + p];
    }
    for (std::int64_t p = m - 1; p >= 0; --p) {
      T v = gamma[p];
      for (std::int64_t q = p + 1; q < m; ++q) v -= lower[q * s_max + p] * gamma[q];
      gamma[p] = v / lower[p * s_max + p];
    }
    for (std::int64_t j = 0; j < k; ++j) {
      T v = b[j];
      for (std::int64_t p = 0; p < m; ++p) v -= gram[j * k + active[p]] * gamma[p];
      residual_corr[j] = v;
    }
  }
  std::fill(code, code + k, T(0));
  for (std::size_t p = 0; p < active.size(); ++p) code[active[p]] = gamma[p];
}

// The lasso min_c 1/2 c^T G c - b^T c + alpha |c|_1 (+ c >= 0) by cyclic coordinate descent,
// keeping h = G c up to date so that each coordinate costs O(k). After a sweep whose largest
// change is below tol of the largest coefficient, the duality gap of
// 1/2 ||x - D^T c||^2 + alpha |c|_1 decides (as scikit-learn's enet_coordinate_descent_gram):
//   r = x - D^T c,  |r|^2 = |x|^2 - 2 b.c + c.h,  correlations D r = b - h,
//   s = min(1, alpha / |D r|_inf),  gap = (1 + s^2) |r|^2 / 2 + alpha |c|_1 - s r.x.
// Coordinate `excluded` (when >= 0) is held at 0 and left out of the gap's dual norm. With
// `active_set`, every full sweep is followed by sweeps over the nonzero coordinates alone until
// they settle (the "active set" strategy of Friedman, Hastie & Tibshirani 2010, section 2.6), so
// a full O(k) pass is made only to confirm or extend the support: far fewer passes over k atoms
// when the code is much sparser than the dictionary is long (sparse subspace clustering, where
// the dictionary is the whole data set). Every sweep, full or not, counts towards max_iter.
template <class T>
void lasso_code(const T* gram, const T* b, std::int64_t k, T alpha, bool positive, T x_norm2, std::int64_t max_iter,
                double tol, T* c, std::vector<T>& h, std::int64_t excluded = -1, bool active_set = false) {
  h.assign(static_cast<std::size_t>(k), T(0));
  for (std::int64_t j = 0; j < k; ++j)
    if (c[j] != 0) blas::axpy<T>(k, c[j], gram + j * k, h.data());
  // One coordinate's minimiser with the others fixed (a soft threshold), h = G c kept current.
  const auto update = [&](std::int64_t j, T& max_change, T& max_coef) {
    const T gjj = gram[j * k + j];
    if (gjj == 0 || j == excluded) return;
    const T old = c[j];
    const T rho = b[j] - (h[j] - gjj * old);  // the correlation with c_j left out
    T updated = 0;
    if (positive) {
      updated = std::max(rho - alpha, T(0)) / gjj;
    } else {
      updated = (rho > alpha ? rho - alpha : rho < -alpha ? rho + alpha : T(0)) / gjj;  // soft threshold
    }
    if (updated != old) blas::axpy<T>(k, updated - old, gram + j * k, h.data());
    c[j] = updated;
    max_change = std::max(max_change, std::abs(updated - old));
    max_coef = std::max(max_coef, std::abs(updated));
  };
  const auto duality_gap = [&] {
    double b_dot_c = 0, c_dot_h = 0, l1 = 0, dual = 0;
    for (std::int64_t j = 0; j < k; ++j) {
      b_dot_c += double(b[j]) * c[j];
      c_dot_h += double(c[j]) * h[j];
      l1 += std::abs(double(c[j]));
      if (j == excluded) continue;
      const double corr = double(b[j]) - h[j];
      dual = std::max(dual, positive ? corr : std::abs(corr));
    }
    const double r_norm2 = std::max(0.0, double(x_norm2) - 2 * b_dot_c + c_dot_h);
    const double scale = dual > alpha ? alpha / dual : 1.0;
    return 0.5 * r_norm2 * (1 + scale * scale) + alpha * l1 - scale * (double(x_norm2) - b_dot_c);
  };
  const double gap_tol = tol * static_cast<double>(x_norm2);
  std::vector<std::int64_t> active;
  for (std::int64_t it = 0; it < max_iter; ++it) {
    T max_change = 0, max_coef = 0;
    for (std::int64_t j = 0; j < k; ++j) update(j, max_change, max_coef);
    if ((max_coef == 0 || max_change / max_coef < tol || it == max_iter - 1) && duality_gap() <= gap_tol) break;
    if (!active_set) continue;
    active.clear();
    for (std::int64_t j = 0; j < k; ++j)
      if (c[j] != 0) active.push_back(j);
    // At most 100 sweeps of the support in a row: with a tolerance near the rounding of h, its
    // changes may never fall below tol, and only a full sweep can reach the gap test.
    for (std::int64_t sweep = 0; sweep < 100 && it + 1 < max_iter; ++sweep) {
      ++it;
      T change = 0, coef = 0;
      for (const std::int64_t j : active) update(j, change, coef);
      if (coef == 0 || change / coef < tol) break;
    }
  }
}

}  // namespace cake::algorithms::detail
