// Tests of UMAP (algorithms/manifold/umap.h; McInnes, Healy & Melville 2018): the local metrics
// and fuzzy set weights on a toy graph worked out by hand from the paper's formulas and on a
// small data set against umap-learn's (fixtures/umap_fixtures.h), the
// bisection meeting its target, the a, b curve fit against umap-learn's values, the spectral
// start on a graph with a known spectrum, the SGD lowering the fuzzy cross-entropy, and whole
// fits: clusters kept, trustworthiness high, the same seed giving the same embedding; transform's
// memberships against umap-learn's and new points placed among their own kind.
#include <cmath>
#include <limits>
#include <numeric>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/manifold/umap.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/parallel.h"
#include "cake/tensor/random.h"
#include "algorithms/fixtures/umap_fixtures.h"
#include "helpers.h"

using namespace cake;
using namespace cake::manifold;
using neighbors::KnnResult;
using neighbors::SparseGraph;

namespace {

// n points per blob around `centres` far apart in d dimensions, and their blob labels.
std::pair<Tensor, Tensor> blobs(std::int64_t per_blob, std::int64_t n_blobs, std::int64_t d, double separation,
                                std::uint64_t seed) {
  manual_seed(seed);
  Tensor x = randn({per_blob * n_blobs, d});
  std::vector<std::int64_t> labels;
  float* px = x.data_ptr<float>();
  for (std::int64_t b = 0; b < n_blobs; ++b)
    for (std::int64_t i = 0; i < per_blob; ++i) {
      labels.push_back(b);
      px[(b * per_blob + i) * d + b % d] += static_cast<float>(separation * (1 + b / d));
    }
  return {x, tensor(labels, {per_blob * n_blobs})};
}

}  // namespace

TEST_CASE("smooth_knn_dist: rho is the nearest distance and sigma solves sum exp(-(d - rho)/sigma) = log2 k") {
  // One point with neighbours at 0 (itself), 1, 2, 3, k = 4: rho = 1 and, with x = exp(-1/sigma),
  // 1 + x + x^2 = log2(4) = 2, so x = (sqrt 5 - 1) / 2 and sigma = -1 / ln x.
  KnnResult toy{.n = 1, .k = 4, .indices = {0, 1, 2, 3}, .distances = {0, 1, 2, 3}};
  const umap::SmoothKnn s = umap::smooth_knn_dist(toy);
  CHECK(s.rho[0] == 1.0);
  CHECK(s.sigma[0] == doctest::Approx(-1.0 / std::log((std::sqrt(5.0) - 1.0) / 2.0)).epsilon(1e-5));
  // local_connectivity 1.5 interpolates between the first and second non-zero distances.
  CHECK(umap::smooth_knn_dist(toy, 1.5).rho[0] == doctest::Approx(1.5));

  // On random data every row meets the target within the bisection's tolerance.
  manual_seed(5);
  const KnnResult knn = neighbors::exact_knn(randn({200, 5}), 15);
  const umap::SmoothKnn r = umap::smooth_knn_dist(knn);
  for (std::int64_t i = 0; i < knn.n; ++i) {
    double sum = 0;
    for (std::int64_t t = 1; t < knn.k; ++t)
      sum += std::exp(-std::max(0.0, knn.distances[i * 15 + t] - r.rho[i]) / r.sigma[i]);
    CHECK(sum == doctest::Approx(std::log2(15.0)).epsilon(1e-4));
    CHECK(r.rho[i] == knn.distances[i * 15 + 1]);
  }
}

