// NMF: an exactly low-rank non-negative matrix is recovered; the reconstruction error matches
// scikit-learn's for both solvers and the NNDSVD initialisations; both solvers never increase
// the loss; transform / inverse_transform; float32; errors.
#include "cake/algorithms/decomposition/nmf.h"
#include "algorithms/classical2_testing.h"

using namespace cake;
using namespace cake::algorithms;
using namespace cake::testing;
namespace fx2 = classical2_fixtures;

namespace {
double frobenius(const Tensor& t) { return std::sqrt(t.to(kFloat64).square().sum().item<double>()); }
}  // namespace

TEST_CASE("nmf: an exact rank-4 non-negative factorisation is recovered") {
  const Tensor x = matrix(fx2::nmf_exact_X, 30);
  for (NMFSolver solver : {NMFSolver::CoordinateDescent, NMFSolver::MultiplicativeUpdate}) {
    NMF nmf({.n_components = 4, .solver = solver, .tol = 0.0, .max_iter = 2000});
    const Tensor w = nmf.fit_transform(x);
    const double relative = nmf.reconstruction_err() / frobenius(x);
    CAPTURE(static_cast<int>(solver));
    // Non-unique factors make the last digits slow; both solvers follow scikit-learn's path.
    CHECK(relative < (solver == NMFSolver::CoordinateDescent ? 5e-4 : 1e-2));
    const double sklearn = solver == NMFSolver::CoordinateDescent ? fx2::nmf_exact_cd_err : fx2::nmf_exact_mu_err;
    CHECK(nmf.reconstruction_err() == doctest::Approx(sklearn).epsilon(1e-3));
    CHECK(w.min().item<double>() >= 0.0);
    CHECK(nmf.components().min().item<double>() >= 0.0);
    // reconstruction_err() is ||X - W H||_F of the returned factors.
    CHECK(frobenius(x - nmf.inverse_transform(w)) == doctest::Approx(nmf.reconstruction_err()).epsilon(1e-9));
  }
}

TEST_CASE("nmf: reconstruction error agrees with scikit-learn 1.2") {
  const Tensor x = matrix(fx2::nmf_X, 25);
  struct Case {
    NMFSolver solver;
    NMFInit init;
    double sklearn_err;
  };
  const Case cases[] = {{NMFSolver::CoordinateDescent, NMFInit::NNDSVD, fx2::nmf_cd_nndsvd_err},
                        {NMFSolver::CoordinateDescent, NMFInit::NNDSVDA, fx2::nmf_cd_nndsvda_err},
                        {NMFSolver::CoordinateDescent, NMFInit::NNDSVDAR, fx2::nmf_cd_nndsvdar_err},
                        {NMFSolver::MultiplicativeUpdate, NMFInit::NNDSVDA, fx2::nmf_mu_nndsvda_err},
                        {NMFSolver::MultiplicativeUpdate, NMFInit::NNDSVDAR, fx2::nmf_mu_nndsvdar_err}};
  for (const Case& c : cases) {
    CAPTURE(static_cast<int>(c.solver));
    CAPTURE(static_cast<int>(c.init));
    NMF nmf({.n_components = 5, .init = c.init, .solver = c.solver, .tol = 1e-5, .max_iter = 400, .random_state = 0});
    nmf.fit(x);
    // Same algorithm from (nearly) the same start: within 0.5%, and never much worse.
    CHECK(nmf.reconstruction_err() == doctest::Approx(c.sklearn_err).epsilon(5e-3));
  }
  NMF penalised({.n_components = 5, .init = NMFInit::NNDSVDA, .tol = 1e-5, .max_iter = 400, .alpha_W = 0.01,
                 .l1_ratio = 0.5});
  const Tensor w = penalised.fit_transform(x);
  CHECK(penalised.reconstruction_err() == doctest::Approx(fx2::nmf_cd_penalised_err).epsilon(5e-3));
  CHECK(penalised.components().abs().sum().item<double>() == doctest::Approx(fx2::nmf_cd_penalised_l1_H).epsilon(2e-2));
}

