// End-to-end tests of the classical suite's command-line wrappers (tools/algorithms/cluster/kmeans.cpp,
// minibatch_kmeans.cpp, gmm.cpp, pca.cpp, tsne.cpp): run `cake run ALG` on three
// well-separated blobs and check metrics.json against answers worked out here from the data.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cake/algorithms/metrics/metrics.h"
#include "cake/data/npy.h"
#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace cake::testing;

namespace {

// Three blobs of 40 points in the plane, centres 8 apart, spread 0.5 (16 standard deviations
// apart, so every sensible method recovers them exactly): X.npy and y.npy in the scratch folder.
constexpr int kPerBlob = 40, kBlobCount = 3, kN = kPerBlob * kBlobCount;
struct Blobs {
  std::vector<double> x;  // kN x 2, as stored (float32 values)
  std::vector<std::int64_t> y;
};
const Blobs& blobs() {
  static const Blobs b = [] {
    manual_seed(7);
    Tensor x = randn({kN, 2}) * 0.5;
    Blobs out;
    const float centres[kBlobCount][2] = {{0, 0}, {8, 0}, {0, 8}};
    float* p = x.data_ptr<float>();
    for (int i = 0; i < kN; ++i) {
      out.y.push_back(i / kPerBlob);
      p[2 * i] += centres[i / kPerBlob][0];
      p[2 * i + 1] += centres[i / kPerBlob][1];
      out.x.push_back(p[2 * i]);
      out.x.push_back(p[2 * i + 1]);
    }
    data::write_npy(scratch() / "X.npy", x);
    data::write_npy(scratch() / "y.npy", tensor(out.y, {kN}));
    return out;
  }();
  return b;
}

// Mean and (biased, maximum-likelihood) covariance [xx, xy, yy] of one blob.
struct Moments {
  double mx = 0, my = 0, cxx = 0, cxy = 0, cyy = 0;
};
Moments blob_moments(int blob) {
  const Blobs& b = blobs();
  Moments m;
  for (int i = blob * kPerBlob; i < (blob + 1) * kPerBlob; ++i) {
    m.mx += b.x[2 * i] / kPerBlob;
    m.my += b.x[2 * i + 1] / kPerBlob;
  }
  for (int i = blob * kPerBlob; i < (blob + 1) * kPerBlob; ++i) {
    const double dx = b.x[2 * i] - m.mx, dy = b.x[2 * i + 1] - m.my;
    m.cxx += dx * dx / kPerBlob;
    m.cxy += dx * dy / kPerBlob;
    m.cyy += dy * dy / kPerBlob;
  }
  return m;
}

// The k-means objective of the true partition: the sum of squared distances to blob means.
double true_inertia() {
  double total = 0;
  for (int c = 0; c < kBlobCount; ++c) {
    const Moments m = blob_moments(c);
    total += kPerBlob * (m.cxx + m.cyy);
  }
  return total;
}

// Runs ALG on the blobs into folder OUT and returns its metrics.json.
json run_on_blobs(const std::string& algorithm, const std::string& settings, const std::string& out) {
  blobs();
  const CliResult r = cake_cli("run " + algorithm + " --data X.npy --labels y.npy --quiet --seed 1 --overwrite --out " +
                               out + (settings.empty() ? "" : " --set " + settings));
  REQUIRE_MESSAGE(r.code == 0, r.err);
  return read_json(scratch() / out / "metrics.json");
}

Tensor read_output(const std::string& out, const std::string& file) { return data::read_npy(scratch() / out / file); }

}  // namespace