TEST_CASE("fuzzy_simplicial_set: the weights of a toy graph, by hand from the paper's formulas") {
  // Points on a line at 0, 1, 3, 5.5 with k = 3 (itself and two others). For each point the
  // nearest other has w = 1 (d = rho), and the second one, from 1 + exp(-(d2 - rho)/sigma) =
  // log2 3, has w = log2(3) - 1 whatever the distances. Neighbours: 0 -> {1, 2}, 1 -> {0, 2},
  // 2 -> {1, 3}, 3 -> {2, 1}.
  const Tensor x = tensor(std::vector<double>{0, 1, 3, 5.5}, {4, 1});
  const KnnResult knn = neighbors::exact_knn(x, 3);
  const double s = std::log2(3.0) - 1.0;
  const double directed[4][4] = {{0, 1, s, 0}, {1, 0, s, 0}, {0, 1, 0, s}, {0, s, 1, 0}};
  const Tensor w = umap::membership_strengths(knn, umap::smooth_knn_dist(knn)).to_dense();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) CHECK(w.data_ptr<double>()[i * 4 + j] == doctest::Approx(directed[i][j]).epsilon(1e-4));
  // Union a + b - ab and intersection ab of each pair (section 3.1, the probabilistic t-conorm).
  for (const double mix : {1.0, 0.0, 0.3}) {
    const SparseGraph g = umap::fuzzy_simplicial_set(knn, 1.0, mix);
    const Tensor dense = g.to_dense();
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const double a = directed[i][j], b = directed[j][i];
        const double expected = mix * (a + b - a * b) + (1 - mix) * a * b;
        CHECK(dense.data_ptr<double>()[i * 4 + j] == doctest::Approx(expected).epsilon(1e-4));
      }
    if (mix == 0.0) CHECK(g.nnz() == 6);  // the intersection keeps only mutual neighbours
  }
}

TEST_CASE("fuzzy_simplicial_set: umap-learn's graph, sigmas and rhos on the same k-NN, and its spectral start") {
  // fixtures/umap_fixtures.h: 90 points in 5-D and what umap-learn computes from their exact
  // 10-NN. Its sigmas, rhos and weights are float32, as are exact_knn's distances (the fixture's
  // are float64), hence the tolerances.
  namespace fx = umap_fixtures;
  const std::int64_t n = static_cast<std::int64_t>(fx::X.size()) / 5, k = fx::n_neighbors;
  const KnnResult knn = neighbors::exact_knn(tensor(fx::X, {n, 5}), k);
  REQUIRE(knn.indices == fx::knn_indices);
  for (std::size_t t = 0; t < knn.distances.size(); ++t)
    CHECK(knn.distances[t] == doctest::Approx(fx::knn_distances[t]).epsilon(1e-6));

  struct Case {
    const char* name;
    double local_connectivity, set_op_mix_ratio;
    const std::vector<std::int64_t>&rows, &cols;
    const std::vector<double>&weights, &sigmas, &rhos;
  };
  const Case cases[] = {
      {"defaults", 1.0, 1.0, fx::default_rows, fx::default_cols, fx::default_weights, fx::default_sigmas, fx::default_rhos},
      {"local_connectivity 1.5, set_op_mix_ratio 0.5", 1.5, 0.5, fx::mixed_rows, fx::mixed_cols, fx::mixed_weights,
       fx::mixed_sigmas, fx::mixed_rhos}};
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const umap::SmoothKnn smooth = umap::smooth_knn_dist(knn, c.local_connectivity);
    for (std::int64_t i = 0; i < n; ++i) {
      CHECK(smooth.rho[i] == doctest::Approx(c.rhos[i]).epsilon(1e-6));
      CHECK(smooth.sigma[i] == doctest::Approx(c.sigmas[i]).epsilon(1e-4));
    }
    // The same edges (CSR rows are sorted by column, the fixture by row then column), the same weights.
    const SparseGraph g = umap::fuzzy_simplicial_set(knn, c.local_connectivity, c.set_op_mix_ratio);
    REQUIRE(g.nnz() == static_cast<std::int64_t>(c.weights.size()));
    std::size_t e = 0;
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t p = g.indptr[i]; p < g.indptr[i + 1]; ++p, ++e) {
        REQUIRE(c.rows[e] == i);
        REQUIRE(c.cols[e] == g.indices[p]);
        CHECK(g.values[p] == doctest::Approx(c.weights[e]).epsilon(1e-5));
      }
  }

  // The start: Cake's Lanczos eigenvectors against the dense solution of umap-learn's Laplacian,
  // up to sign (an eigenvector's sign is arbitrary).
  std::string why;
  const std::vector<double> layout = umap::spectral_layout(umap::fuzzy_simplicial_set(knn), 2, 0, why);
  REQUIRE_MESSAGE(layout.size() == static_cast<std::size_t>(2 * n), why);
  CHECK(fx::spectral_eigenvalues[0] == doctest::Approx(0.0).scale(1.0));
  CHECK(fx::spectral_eigenvalues[2] < fx::spectral_eigenvalues[3]);  // distinct, so the vectors are defined
  for (int column = 0; column < 2; ++column) {
    double dot = 0.0;
    for (std::int64_t i = 0; i < n; ++i) dot += layout[i * 2 + column] * fx::spectral_vectors[i * 2 + column];
    const double sign = dot < 0 ? -1.0 : 1.0;
    for (std::int64_t i = 0; i < n; ++i)
      CHECK(sign * layout[i * 2 + column] == doctest::Approx(fx::spectral_vectors[i * 2 + column]).scale(1.0).epsilon(1e-4));
  }
}