TEST_CASE("nmf: each iteration of either solver lowers the loss") {
  const Tensor x = matrix(fx2::nmf_X, 25);
  for (NMFSolver solver : {NMFSolver::CoordinateDescent, NMFSolver::MultiplicativeUpdate}) {
    double previous = 1e300;
    for (std::int64_t it = 1; it <= 12; ++it) {
      NMF nmf({.n_components = 5, .init = NMFInit::NNDSVDA, .solver = solver, .tol = 0.0, .max_iter = it});
      nmf.fit(x);
      CHECK(nmf.reconstruction_err() <= previous * (1 + 1e-12));
      previous = nmf.reconstruction_err();
    }
  }
}

TEST_CASE("nmf: transform with H fixed, float32, same seed same result") {
  const Tensor x = matrix(fx2::nmf_X, 25);
  NMF nmf({.n_components = 5, .tol = 1e-6, .max_iter = 500});
  const Tensor w = nmf.fit_transform(x);
  const Tensor w2 = nmf.transform(x);
  // With H fixed the W-problem is convex: transform finds a W at least as good as the fit's.
  CHECK(frobenius(x - nmf.inverse_transform(w2)) <= nmf.reconstruction_err() * (1 + 1e-4));
  check_close(w2, w, 1e-2, 1e-2);

  NMF single({.n_components = 5, .max_iter = 400, .random_state = 0});
  single.fit(matrix(fx2::nmf_X, 25, kFloat32));
  CHECK(single.components().dtype() == kFloat32);
  CHECK(single.reconstruction_err() == doctest::Approx(fx2::nmf_cd_nndsvda_err).epsilon(1e-2));

  NMF random_a({.n_components = 5, .init = NMFInit::Random, .random_state = 3});
  NMF random_b({.n_components = 5, .init = NMFInit::Random, .random_state = 3});
  CHECK(equal(random_a.fit_transform(x), random_b.fit_transform(x)));
  CHECK(random_a.reconstruction_err() < 1.05 * fx2::nmf_cd_nndsvda_err);
}

TEST_CASE("nmf: initialisations are non-negative and scaled like X") {
  const Tensor x = matrix(fx2::nmf_X, 25);
  for (NMFInit init : {NMFInit::NNDSVD, NMFInit::NNDSVDA, NMFInit::NNDSVDAR, NMFInit::Random}) {
    auto [w, h] = nmf_initialize(x, 5, init, 0);
    CHECK(w.sizes() == Shape{80, 5});
    CHECK(h.sizes() == Shape{5, 25});
    CHECK(w.min().item<double>() >= 0.0);
    CHECK(h.min().item<double>() >= 0.0);
    const double relative = frobenius(x - matmul_reference(w, h)) / frobenius(x);
    // NNDSVDA fills zeros with mean(X), which overshoots before the first iteration (as in
    // scikit-learn, relative error 1.66 here); the others start closer.
    CHECK(relative < (init == NMFInit::NNDSVDA ? 2.0 : 0.8));
  }
  // The randomized SVD reproduces the exact top singular values of a generic matrix.
  auto [u, s, vh] = randomized_svd(x, 5);
  CHECK(u.sizes() == Shape{80, 5});
  CHECK(vh.sizes() == Shape{5, 25});
  CHECK(s[0].item<double>() > s[4].item<double>());
}

TEST_CASE("nmf: errors") {
  CHECK_THROWS_AS(NMF({.n_components = -1}), Error);
  CHECK_THROWS_AS(NMF({.l1_ratio = 2.0}), Error);
  CHECK_THROWS_AS(NMF().fit(tensor({1.0, -1.0, 2.0, 3.0}, {2, 2}, kFloat64)), Error);
  CHECK_THROWS_AS(NMF({.n_components = 3, .init = NMFInit::NNDSVD}).fit(ones({2, 2}, kFloat64)), Error);
  CHECK_THROWS_AS(NMF().components(), Error);
  CHECK_THROWS_AS(parse_nmf_solver("lbfgs"), Error);
  NMF fitted({.n_components = 2});
  fitted.fit(ones({4, 3}, kFloat64) + 0.1);
  CHECK_THROWS_AS(fitted.transform(ones({4, 5}, kFloat64)), Error);
}