TEST_CASE("cake run kmeans finds the blobs and the inertia of the true partition") {
  for (const char* algorithm : {"lloyd", "elkan"}) {
    const json m = run_on_blobs("kmeans", std::string("n_clusters=3 algorithm=") + algorithm, "kmeans");
    CHECK(m["nmi"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
    CHECK(m["acc"].get<double>() == 1.0);
    // With the true partition found, Lloyd's fixed point puts each centre at its blob's mean.
    CHECK(m["inertia"].get<double>() == doctest::Approx(true_inertia()).epsilon(1e-5));
    CHECK(m["n_iter"].get<std::int64_t>() >= 1);
    CHECK(read_output("kmeans", "labels.npy").sizes() == Shape{kN});
    CHECK(read_output("kmeans", "centroids.npy").sizes() == Shape{3, 2});
  }
}

TEST_CASE("cake run minibatch-kmeans finds the blobs") {
  const json m = run_on_blobs("minibatch-kmeans", "n_clusters=3 batch_size=32", "minibatch");
  CHECK(m["nmi"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
  // Mini-batch centres are running means, near but not at the blob means.
  CHECK(m["inertia"].get<double>() >= true_inertia() * (1 - 1e-6));
  CHECK(m["inertia"].get<double>() <= true_inertia() * 1.05);
  CHECK(m["n_steps"].get<std::int64_t>() >= 1);
  CHECK(read_output("minibatch", "labels.npy").sizes() == Shape{kN});
}

TEST_CASE("cake run landmark-spectral finds the blobs and writes its landmarks and embedding") {
  const json m = run_on_blobs("landmark-spectral", "n_clusters=3 n_landmarks=20", "landmark-spectral");
  CHECK(m["nmi"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(m["bandwidth"].get<double>() > 0);
  CHECK(m["singular_values"].size() == 3);
  CHECK(m["singular_values"][0].get<double>() == doctest::Approx(1.0));
  CHECK(read_output("landmark-spectral", "landmarks.npy").sizes() == Shape{20, 2});
  CHECK(read_output("landmark-spectral", "spectral_embedding.npy").sizes() == Shape{kN, 3});
}

TEST_CASE("cake run graph-agglomerative finds the blobs with each descriptor") {
  for (const char* descriptor : {"path", "zeta", "gdl"}) {
    CAPTURE(descriptor);
    const json m = run_on_blobs("graph-agglomerative", std::string("n_clusters=3 n_neighbors=10 descriptor=") + descriptor,
                                "graph-agglomerative");
    CHECK(m["nmi"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
    CHECK(m["initial_clusters"].get<std::int64_t>() > 3);
    CHECK(m["sigma2"].get<double>() > 0);
    CHECK(read_output("graph-agglomerative", "labels.npy").sizes() == Shape{kN});
  }
  const CliResult few = cake_cli("run graph-agglomerative --data X.npy --quiet --overwrite --out ga-bad --set n_neighbors=500");
  CHECK(few.code == 2);
  CHECK(contains(few.err, "more samples than n_neighbors"));
}

TEST_CASE("cake run sparse-subspace separates three lines through the origin") {
  // 30 points on each of three lines in R^3 (1-D subspaces, which k-means cannot separate: they
  // all meet at 0), with their labels.
  manual_seed(3);
  const Tensor t = randn({90, 1});
  const float directions[3][3] = {{1, 0, 0}, {0.6f, 0.8f, 0}, {0, 0.28f, 0.96f}};
  std::vector<float> x;
  std::vector<std::int64_t> y;
  for (int i = 0; i < 90; ++i) {
    for (int j = 0; j < 3; ++j) x.push_back(t.data_ptr<float>()[i] * directions[i / 30][j]);
    y.push_back(i / 30);
  }
  data::write_npy(scratch() / "lines.npy", tensor(x, {90, 3}));
  data::write_npy(scratch() / "lines_y.npy", tensor(y, {90}));
  for (const char* solver : {"lasso", "omp"}) {
    const CliResult r = cake_cli(std::string("run sparse-subspace --data lines.npy --labels lines_y.npy --quiet "
                                             "--overwrite --out ssc --set n_clusters=3 n_nonzero=1 solver=") + solver);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const json m = read_json(scratch() / "ssc" / "metrics.json");
    CHECK(m["nmi"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
    CHECK(m["nonzeros_per_code"].get<double>() >= 1.0);
    CHECK(m.contains("lambda") == (std::string(solver) == "lasso"));
  }
}

TEST_CASE("cake run nmf-clustering and deep-semi-nmf find samples made of three non-negative parts") {
  // 30 samples of each of three parts (the indicators of features 0-9, 10-19, 20-29), each a
  // positive multiple of its part plus small non-negative noise, with their labels.
  manual_seed(6);
  const Tensor scale = rand({90}) + 0.5f;
  const Tensor noise = rand({90, 30}) * 0.05f;
  std::vector<float> x;
  std::vector<std::int64_t> y;
  for (int i = 0; i < 90; ++i) {
    for (int j = 0; j < 30; ++j)
      x.push_back((j / 10 == i / 30 ? scale.data_ptr<float>()[i] : 0.0f) + noise.data_ptr<float>()[i * 30 + j]);
    y.push_back(i / 30);
  }
  data::write_npy(scratch() / "parts.npy", tensor(x, {90, 30}));
  data::write_npy(scratch() / "parts_y.npy", tensor(y, {90}));
  const std::string input = " --data parts.npy --labels parts_y.npy --quiet --overwrite --seed 0";

  const CliResult nmf = cake_cli("run nmf-clustering" + input + " --out nmfc --set n_clusters=3");
  REQUIRE_MESSAGE(nmf.code == 0, nmf.err);
  json m = read_json(scratch() / "nmfc" / "metrics.json");
  CHECK(m["acc"].get<double>() == 1.0);
  CHECK(m["reconstruction_err"].get<double>() > 0.0);
  CHECK(read_output("nmfc", "embedding.npy").sizes() == Shape{90, 3});

  const CliResult deep = cake_cli("run deep-semi-nmf" + input + " --out dsnmf --set layers=8,3 n_clusters=3");
  REQUIRE_MESSAGE(deep.code == 0, deep.err);
  m = read_json(scratch() / "dsnmf" / "metrics.json");
  CHECK(m["acc"].get<double>() == 1.0);
  CHECK(m["reconstruction_err"].get<double>() <= m["pretrained_reconstruction_err"].get<double>());
  CHECK(read_output("dsnmf", "embedding.npy").sizes() == Shape{90, 3});
  CHECK(read_output("dsnmf", "labels.npy").sizes() == Shape{90});

  const CliResult bad = cake_cli("run deep-semi-nmf" + input + " --out dsnmf-bad --set layers=8,1");
  CHECK(bad.code == 1);
  CHECK(contains(bad.err, "layer 2 has 1 components"));
}

TEST_CASE("cake run gmm: the likelihood of the per-blob maximum-likelihood Gaussians, and BIC/AIC") {
  // On blobs this far apart EM's fixed point is each blob's own Gaussian fit, weights 1/3, and
  // every point's likelihood comes from its own blob only:
  //   log p(x_i) = log(1/3) + log N(x_i | mu_c, Sigma_c + reg_covar I).
  const Blobs& b = blobs();
  double expected = 0;
  for (int c = 0; c < kBlobCount; ++c) {
    const Moments g = blob_moments(c);
    const double a = g.cxx + 1e-6, s = g.cxy, d = g.cyy + 1e-6, det = a * d - s * s;
    for (int i = c * kPerBlob; i < (c + 1) * kPerBlob; ++i) {
      const double dx = b.x[2 * i] - g.mx, dy = b.x[2 * i + 1] - g.my;
      const double mahalanobis = (d * dx * dx - 2 * s * dx * dy + a * dy * dy) / det;
      expected += std::log(1.0 / 3) - std::log(2 * std::numbers::pi) - 0.5 * std::log(det) - 0.5 * mahalanobis;
    }
  }
  expected /= kN;
  const json m = run_on_blobs("gmm", "n_components=3 covariance_type=full", "gmm");
  CHECK(m["nmi"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
  const double ll = m["log_likelihood"].get<double>();
  CHECK(ll == doctest::Approx(expected).epsilon(1e-6));
  // Full covariances in 2-D: 2 free weights + 3 x 2 means + 3 x 3 covariance entries = 17.
  CHECK(m["n_parameters"] == 17);
  CHECK(m["bic"].get<double>() == doctest::Approx(-2 * kN * ll + 17 * std::log(double(kN))));
  CHECK(m["aic"].get<double>() == doctest::Approx(-2 * kN * ll + 2 * 17));
  CHECK(m["converged"] == true);

  const json diag = run_on_blobs("gmm", "n_components=3 covariance_type=diag", "gmm_diag");
  CHECK(diag["nmi"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(diag["n_parameters"] == 14);  // 2 + 6 means + 6 variances
  CHECK(diag["log_likelihood"].get<double>() <= ll + 1e-9);  // diagonal is a special case of full
}

TEST_CASE("cake run pca: the explained variance of the 2 x 2 sample covariance, in closed form") {
  const Blobs& b = blobs();
  double mx = 0, my = 0;
  for (int i = 0; i < kN; ++i) {
    mx += b.x[2 * i] / kN;
    my += b.x[2 * i + 1] / kN;
  }
  double a = 0, s = 0, d = 0;
  for (int i = 0; i < kN; ++i) {
    const double dx = b.x[2 * i] - mx, dy = b.x[2 * i + 1] - my;
    a += dx * dx / (kN - 1);
    s += dx * dy / (kN - 1);
    d += dy * dy / (kN - 1);
  }
  // Eigenvalues of [[a, s], [s, d]]: (a + d) / 2 +- sqrt(((a - d) / 2)^2 + s^2).
  const double half_trace = (a + d) / 2, radius = std::sqrt((a - d) * (a - d) / 4 + s * s);
  const double top = half_trace + radius, bottom = half_trace - radius;

  for (const char* solver : {"full", "covariance_eigh", "randomized"}) {
    const json m = run_on_blobs("pca", std::string("n_components=1 svd_solver=") + solver, "pca");
    REQUIRE(m["explained_variance_ratio"].size() == 1);
    CHECK(m["explained_variance_ratio"][0].get<double>() == doctest::Approx(top / (top + bottom)).epsilon(1e-5));
    CHECK(m["explained_variance"][0].get<double>() == doctest::Approx(top).epsilon(1e-5));
    CHECK(m["noise_variance"].get<double>() == doctest::Approx(bottom).epsilon(1e-4));
    const Tensor embedding = read_output("pca", "embedding.npy");
    CHECK(embedding.sizes() == Shape{kN, 1});
    // The projections are centred and their variance is the top eigenvalue.
    const Tensor e = embedding.to(kFloat64);
    CHECK(e.mean().item<double>() == doctest::Approx(0.0).epsilon(1e-4).scale(1.0));
    CHECK((e * e).sum().item<double>() / (kN - 1) == doctest::Approx(top).epsilon(1e-4));
  }
}

TEST_CASE("cake run tsne keeps every point beside its own blob") {
  for (const char* method : {"barnes_hut", "exact"}) {
    const json m = run_on_blobs("tsne", std::string("perplexity=10 method=") + method, "tsne");
    const Tensor embedding = read_output("tsne", "embedding.npy");
    REQUIRE(embedding.sizes() == Shape{kN, 2});
    // Each point's nearest neighbour in the plane is from its own blob.
    CHECK(metrics::knn_accuracy(embedding, blobs().y, 1) == 1.0);
    CHECK(m["trustworthiness"].get<double>() > 0.9);
    CHECK(m["trustworthiness"].get<double>() <= 1.0);
    const double kl = m["kl_divergence"].get<double>();
    CHECK(std::isfinite(kl));
    CHECK(kl > 0.0);
    CHECK(m["n_iter"].get<std::int64_t>() > 250);  // past the early-exaggeration phase
  }
  // method=fft (FIt-SNE) and its interpolation settings reach the algorithm; a coarse grid
  // (10 intervals), since its cost does not shrink with the number of points (the gradient's
  // accuracy is tested in tests/algorithms/manifold/test_tsne.cpp).
  const json m = run_on_blobs("tsne", "perplexity=10 method=fft n_iter=300 n_interpolation_points=3 min_num_intervals=10", "tsne_fft");
  CHECK(metrics::knn_accuracy(read_output("tsne_fft", "embedding.npy"), blobs().y, 1) == 1.0);
  CHECK(m["trustworthiness"].get<double>() > 0.9);
  const CliResult bad = cake_cli("run tsne --data X.npy --quiet --out bad_rate --set learning_rate=fast");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("learning_rate") != std::string::npos);
}

TEST_CASE("cake run umap keeps every point beside its own blob and scores the embedding") {
  // y.npy doubles as a clusters file: embedding_clusters.png is coloured by it.
  const json m = run_on_blobs("umap", "n_neighbors=10 n_epochs=100 clusters=y.npy", "umap");
  const Tensor embedding = read_output("umap", "embedding.npy");
  REQUIRE(embedding.sizes() == Shape{kN, 2});
  CHECK(metrics::knn_accuracy(embedding, blobs().y, 1) == 1.0);
  CHECK(m["trustworthiness"].get<double>() > 0.9);
  CHECK(m["knn_preservation"].get<double>() > 0.3);
  CHECK(m["knn_preservation"].get<double>() <= 1.0);
  CHECK(m["a"].get<double>() == doctest::Approx(1.577).epsilon(2e-3));  // min_dist 0.1, spread 1
  CHECK(m["n_epochs"].get<std::int64_t>() == 100);
  CHECK(m["nn_method"].get<std::string>() == "exact");
  // Three blobs, ten neighbours: three components, each given its own spectral layout.
  CHECK(m["init"].get<std::string>().rfind("spectral (3 connected components laid out one by one", 0) == 0);
  if (is_png(scratch() / "umap" / "embedding.png")) CHECK(is_png(scratch() / "umap" / "embedding_clusters.png"));
  // A clusters file of the wrong length is refused before any work, naming the file.
  data::write_npy(scratch() / "short.npy", tensor(std::vector<std::int64_t>{0, 1}, {2}));
  const CliResult bad = cake_cli("run umap --data X.npy --quiet --out bad_clusters --set clusters=short.npy");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("short.npy") != std::string::npos);

  // transform= places other samples (here the data again) in the fitted layout: each lands
  // nearest to a fitted point of its own blob. A file of another width is refused, named.
  const json t = run_on_blobs("umap", "n_neighbors=10 n_epochs=100 transform=X.npy", "umap_transform");
  CHECK(t["transformed_samples"].get<std::int64_t>() == kN);
  const Tensor fitted = read_output("umap_transform", "embedding.npy").to(kFloat64);
  const Tensor placed = read_output("umap_transform", "transformed.npy").to(kFloat64);
  REQUIRE(placed.sizes() == Shape{kN, 2});
  const std::vector<std::int64_t>& blob = blobs().y;
  const double *pf = fitted.data_ptr<double>(), *pp = placed.data_ptr<double>();
  std::int64_t right = 0;
  for (std::int64_t i = 0; i < kN; ++i) {
    std::int64_t nearest = 0;
    for (std::int64_t j = 1; j < kN; ++j) {
      auto d2 = [&](std::int64_t r) { return std::pow(pp[2 * i] - pf[2 * r], 2) + std::pow(pp[2 * i + 1] - pf[2 * r + 1], 2); };
      if (d2(j) < d2(nearest)) nearest = j;
    }
    right += blob[nearest] == blob[i];
  }
  CHECK(right == kN);
  data::write_npy(scratch() / "wide.npy", zeros({4, 3}));
  const CliResult wide = cake_cli("run umap --data X.npy --quiet --out bad_transform --set transform=wide.npy");
  CHECK(wide.code == 2);
  CHECK(wide.err.find("wide.npy") != std::string::npos);
}