TEST_CASE("find_ab_params: umap-learn's a and b, and a least-squares minimum") {
  auto [a1, b1] = umap::find_ab_params(1.0, 0.1);
  CHECK(a1 == doctest::Approx(1.577).epsilon(2e-3));
  CHECK(b1 == doctest::Approx(0.8951).epsilon(2e-3));
  auto [a2, b2] = umap::find_ab_params(1.0, 0.001);
  CHECK(a2 == doctest::Approx(1.929).epsilon(2e-3));
  CHECK(b2 == doctest::Approx(0.7915).epsilon(2e-3));
  // A minimum: any small move of (a, b) raises the squared error.
  auto cost = [](double a, double b) {
    double total = 0;
    for (int t = 0; t < 300; ++t) {
      const double x = 3.0 * t / 299, y = x < 0.1 ? 1.0 : std::exp(-(x - 0.1));
      total += std::pow(1.0 / (1.0 + a * std::pow(x, 2 * b)) - y, 2);
    }
    return total;
  };
  for (const double da : {-1e-3, 1e-3})
    for (const double db : {-1e-3, 0.0, 1e-3}) CHECK(cost(a1 + da, b1 + db) > cost(a1, b1));
  CHECK_THROWS_WITH_AS(umap::find_ab_params(1.0, 2.0), doctest::Contains("min_dist"), Error);
}

TEST_CASE("spectral_layout: the normalised Laplacian's second and third eigenvectors") {
  // The fuzzy graph of random points, against a dense eigendecomposition of D^-1/2 W D^-1/2:
  // its largest eigenvalue (1) is the trivial one; the next two are L's smallest non-trivial.
  manual_seed(10);
  const SparseGraph g = umap::fuzzy_simplicial_set(neighbors::exact_knn(randn({80, 3}), 12));
  REQUIRE(neighbors::connected_components(g).first == 1);
  const std::int64_t n = 80;
  Tensor m = g.to_dense();
  double* pm = m.data_ptr<double>();
  std::vector<double> degree(n, 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) degree[i] += pm[i * n + j];
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) pm[i * n + j] /= std::sqrt(degree[i] * degree[j]);
  const linalg::EighResult eig = linalg::eigh(m);  // ascending
  const double* v = eig.eigenvectors.data_ptr<double>();
  CHECK(eig.eigenvalues.data_ptr<double>()[n - 1] == doctest::Approx(1.0));
  std::string why;
  const std::vector<double> y = umap::spectral_layout(g, 2, 0, why);
  REQUIRE(y.size() == static_cast<std::size_t>(2 * n));
  for (std::int64_t c = 0; c < 2; ++c) {
    double dot = 0;
    for (std::int64_t i = 0; i < n; ++i) dot += y[i * 2 + c] * v[i * n + (n - 2 - c)];
    CHECK(std::abs(dot) == doctest::Approx(1.0).epsilon(1e-6));
  }
  // Copies side by side: disconnected, no single spectral layout, and the reason.
  auto copies = [&](std::int64_t count) {
    std::vector<std::int64_t> rows, cols;
    std::vector<double> values;
    for (std::int64_t copy = 0; copy < count; ++copy)
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t e = g.indptr[i]; e < g.indptr[i + 1]; ++e)
          rows.push_back(i + copy * n), cols.push_back(g.indices[e] + copy * n), values.push_back(g.values[e]);
    return SparseGraph::from_triplets(count * n, rows, cols, values);
  };
  CHECK(umap::spectral_layout(copies(2), 2, 0, why).empty());
  CHECK(why == "the graph has 2 connected components");
  // Laid out one by one instead: two components around +e_0 and -e_0.
  const std::vector<double> both = umap::multi_component_layout(copies(2), randn({2 * n, 3}), 2, 0, why);
  REQUIRE(both.size() == static_cast<std::size_t>(4 * n));
  for (std::int64_t i = 0; i < 2 * n; ++i) CHECK((both[2 * i] > 0) == (i < n));
  CHECK(why.rfind("2 connected components laid out one by one (2 spectrally", 0) == 0);
  // Six components in 2-D: centres from the components' centroids in the data (six groups
  // along a line); every point lies nearer its own component's centre than any other's.
  Tensor x6 = randn({6 * n, 3});
  for (std::int64_t i = 0; i < 6 * n; ++i) x6.data_ptr<float>()[i * 3] += static_cast<float>(20 * (i / n));
  const std::vector<double> six = umap::multi_component_layout(copies(6), x6, 2, 0, why);
  REQUIRE(six.size() == static_cast<std::size_t>(12 * n));
  std::vector<double> centre(12, 0.0);
  for (std::int64_t i = 0; i < 6 * n; ++i)
    for (std::int64_t k = 0; k < 2; ++k) centre[(i / n) * 2 + k] += six[i * 2 + k] / n;
  for (std::int64_t i = 0; i < 6 * n; ++i) {
    std::int64_t nearest = 0;
    for (std::int64_t l = 1; l < 6; ++l)
      if (std::hypot(six[2 * i] - centre[2 * l], six[2 * i + 1] - centre[2 * l + 1]) <
          std::hypot(six[2 * i] - centre[2 * nearest], six[2 * i + 1] - centre[2 * nearest + 1]))
        nearest = l;
    CHECK(nearest == i / n);
  }
}

