#include "cake/algorithms/decomposition/deep_semi_nmf.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "cake/algorithms/detail/common.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/parallel.h"

namespace cake::decomposition {

namespace detail = algorithms::detail;
using index_t = std::int64_t;

namespace {

// The pseudo-inverse of a symmetric positive semi-definite Gram matrix G = A^T A [k, k], float64:
// V diag(1 / w) V^T over the eigenvalues w above k eps times the largest (torch.linalg.pinv's
// cutoff for a Hermitian matrix), with eps that of the data's dtype, in which G was summed.
Tensor gram_pinv(const Tensor& gram, DType data_dtype) {
  auto [w, v] = linalg::eigh(gram.to(kFloat64));
  const index_t k = w.size(0);
  const double eps = data_dtype == kFloat32 ? std::numeric_limits<float>::epsilon()
                                            : std::numeric_limits<double>::epsilon();
  const Tensor wc = w.contiguous();
  const double* pw = wc.data_ptr<double>();
  const double cutoff = static_cast<double>(k) * eps * std::max(pw[k - 1], 0.0);  // eigh sorts ascending
  Tensor inverse_w = zeros({k}, kFloat64);
  double* pi = inverse_w.data_ptr<double>();
  for (index_t j = 0; j < k; ++j) pi[j] = pw[j] > cutoff && pw[j] > 0 ? 1.0 / pw[j] : 0.0;
  return matmul(v * inverse_w, v.t());
}

Tensor gram64(const Tensor& a) { return matmul(a.t(), a).to(kFloat64); }

// ||y||_F^2 in float64, without a float64 copy of y.
double squared_norm(const Tensor& y) {
  const Tensor c = y.contiguous();
  return visit_floating(c.dtype(), "DeepSemiNMF", [&]<class T>() {
    const T* p = c.data_ptr<T>();
    double total = 0;
    for (index_t i = 0; i < c.numel(); ++i) total += static_cast<double>(p[i]) * p[i];
    return total;
  });
}

// Ding's multiplicative rule (Ding, Li & Jordan 2010, the update of G in their Semi-NMF) for the
// codes H [n, k] >= 0 of Y ~ H Psi^T, given A = Y Psi [n, k] and B = Psi^T Psi [k, k]:
//   H <- H . sqrt( (A^pos + H B^neg) / (A^neg + H B^pos) ).
// The two small products run as GEMMs, then one fused pass. A zero code stays zero (the rule
// multiplies it); for a positive one the denominator is at least h_ik |psi_k|^2 > 0, floored
// against a basis vector of zeros.
template <class T>
void ding_update(Tensor& h, const Tensor& a, const Tensor& b) {
  const Tensor b_pos = clamp(b, 0.0, std::nullopt).to(h.dtype());
  const Tensor b_neg = clamp(-b, 0.0, std::nullopt).to(h.dtype());
  const Tensor h_b_pos = matmul(h, b_pos).contiguous();
  const Tensor h_b_neg = matmul(h, b_neg).contiguous();
  const Tensor ac = a.contiguous();
  T* ph = h.data_ptr<T>();
  const T* pa = ac.data_ptr<T>();
  const T* pp = h_b_pos.data_ptr<T>();
  const T* pn = h_b_neg.data_ptr<T>();
  constexpr T floor = std::numeric_limits<T>::min() * T(1e6);
  parallel_for(0, h.numel(), 16384, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      if (ph[i] == T(0)) continue;
      const T a_pos = std::max(pa[i], T(0)), a_neg = std::max(-pa[i], T(0));
      ph[i] *= std::sqrt((a_pos + pn[i]) / std::max(a_neg + pp[i], floor));
    }
  });
}

void ding_step(Tensor& h, const Tensor& a, const Tensor& b) {
  visit_floating(h.dtype(), "DeepSemiNMF", [&]<class T>() { ding_update<T>(h, a, b); });
}

