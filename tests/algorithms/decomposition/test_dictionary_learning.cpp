// Sparse coding and dictionary learning: OMP recovers a known 3-sparse code exactly and equals
// scikit-learn's OMP on noisy data; lasso_cd satisfies the lasso optimality conditions and
// agrees with scikit-learn; threshold is the soft threshold of D x; dictionary learning follows
// scikit-learn's cost curve from the same SVD start.
#include "cake/algorithms/decomposition/dictionary_learning.h"
#include "algorithms/classical2_testing.h"

using namespace cake;
using namespace cake::algorithms;
using namespace cake::testing;
namespace fx2 = classical2_fixtures;

TEST_CASE("sparse coding: OMP recovers a known 3-sparse code") {
  const Tensor dict = matrix(fx2::sc_dictionary, 30);
  SparseCoder coder(dict, {.transform_n_nonzero_coefs = 3});
  const Tensor code = coder.transform(matrix(fx2::sc_X, 30));
  check_close(code, matrix(fx2::sc_code, 40), 1e-9, 1e-9);
  // float32 data recovers the same support.
  const Tensor code32 = SparseCoder(dict.to(kFloat32), {.transform_n_nonzero_coefs = 3})
                            .transform(matrix(fx2::sc_X, 30, kFloat32));
  check_close(code32, matrix(fx2::sc_code, 40), 1e-4, 1e-4);
}

TEST_CASE("sparse coding: OMP, lasso_cd and threshold agree with scikit-learn") {
  const Tensor dict = matrix(fx2::sc_dictionary, 30);
  const Tensor x = matrix(fx2::sc_noisy_X, 30);
  check_close(sparse_encode(x, dict, SparseCodingAlgorithm::OMP, 5), matrix(fx2::sc_omp_code, 40), 1e-9, 1e-9);
  // scikit-learn stops its lasso at a duality gap of 1e-4 |x|^2; ours is run tighter here.
  check_close(sparse_encode(x, dict, SparseCodingAlgorithm::LassoCD, std::nullopt, 0.3, 5000, false, {}, 1e-12),
              matrix(fx2::sc_lasso_code, 40), 1e-3, 2e-3);
  check_close(sparse_encode(x, dict, SparseCodingAlgorithm::LassoCD, std::nullopt, 0.3, 5000, true, {}, 1e-12),
              matrix(fx2::sc_lasso_positive_code, 40), 1e-3, 2e-3);
  check_close(sparse_encode(x, dict, SparseCodingAlgorithm::Threshold, std::nullopt, 0.5),
              matrix(fx2::sc_threshold_code, 40), 1e-12, 1e-12);
}

TEST_CASE("sparse coding: the lasso solution satisfies its optimality (KKT) conditions") {
  // For min 1/2 |x - D^T c|^2 + a |c|_1: g = D (x - D^T c) has g_j = a sign(c_j) where c_j != 0
  // and |g_j| <= a where c_j = 0.
  const Tensor dict = matrix(fx2::sc_dictionary, 30);
  const Tensor x = matrix(fx2::sc_noisy_X, 30);
  const double a = 0.3;
  const Tensor code = sparse_encode(x, dict, SparseCodingAlgorithm::LassoCD, std::nullopt, a, 10000, false, {}, 1e-14);
  const Tensor residual = x - matmul_reference(code, dict);
  const Tensor g = matmul_reference(residual, dict.t().contiguous());
  const auto vc = values(code), vg = values(g);
  int nonzero = 0;
  for (std::size_t i = 0; i < vc.size(); ++i) {
    if (vc[i] != 0) {
      ++nonzero;
      CHECK(vg[i] == doctest::Approx(vc[i] > 0 ? a : -a).epsilon(1e-5));
    } else {
      CHECK(std::abs(vg[i]) <= a * (1 + 1e-6));
    }
  }
  CHECK(nonzero > 25);
  // A warm start from the answer stays there.
  const Tensor again = sparse_encode(x, dict, SparseCodingAlgorithm::LassoCD, std::nullopt, a, 10, false, code, 1e-14);
  check_close(again, code, 1e-7, 1e-9);
}

TEST_CASE("sparse coding: split_sign, positive codes and errors") {
  const Tensor dict = matrix(fx2::sc_dictionary, 30);
  const Tensor x = matrix(fx2::sc_noisy_X, 30);
  SparseCoder split(dict, {.transform_algorithm = SparseCodingAlgorithm::Threshold, .transform_alpha = 0.5,
                           .split_sign = true});
  const Tensor both = split.transform(x);
  CHECK(both.sizes() == Shape{25, 80});
  check_close(both.narrow(1, 0, 40) - both.narrow(1, 40, 40), matrix(fx2::sc_threshold_code, 40), 1e-12, 1e-12);
  CHECK(both.min().item<double>() >= 0.0);
  CHECK_THROWS_AS(sparse_encode(x, dict.narrow(1, 0, 20), SparseCodingAlgorithm::OMP), Error);
  CHECK_THROWS_AS(sparse_encode(x, dict, SparseCodingAlgorithm::OMP, 3, std::nullopt, 1000, true), Error);
  CHECK_THROWS_AS(SparseCoder(dict, {.transform_n_nonzero_coefs = 0}), Error);
  CHECK_THROWS_AS(parse_sparse_coding_algorithm("lars"), Error);
}

TEST_CASE("dictionary learning: the cost curve of scikit-learn's batch algorithm") {
  const Tensor x = matrix(fx2::sc_noisy_X, 30);
  DictionaryLearning dl({.n_components = 12, .alpha = 0.5, .max_iter = 60, .tol = 1e-8,
                         .transform_algorithm = SparseCodingAlgorithm::LassoCD, .random_state = 0});
  const Tensor code = dl.fit_transform(x);
  CHECK(code.sizes() == Shape{25, 12});
  CHECK(dl.n_iter() == fx2::dl_n_iter);
  REQUIRE(dl.error().size() == fx2::dl_error.size());
  // Same start, same steps: the costs agree to the lasso's stopping tolerance.
  for (std::size_t i = 0; i < dl.error().size(); ++i) CHECK(dl.error()[i] == doctest::Approx(fx2::dl_error[i]).epsilon(2e-3));
  // The cost never increases (block coordinate descent on a convex problem in each block).
  for (std::size_t i = 1; i < dl.error().size(); ++i) CHECK(dl.error()[i] <= dl.error()[i - 1] * (1 + 1e-6));
  // Atoms lie in the unit ball.
  const auto norms = values(dl.components().square().sum({1}));
  for (double v : norms) CHECK(v <= 1.0 + 1e-9);
  check_close(dl.components(), matrix(fx2::dl_components, 30), 5e-2, 5e-2);
}

TEST_CASE("dictionary learning: more atoms than features, positive dictionary, errors") {
  const Tensor x = matrix(fx2::sc_noisy_X, 30);
  DictionaryLearning wide({.n_components = 35, .alpha = 0.3, .max_iter = 5, .positive_dict = true});
  wide.fit(x);
  CHECK(wide.components().sizes() == Shape{35, 30});
  CHECK(wide.components().min().item<double>() >= 0.0);
  CHECK(wide.transform(x).sizes() == Shape{25, 35});
  CHECK_THROWS_AS(DictionaryLearning({.alpha = -1.0}), Error);
  CHECK_THROWS_AS(DictionaryLearning().components(), Error);
}