TEST_CASE("spectral_layout and UMAP: the same result on one thread and on four") {
  // NOTE [ Lanczos's sums in a fixed order ] (algorithms/detail/lanczos.cpp): with OpenBLAS's
  // threaded calls inside the eigensolver the start's last bits, and through the SGD the whole
  // layout, depended on the thread count.
  manual_seed(11);
  const Tensor x = randn({1500, 4});
  const SparseGraph g = umap::fuzzy_simplicial_set(neighbors::exact_knn(x, 15));
  REQUIRE(neighbors::connected_components(g).first == 1);
  const int threads = get_num_threads();
  std::string why;
  std::vector<std::vector<double>> starts;
  std::vector<Tensor> layouts;
  for (const int count : {1, 4}) {
    set_num_threads(count);
    starts.push_back(umap::spectral_layout(g, 2, 0, why));
    layouts.push_back(UMAP({.n_epochs = 30, .random_state = 5}).fit_transform(x));
  }
  set_num_threads(threads);
  REQUIRE(starts[0].size() == 3000u);
  CHECK(starts[0] == starts[1]);
  CHECK(equal(layouts[0], layouts[1]));
}

TEST_CASE("optimize_layout: the SGD lowers the fuzzy cross-entropy") {
  auto [x, labels] = blobs(40, 3, 5, 6.0, 6);
  const KnnResult knn = neighbors::exact_knn(x, 10);
  const SparseGraph g = umap::fuzzy_simplicial_set(knn);
  manual_seed(7);
  const Tensor start = rand({120, 2}, kFloat64) * 10.0;
  std::vector<double> y(start.data_ptr<double>(), start.data_ptr<double>() + 240);
  auto [a, b] = umap::find_ab_params(1.0, 0.1);
  const double before = umap::cross_entropy(y, 2, g, a, b);
  umap::optimize_layout(y, 2, g, {.a = a, .b = b, .n_epochs = 200, .seed = 1});
  const double after = umap::cross_entropy(y, 2, g, a, b);
  // The same points shuffled among the rows: the layout, not its spread, is what fits the graph.
  std::vector<double> shuffled(y.size());
  for (std::int64_t i = 0; i < 120; ++i)
    for (std::int64_t c = 0; c < 2; ++c) shuffled[i * 2 + c] = y[((i * 37) % 120) * 2 + c];
  const double after_shuffled = umap::cross_entropy(shuffled, 2, g, a, b);
  MESSAGE("cross-entropy " << before << " -> " << after << " (rows shuffled: " << after_shuffled << ")");
  CHECK(after < 0.7 * before);
  CHECK(after < 0.5 * after_shuffled);
  // epochs per sample: the heaviest edge every epoch, one of half its weight every 2.
  const std::vector<double> eps = umap::make_epochs_per_sample({1.0, 0.5, 0.0}, 100);
  CHECK(eps == std::vector<double>{1.0, 2.0, -1.0});
}