// ||Y - H Psi^T||_F^2 = ||Y||^2 - 2 <H, Y Psi> + <H^T H, Psi^T Psi>, from the products the
// update already has (a = Y Psi, b = Psi^T Psi); clamped at 0 against rounding.
double squared_loss(double y_squared, const Tensor& h, const Tensor& a, const Tensor& b) {
  const double cross = sum(h.to(kFloat64) * a.to(kFloat64)).item<double>();
  const double quadratic = sum(gram64(h) * b).item<double>();
  return std::max(y_squared - 2.0 * cross + quadratic, 0.0);
}

// A sweep from `before` to `after` gained less than tol of the loss. The first sweep of a stage
// (before = infinity) never counts: infinity <= tol * infinity would stop every stage at once.
bool converged(double before, double after, double tol) {
  if (!std::isfinite(before)) return false;
  return before - after <= tol * std::max(before, std::numeric_limits<double>::min());
}

// Small codes (zeros in particular) would stay where multiplicative updates put them: a zero
// code stays zero for ever. Ding et al. add 0.2 to their k-means indicator start for this; here
// every code is lifted by 1% of the mean code, which the first least-squares step of Z absorbs.
void lift_codes(Tensor& h) {
  const double offset = 0.01 * mean(h).item<double>();
  h = h + (offset > 0 ? offset : 1e-3);
}

// The non-negative least-squares code of every row, min_h |y - Psi h|^2 over h >= 0, by exact
// coordinate descent on the Gram form (a = Psi^T y per row, B = Psi^T Psi), as scikit-learn's
// NMF.transform solves its codes (Hsieh & Dhillon 2011):
//   h_k <- max(0, h_k + (a_k - (B h)_k) / B_kk),
// sweeping each row until no coordinate moves by more than tol of the row's largest code, or
// max_sweeps. All float64: a [n, k], b [k, k], h [n, k] (the start, overwritten).
void nonnegative_least_squares(Tensor& h, const Tensor& a, const Tensor& b, index_t max_sweeps, double tol) {
  const index_t n = h.size(0), k = h.size(1);
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  const double* pa = ac.data_ptr<double>();
  const double* pb = bc.data_ptr<double>();
  double* ph = h.data_ptr<double>();
  parallel_for(0, n, 64, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      double* row = ph + i * k;
      const double* target = pa + i * k;
      for (index_t sweep = 0; sweep < max_sweeps; ++sweep) {
        double largest_step = 0, largest_code = 0;
        for (index_t c = 0; c < k; ++c) {
          if (pb[c * k + c] <= 0) continue;  // a zero basis vector: its code does not matter
          double gradient = -target[c];
          for (index_t j = 0; j < k; ++j) gradient += pb[c * k + j] * row[j];
          const double updated = std::max(0.0, row[c] - gradient / pb[c * k + c]);
          largest_step = std::max(largest_step, std::abs(updated - row[c]));
          row[c] = updated;
          largest_code = std::max(largest_code, updated);
        }
        if (largest_step <= tol * largest_code) break;
      }
    }
  });
}

}  // namespace

// ---- Step 1: Semi-NMF of one layer --------------------------------------------------------------

