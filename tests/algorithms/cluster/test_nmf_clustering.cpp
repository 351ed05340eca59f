// NMF clustering (NMF-LP): samples made of three non-negative parts are labelled by their part,
// through the class and through make_clusterer; the rescaled coefficients and unit parts give the
// factorisation back; predict; the rescaling decides between parts of different lengths; errors.
#include "cake/algorithms/cluster/nmf_clustering.h"

#include "algorithms/classical_helpers.h"

using namespace cake;
using namespace cake::cluster;
using namespace cake::testing;

namespace {

// 3 x 30 samples in 30-D: sample i is a positive multiple of part i / 30, the indicator of
// features [10 c, 10 c + 10), plus small non-negative noise.
std::pair<Tensor, std::vector<std::int64_t>> parts_data() {
  manual_seed(6);
  std::vector<std::int64_t> truth(90);
  for (std::size_t i = 0; i < truth.size(); ++i) truth[i] = static_cast<std::int64_t>(i / 30);
  Tensor parts = zeros({3, 30}, kFloat64);
  for (std::int64_t c = 0; c < 3; ++c) parts.narrow(0, c, 1).narrow(1, 10 * c, 10).fill_(1.0);
  const Tensor scale = rand({90, 1}, kFloat64) + 0.5;
  const Tensor x = index_select(parts, 0, tensor(truth)) * scale + rand({90, 30}, kFloat64) * 0.05;
  return {x, truth};
}

}  // namespace

TEST_CASE("NMFClustering: samples of three parts are labelled by their part") {
  const auto [x, truth] = parts_data();
  NMFClustering model({.n_clusters = 3, .random_state = 0});
  const std::vector<std::int64_t> labels = int_values(model.fit_predict(x));
  CHECK(best_match_accuracy(truth, labels, 3) == 1.0);
  CHECK(int_values(model.labels()) == labels);
  CHECK(int_values(model.predict(x)) == labels);
  // The same through the factory, by the command line's name.
  const auto made = make_clusterer("nmf-clustering", {{"n_clusters", 3}, {"random_state", 0}});
  CHECK(made->name() == "nmf-clustering");
  CHECK(made->can_predict());
  CHECK(int_values(made->fit_predict(x)) == labels);
  CHECK(made->responsibilities(x).sizes() == Shape{90, 3});
}

TEST_CASE("NMFClustering: unit parts times rescaled coefficients give the factorisation back") {
  const auto [x, truth] = parts_data();
  NMFClustering model({.n_clusters = 3, .random_state = 0});
  model.fit(x);
  const Tensor parts = model.centers();
  check_close(norm(parts, 2.0, {1}), ones({3}, kFloat64), 1e-12, 1e-12);
  // The rescaled coefficients times the unit parts are the factorisation W H itself: they leave
  // the same residual.
  const Tensor residual = x - matmul(model.coefficients(), parts);
  CHECK(std::sqrt(residual.square().sum().item<double>()) ==
        doctest::Approx(model.factorisation().reconstruction_err()).epsilon(1e-9));
  // Each label is the largest rescaled coefficient of its row.
  check_close(model.labels().to(kFloat64), argmax(model.coefficients(), 1).to(kFloat64), 0, 0);
}

TEST_CASE("NMFClustering: the label compares coefficients of unit-length parts") {
  // Ten samples along a long part (features 0-1, 2.0 to 3.8) and ten along a short one (features
  // 2-3, 0.5 to 0.95). The last sample, (0.5, 0.5, 0.3, 0.3), holds 0.71 of the long unit
  // direction and 0.42 of the short one. NMF keeps the parts at lengths 4.6 and 1.9 here, so
  // the raw coefficients are 0.15 and 0.22 and would label it short; the rescaled ones say long.
  Tensor x = zeros({21, 4}, kFloat64);
  for (std::int64_t i = 0; i < 10; ++i) {
    x.narrow(0, i, 1).narrow(1, 0, 2).fill_(2.0 * (1 + 0.1 * static_cast<double>(i)));
    x.narrow(0, 10 + i, 1).narrow(1, 2, 2).fill_(0.5 * (1 + 0.1 * static_cast<double>(i)));
  }
  x.narrow(0, 20, 1).narrow(1, 0, 2).fill_(0.5);
  x.narrow(0, 20, 1).narrow(1, 2, 2).fill_(0.3);
  NMFClustering model({.n_clusters = 2, .init = decomposition::NMFInit::NNDSVDA, .max_iter = 2000, .tol = 1e-10});
  const std::vector<std::int64_t> labels = int_values(model.fit_predict(x));
  CHECK(labels[10] != labels[0]);
  CHECK(labels[20] == labels[0]);
  // The raw coefficients disagree: without the rescaling the label would be the short part's.
  const Tensor raw = model.coefficients() / norm(model.factorisation().components(), 2.0, {1});
  CHECK(argmax(raw, 1)[20].item<std::int64_t>() == labels[10]);
}

TEST_CASE("NMFClustering: bad input is named") {
  const auto [x, truth] = parts_data();
  CHECK_THROWS_WITH(NMFClustering({.n_clusters = 0}), doctest::Contains("n_clusters must be >= 1"));
  CHECK_THROWS_WITH(NMFClustering({.n_clusters = 3}).fit(x - 1.0), doctest::Contains("negative"));
  CHECK_THROWS_WITH(NMFClustering({.n_clusters = 100}).fit(x), doctest::Contains("at least 100 rows"));
  CHECK_THROWS_WITH(NMFClustering({.n_clusters = 3}).predict(x), doctest::Contains("not fitted"));
}