TEST_CASE("prune_light_edges: edges lighter than max w / n_epochs go, before the start and the SGD (umap-learn)") {
  // A path 0 - 1 - 2 - 3 whose middle edge weighs 0.007 of the heaviest: cut at 100 epochs (under
  // 1 / 100), kept at 200 (over 1 / 200).
  Tensor w = zeros({4, 4}, kFloat64);
  auto link = [&](std::int64_t i, std::int64_t j, double v) { w.index_put_({i, j}, v), w.index_put_({j, i}, v); };
  link(0, 1, 1.0);
  link(1, 2, 0.007);
  link(2, 3, 0.5);
  const SparseGraph g = SparseGraph::from_dense(w);
  const SparseGraph cut = umap::prune_light_edges(g, 100), kept = umap::prune_light_edges(g, 200);
  CHECK(cut.n == 4);
  CHECK(cut.nnz() == 4);
  CHECK(kept.nnz() == 6);
  Tensor expected = w.clone();
  expected.index_put_({1, 2}, 0.0), expected.index_put_({2, 1}, 0.0);
  cake::testing::check_close(cut.to_dense(), expected, 0, 0);
  cake::testing::check_close(kept.to_dense(), w, 0, 0);
  CHECK(umap::prune_light_edges(SparseGraph::from_dense(zeros({3, 3}, kFloat64)), 200).nnz() == 0);
  CHECK_THROWS_WITH_AS(umap::prune_light_edges(g, 0), doctest::Contains("n_epochs"), Error);
}

TEST_CASE("UMAP: well-separated blobs stay separated, neighbours are kept, the seed fixes the result") {
  auto [x, labels] = blobs(100, 4, 10, 12.0, 8);
  std::vector<std::string> messages;
  UMAP umap({.n_epochs = 200, .random_state = 3, .on_message = [&](const std::string& m) { messages.push_back(m); }});
  const Tensor y = umap.fit_transform(x);
  CHECK(y.sizes() == Shape{400, 2});
  CHECK(y.dtype() == kFloat32);
  CHECK_FALSE(umap.used_nn_descent());
  // Four blobs with k = 15 give four components, laid out one by one, and it says so.
  CHECK(umap.init_used().rfind("spectral (4 connected components laid out one by one (4 spectrally", 0) == 0);
  CHECK(std::any_of(messages.begin(), messages.end(), [](const std::string& m) {
    return m.find("initial layout: spectral (4 connected components") != std::string::npos;
  }));
  const Tensor found = cluster::KMeans({.n_clusters = 4, .random_state = 0}).fit_predict(y);
  CHECK(metrics::acc(labels, found) == doctest::Approx(1.0));
  CHECK(metrics::trustworthiness(x, y, 5) > 0.9);
  // Same seed, same embedding; another seed, another one.
  const Tensor again = UMAP({.n_epochs = 200, .random_state = 3}).fit_transform(x);
  CHECK(equal(y, again));
  CHECK_FALSE(equal(y, UMAP({.n_epochs = 200, .random_state = 4}).fit_transform(x)));
}