std::pair<Tensor, Tensor> semi_nmf_svd_init(const Tensor& input, std::int64_t k,
                                            std::optional<std::uint64_t> random_state) {
  const Tensor y = detail::data_matrix(input, "semi_nmf_svd_init");
  const index_t n = y.size(0), d = y.size(1);
  CAKE_CHECK(k >= 2 && k - 1 <= std::min(n, d), "semi_nmf_svd_init: k must be in [2, min(n, d) + 1] = [2, ",
             std::min(n, d) + 1, "] for data ", y.shape(), ", got ", k);
  detail::SeedScope seed(random_state);
  auto [u, s, vh] = linalg::randomized_svd(y, k - 1, {.normalizer = "QR"});
  // y ~ U S Vh: the codes B = U^T [k-1, n] (the papers' orientation, one row per component) and
  // the bases A = Vh^T S [d, k-1]. Each component's sign is chosen so that its codes lean
  // positive (its most negative code is smaller in size than its most positive one).
  Tensor codes = u.to(kFloat64).t().contiguous();   // [k-1, n]
  Tensor bases = (vh.t() * s).to(kFloat64).contiguous();  // [d, k-1]
  double* pc = codes.data_ptr<double>();
  double* pb = bases.data_ptr<double>();
  for (index_t j = 0; j < k - 1; ++j) {
    double* row = pc + j * n;
    const auto [lo, hi] = std::minmax_element(row, row + n);
    if (-*lo > *hi) {
      for (index_t i = 0; i < n; ++i) row[i] = -row[i];
      for (index_t f = 0; f < d; ++f) pb[f * (k - 1) + j] = -pb[f * (k - 1) + j];
    }
  }
  // Append a component with basis -sum_j a_j and code 0, then shift every code of sample i up by
  // c_i = max(0, -min_j B_ji): the product is unchanged (the shifts cancel against the new
  // basis), and every code is now >= 0.
  Tensor z = zeros({d, k}, kFloat64), h = zeros({n, k}, kFloat64);
  double* pz = z.data_ptr<double>();
  double* ph = h.data_ptr<double>();
  for (index_t f = 0; f < d; ++f) {
    double total = 0;
    for (index_t j = 0; j < k - 1; ++j) total += (pz[f * k + j] = pb[f * (k - 1) + j]);
    pz[f * k + k - 1] = -total;
  }
  for (index_t i = 0; i < n; ++i) {
    double lowest = 0;
    for (index_t j = 0; j < k - 1; ++j) lowest = std::min(lowest, pc[j * n + i]);
    for (index_t j = 0; j < k - 1; ++j) ph[i * k + j] = pc[j * n + i] - lowest;
    ph[i * k + k - 1] = -lowest;
  }
  return {z.to(y.dtype()), h.to(y.dtype())};
}

namespace {

// Semi-NMF sweeps on y ~ h z^T from the given start: z by least squares, h by Ding's rule.
// Reports each sweep's number and loss to `on_sweep` (when given).
void semi_nmf_sweeps(const Tensor& y, Tensor& z, Tensor& h, std::int64_t sweeps, double tol,
                     const std::function<void(std::int64_t, double)>& on_sweep) {
  const double y_squared = squared_norm(y);
  double previous = std::numeric_limits<double>::infinity();
  for (index_t sweep = 0; sweep < sweeps; ++sweep) {
    z = matmul(matmul(y.t(), h).to(kFloat64), gram_pinv(gram64(h), y.dtype())).to(y.dtype());
    const Tensor a = matmul(y, z);
    const Tensor b = gram64(z);
    ding_step(h, a, b);
    const double loss = squared_loss(y_squared, h, a, b);
    if (on_sweep) on_sweep(sweep + 1, std::sqrt(loss));
    if (converged(previous, loss, tol)) break;
    previous = loss;
  }
}

void check_layers(const std::vector<std::int64_t>& layers, index_t n, index_t f, const char* who) {
  CAKE_CHECK(!layers.empty(), who, ": layers must name at least one layer size");
  index_t below = f;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    CAKE_CHECK(layers[i] >= 2 && layers[i] - 1 <= std::min(n, below), who, ": layer ", i + 1, " has ", layers[i],
               " components; it must have at least 2 and at most min(samples, size below) + 1 = ",
               std::min(n, below) + 1, " (data of ", n, " samples, ", f, " features)");
    below = layers[i];
  }
}

}  // namespace

