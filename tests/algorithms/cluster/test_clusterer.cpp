// Tests for algorithms/cluster/clusterer.h: every clusterer behind one interface, the factory
// (names, parameters, defaults, errors), and hard/soft assignments.
#include <algorithm>

#include "algorithms/classical_helpers.h"
#include "cake/algorithms/cluster/clusterer.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/mixture/gaussian_mixture.h"

using namespace cake;
using cake::cluster::Clusterer;
using cake::cluster::make_clusterer;
using cake::testing::best_match_accuracy;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::int_values;
using cake::testing::contains;

namespace {
// Three tight, far-apart groups of 30 points in 2-D, and their true labels.
std::pair<Tensor, std::vector<std::int64_t>> three_groups() {
  manual_seed(5);
  const Tensor centres = tensor({0.0, 0.0, 20.0, 0.0, 0.0, 20.0}, {3, 2}, kFloat64);
  std::vector<std::int64_t> truth(90);
  for (std::size_t i = 0; i < truth.size(); ++i) truth[i] = static_cast<std::int64_t>(i / 30);
  const Tensor x = index_select(centres, 0, tensor(truth)) + randn({90, 2}, kFloat64) * 0.5;
  return {x, truth};
}
}  // namespace

TEST_CASE("make_clusterer: every name gives a clusterer that finds three separated groups") {
  const auto [x, truth] = three_groups();
  for (const std::string& name : cluster::clusterer_names()) {
    CAPTURE(name);
    // Sparse subspace clustering models subspaces through the origin, not blobs: its own known
    // answer (a union of subspaces, through make_clusterer too) is in test_sparse_subspace.cpp.
    if (name == "sparse-subspace") continue;
    // NMF clustering needs non-negative data and labels by parts, not by distances: its known
    // answer (non-negative mixtures of three parts) is in test_nmf_clustering.cpp.
    if (name == "nmf-clustering") continue;
    cluster::ClustererParams params;
    if (name == "dbscan") {
      params = {{"eps", 2.0}, {"min_samples", 3}};
    } else {
      params = {{"n_clusters", 3}};
      if (name != "agglomerative" && name != "graph-agglomerative") params.insert_or_assign("random_state", 0);  // deterministic
    }
    if (name == "spectral") params.insert_or_assign("gamma", 0.1);
    if (name == "landmark-spectral") params.insert_or_assign("n_landmarks", 30);
    const std::unique_ptr<Clusterer> c = make_clusterer(name, params);
    CHECK(c->name() == name);
    const std::vector<std::int64_t> labels = int_values(c->fit_predict(x));
    CHECK(best_match_accuracy(truth, labels, 3) == 1.0);
    CHECK(int_values(c->labels()) == labels);
    if (c->can_predict()) {
      CHECK(int_values(c->predict(x)) == labels);
      const Tensor mu = c->centers();
      REQUIRE(mu.defined());
      CHECK(mu.sizes() == Shape{3, 2});
      const Tensor r = c->responsibilities(x);
      CHECK(r.sizes() == Shape{90, 3});
      check_close(r.sum({1}), ones({90}, kFloat64), 1e-9, 1e-9);
    } else {
      CHECK(contains(error_message([&] { c->predict(x); }), name + ": predict is not supported"));
    }
  }
}

TEST_CASE("make_clusterer: the parameters reach the estimator, the rest keep the option struct's defaults") {
  const auto [x, truth] = three_groups();
  const auto via_factory = make_clusterer("kmeans", {{"n_clusters", 3}, {"n_init", "2"}, {"random_state", 4}});
  cluster::KMeans direct({.n_clusters = 3, .n_init = 2, .random_state = 4});
  CHECK(int_values(via_factory->fit_predict(x)) == int_values(direct.fit_predict(x)));
  const auto& km = dynamic_cast<const cluster::KMeans&>(*via_factory);
  CHECK(km.options().max_iter == cluster::KMeansOptions{}.max_iter);
  CHECK(km.options().algorithm == cluster::KMeansOptions{}.algorithm);

  // The GMM takes n_clusters as its n_components, and its responsibilities are its posteriors.
  const auto gmm = make_clusterer("gmm", {{"n_clusters", 3}, {"covariance_type", "diag"}, {"random_state", 0}});
  gmm->fit(x);
  const auto& g = dynamic_cast<const mixture::GaussianMixture&>(*gmm);
  CHECK(g.options().n_components == 3);
  CHECK(g.options().covariance_type == "diag");
  check_close(gmm->responsibilities(x), g.predict_proba(x), 1e-12, 1e-12);
  check_close(gmm->centers(), g.means(), 0, 0);
}

TEST_CASE("Clusterer: k-means' responsibilities are the one-hot nearest-centre labels") {
  const auto [x, truth] = three_groups();
  const auto km = make_clusterer("kmeans", {{"n_clusters", 3}, {"random_state", 0}});
  km->fit(x);
  const std::vector<std::int64_t> labels = int_values(km->predict(x));
  const std::vector<double> r = cake::testing::values(km->responsibilities(x));
  for (std::size_t i = 0; i < labels.size(); ++i)
    for (std::int64_t j = 0; j < 3; ++j) CHECK(r[i * 3 + static_cast<std::size_t>(j)] == (labels[i] == j ? 1.0 : 0.0));
}

TEST_CASE("make_clusterer: clear errors, and the parameter lists") {
  CHECK(contains(error_message([] { make_clusterer("k-medoids"); }), "unknown clusterer \"k-medoids\"; valid: kmeans, "));
  const std::string bad = error_message([] { make_clusterer("kmeans", {{"n_cluster", 3}}); });
  CHECK(contains(bad, "unknown parameter 'n_cluster'"));
  CHECK(contains(bad, "n_clusters, init, n_init"));
  CHECK(contains(error_message([] { make_clusterer("gmm", {{"tol", "small"}}); }), "tol: expected a number, got text 'small'"));
  CHECK(contains(error_message([] { make_clusterer("kmeans", {{"n_init", 2.5}}); }), "n_init: expected an integer"));
  CHECK(contains(error_message([] { make_clusterer("agglomerative", {{"linkage", "median"}}); }), "median"));

  const std::vector<std::string> gmm = cluster::clusterer_parameters("gmm");
  CHECK(std::find(gmm.begin(), gmm.end(), "covariance_type") != gmm.end());
  const std::vector<std::string> km = cluster::clusterer_parameters("kmeans");
  CHECK(std::find(km.begin(), km.end(), "covariance_type") == km.end());
  CHECK(cluster::ParamValue(1e-4).to_string() == "0.0001");
  CHECK(cluster::ParamValue(true).to_string() == "true");
}