TEST_CASE("UMAP.transform: umap-learn's memberships of new points; new points land among their own kind") {
  // The memberships against fixtures/umap_fixtures.h (umap-learn's transform_mode="graph"):
  // the same 10 neighbours per new point, each weight within float32 rounding.
  namespace fx = umap_fixtures;
  const std::int64_t n = static_cast<std::int64_t>(fx::X.size()) / 5, m = static_cast<std::int64_t>(fx::X_new.size()) / 5;
  const KnnResult to_fitted = neighbors::exact_knn_query(tensor(fx::X_new, {m, 5}), tensor(fx::X, {n, 5}), fx::n_neighbors);
  const std::vector<double> weights = umap::transform_memberships(to_fitted);
  REQUIRE(fx::transform_weights.size() == weights.size());
  for (std::int64_t i = 0; i < m; ++i) {
    std::vector<std::pair<std::int64_t, double>> ours, theirs;
    for (std::int64_t t = 0; t < fx::n_neighbors; ++t)
      ours.emplace_back(to_fitted.indices[i * fx::n_neighbors + t], weights[i * fx::n_neighbors + t]);
    for (std::size_t e = 0; e < fx::transform_rows.size(); ++e)
      if (fx::transform_rows[e] == i) theirs.emplace_back(fx::transform_cols[e], fx::transform_weights[e]);
    std::sort(ours.begin(), ours.end());
    REQUIRE(ours.size() == theirs.size());
    for (std::size_t t = 0; t < ours.size(); ++t) {
      CHECK(ours[t].first == theirs[t].first);
      CHECK(ours[t].second == doctest::Approx(theirs[t].second).epsilon(1e-4));
    }
  }

  // New points from the blobs the layout was fitted on land next to fitted points of their own
  // blob, the fitted layout does not move, and a seed fixes the result.
  auto [x, labels] = blobs(100, 4, 10, 12.0, 8);
  auto [fresh, fresh_labels] = blobs(25, 4, 10, 12.0, 21);
  UMAP umap({.n_epochs = 200, .random_state = 3});
  const Tensor y = umap.fit_transform(x);
  const Tensor before = y.clone();
  const Tensor placed = umap.transform(fresh);
  CHECK(placed.sizes() == Shape{100, 2});
  CHECK(placed.dtype() == kFloat32);
  CHECK(equal(umap.embedding(), before));
  const float *py = y.data_ptr<float>(), *pp = placed.data_ptr<float>();
  const std::int64_t* label = labels.data_ptr<std::int64_t>();
  const std::int64_t* fresh_label = fresh_labels.data_ptr<std::int64_t>();
  std::int64_t right = 0;
  for (std::int64_t i = 0; i < 100; ++i) {
    std::int64_t nearest = 0;
    double best = std::numeric_limits<double>::infinity();
    for (std::int64_t j = 0; j < 400; ++j) {
      const double dx = pp[i * 2] - py[j * 2], dy = pp[i * 2 + 1] - py[j * 2 + 1];
      if (dx * dx + dy * dy < best) best = dx * dx + dy * dy, nearest = j;
    }
    right += label[nearest] == fresh_label[i];
  }
  CHECK(right == 100);
  CHECK(equal(placed, umap.transform(fresh)));

  CHECK_THROWS_WITH_AS(UMAP().transform(fresh), doctest::Contains("not fitted yet"), Error);
  CHECK_THROWS_WITH_AS(umap.transform(randn({5, 3})), doctest::Contains("fitted on 10 features"), Error);
}

TEST_CASE("UMAP: connected data start from the spectral layout; NN-descent and pca starts work too") {
  // A noisy curve in 6-D (one component): the spectral start is used.
  manual_seed(9);
  const std::int64_t n = 600;
  Tensor x = randn({n, 6}) * 0.05;
  float* px = x.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const double t = 3.0 * i / n;
    px[i * 6] += static_cast<float>(std::cos(t)), px[i * 6 + 1] += static_cast<float>(std::sin(t));
    px[i * 6 + 2] += static_cast<float>(t);
  }
  UMAP spectral({.n_epochs = 100, .random_state = 0});
  const Tensor y = spectral.fit_transform(x);
  CHECK(spectral.init_used() == "spectral");
  CHECK(metrics::trustworthiness(x, y, 10) > 0.9);
  // NN-descent for the neighbours (forced), PCA start, 3 components, cosine.
  UMAP approx({.n_components = 3, .n_epochs = 100, .init = "pca", .nn_method = "nn_descent", .random_state = 0});
  const Tensor z = approx.fit_transform(x);
  CHECK(approx.used_nn_descent());
  CHECK(approx.init_used() == "pca");
  CHECK(z.sizes() == Shape{n, 3});
  CHECK(metrics::trustworthiness(x, z, 10) > 0.9);
  const Tensor c = UMAP({.metric = "cosine", .n_epochs = 50, .random_state = 0}).fit_transform(x.to(kFloat64));
  CHECK(c.dtype() == kFloat64);
}

TEST_CASE("UMAP: bad options are refused with the option's name") {
  CHECK_THROWS_WITH_AS(UMAP({.n_neighbors = 1}), doctest::Contains("n_neighbors"), Error);
  CHECK_THROWS_WITH_AS(UMAP({.init = "laplacian"}), doctest::Contains("unknown init"), Error);
  CHECK_THROWS_WITH_AS(UMAP({.min_dist = 3.0}), doctest::Contains("min_dist"), Error);
  CHECK_THROWS_WITH_AS(UMAP({.nn_method = "annoy"}), doctest::Contains("nn_method"), Error);
  CHECK_THROWS_WITH_AS(UMAP({.n_neighbors = 50}).fit(randn({20, 3})), doctest::Contains("at most the number of samples"),
                       Error);
  CHECK_THROWS_WITH_AS(UMAP().embedding(), doctest::Contains("not fitted"), Error);
}