std::pair<Tensor, Tensor> semi_nmf(const Tensor& input, std::int64_t k, std::int64_t sweeps, double tol,
                                   std::optional<std::uint64_t> random_state) {
  const Tensor y = detail::data_matrix(input, "semi_nmf");
  CAKE_CHECK(sweeps >= 0 && tol >= 0, "semi_nmf: sweeps and tol must be >= 0, got ", sweeps, " and ", tol);
  auto [z, h] = semi_nmf_svd_init(y, k, random_state);
  lift_codes(h);
  semi_nmf_sweeps(y, z, h, sweeps, tol, {});
  return {z, h};
}

// ---- DeepSemiNMF ----------------------------------------------------------------------------------

DeepSemiNMF::DeepSemiNMF(DeepSemiNMFOptions options) : options_(std::move(options)) {
  CAKE_CHECK(!options_.layers.empty(), "DeepSemiNMF: layers must name at least one layer size");
  CAKE_CHECK(options_.pretrain_iter >= 0 && options_.max_iter >= 0 && options_.tol >= 0,
             "DeepSemiNMF: pretrain_iter, max_iter and tol must be >= 0, got ", options_.pretrain_iter, ", ",
             options_.max_iter, " and ", options_.tol);
}

Tensor DeepSemiNMF::fit_transform(const Tensor& input) {
  const Tensor x = detail::data_matrix(input, "DeepSemiNMF.fit");
  const index_t n = x.size(0), f = x.size(1), m = n_layers();
  check_layers(options_.layers, n, f, "DeepSemiNMF.fit");
  weights_.assign(m, Tensor());
  features_.assign(m, Tensor());
  loss_history_.clear();

  // Step 1: greedy Semi-NMF, layer by layer, each factorising the codes of the one below.
  Tensor below = x;
  for (index_t i = 0; i < m; ++i) {
    const std::optional<std::uint64_t> layer_seed =
        options_.random_state ? std::optional<std::uint64_t>(*options_.random_state + static_cast<std::uint64_t>(i))
                              : std::nullopt;
    auto [z, h] = semi_nmf_svd_init(below, options_.layers[i], layer_seed);
    lift_codes(h);
    std::function<void(std::int64_t, double)> report;
    if (options_.on_sweep) report = [&](std::int64_t sweep, double loss) { options_.on_sweep(i, sweep, loss); };
    semi_nmf_sweeps(below, z, h, options_.pretrain_iter, options_.tol, report);
    weights_[i] = z;
    features_[i] = h;
    below = h;
  }

  // Step 2: fine-tuning sweeps over all layers against X itself.
  const double x_squared = squared_norm(x);
  {
    const Tensor psi = basis();
    loss_history_.push_back(std::sqrt(squared_loss(x_squared, features_[m - 1], matmul(x, psi), gram64(psi))));
  }
  n_iter_ = 0;
  for (index_t sweep = 0; sweep < options_.max_iter; ++sweep) {
    // Htilde_i = W_i H_m with W_i = Z_{i+1} ... Z_m has rank k_m < k_i below the top, so its own
    // Gram matrix is singular; its pseudo-inverse is taken through the factors instead,
    // Htilde_i^+ = H_m^+ W_i^+ (W_i [k_i, k_m] has full column rank, H_m [k_m, n] full row rank), so
    // X^T Htilde_i^+ = [X^T H (H^T H)^+] (W_i^T W_i)^+ W_i^T with Cake's H = H_m^T [n, k_m].
    const Tensor& top = features_[m - 1];
    const Tensor x_top = matmul(matmul(x.t(), top).to(kFloat64), gram_pinv(gram64(top), x.dtype()));  // [f, k_m]
    Tensor psi;  // Z_1 ... Z_{i-1}, [f, k_{i-1}]; the identity before the first layer
    double loss = 0;
    for (index_t i = 0; i < m; ++i) {
      // Z_i <- Psi^+ X^T Htilde_i^+, with Psi^+ = (Psi^T Psi)^+ Psi^T.
      Tensor projected = x_top;  // becomes X^T Htilde_i^+, [f, k_i]
      if (i < m - 1) {
        Tensor w = weights_[i + 1].to(kFloat64);  // W_i = Z_{i+1} ... Z_m, [k_i, k_m]
        for (index_t j = i + 2; j < m; ++j) w = matmul(w, weights_[j].to(kFloat64));
        projected = matmul(matmul(projected, gram_pinv(matmul(w.t(), w), x.dtype())), w.t());
      }
      if (i > 0) projected = matmul(gram_pinv(gram64(psi), x.dtype()), matmul(psi.t().to(kFloat64), projected));
      weights_[i] = projected.to(x.dtype());
      psi = i == 0 ? weights_[0] : matmul(psi, weights_[i]);
      // H_i by Ding's rule against X with the bases Psi' = Z_1 ... Z_i.
      const Tensor a = matmul(x, psi);
      const Tensor b = gram64(psi);
      ding_step(features_[i], a, b);
      if (i == m - 1) loss = squared_loss(x_squared, features_[i], a, b);
    }
    ++n_iter_;
    const double previous = loss_history_.back() * loss_history_.back();
    loss_history_.push_back(std::sqrt(loss));
    if (options_.on_sweep) options_.on_sweep(m, n_iter_, loss_history_.back());
    if (converged(previous, loss, options_.tol)) break;
  }
  reconstruction_err_ = loss_history_.back();
  return features_[m - 1];
}

DeepSemiNMF& DeepSemiNMF::fit(const Tensor& x) {
  fit_transform(x);
  return *this;
}

void DeepSemiNMF::check_fitted(const char* who) const {
  CAKE_CHECK(!features_.empty() && features_.back().defined(), who, ": the model is not fitted; call fit first");
}

Tensor DeepSemiNMF::basis() const {
  check_fitted("DeepSemiNMF.basis");
  Tensor psi = weights_[0];
  for (std::size_t i = 1; i < weights_.size(); ++i) psi = matmul(psi, weights_[i]);
  return psi;
}

Tensor DeepSemiNMF::transform(const Tensor& input) const {
  check_fitted("DeepSemiNMF.transform");
  const Tensor psi = basis();
  const Tensor x = detail::data_matrix(input, "DeepSemiNMF.transform", 1, psi.size(0)).to(psi.dtype());
  const Tensor a = matmul(x, psi).to(kFloat64);
  const Tensor b = gram64(psi);
  // From the clipped least-squares code x Psi (Psi^T Psi)^+ to the non-negative optimum.
  Tensor h = clamp(matmul(a, gram_pinv(b, psi.dtype())), 0.0, std::nullopt).contiguous();
  nonnegative_least_squares(h, a, b, std::max<index_t>(options_.max_iter, 1) * 10, 1e-10);
  return h.to(psi.dtype());
}

Tensor DeepSemiNMF::inverse_transform(const Tensor& h) const {
  check_fitted("DeepSemiNMF.inverse_transform");
  const Tensor psi = basis();
  CAKE_CHECK(h.dim() == 2 && h.size(1) == psi.size(1), "DeepSemiNMF.inverse_transform: codes must be [n, ",
             psi.size(1), "], got ", h.shape());
  return matmul(h.to(psi.dtype()), psi.t());
}

const Tensor& DeepSemiNMF::features(std::int64_t layer) const {
  check_fitted("DeepSemiNMF.features");
  CAKE_CHECK(layer >= 0 && layer < n_layers(), "DeepSemiNMF.features: layer ", layer, " is not in [0, ", n_layers(), ")");
  return features_[layer];
}

const Tensor& DeepSemiNMF::weights(std::int64_t layer) const {
  check_fitted("DeepSemiNMF.weights");
  CAKE_CHECK(layer >= 0 && layer < n_layers(), "DeepSemiNMF.weights: layer ", layer, " is not in [0, ", n_layers(), ")");
  return weights_[layer];
}

}  // namespace cake::decomposition
