// bench_classical.cpp: the classical suite on Fashion-MNIST, the tasks of issue 6, timed once
// each, printed in the same format as bench/peer_classical.py (scikit-learn 1.2) so that
// bench/run_classical.sh can put the two side by side.
//
//   cmake -B build -DCAKE_BUILD_BENCH=ON && ninja -C build bench_classical
//   ./build/bench/bench_classical [task ...]     # tasks: see kAllTasks; default all
//   ./build/bench/bench_classical gmm_seeds diag 10  # the objective over seeds (peer_gmm_seeds.py)
//   ./build/bench/bench_classical gmm_same_start full # EM from peer_gmm_seeds.py's saved start
//   ./build/bench/bench_classical tsne_large 20000 1000  # Barnes-Hut vs FFT t-SNE at large N
//
// Each task is a fit of several seconds to minutes, so it runs once (no Google Benchmark
// repetition loop): one line per task with wall seconds, process CPU seconds, the objective
// (inertia, mean log-likelihood, explained variance ratio, KL divergence) and extra fields.
// Same settings as the peer: K = 10, n_init = 10, random_state 0, 2 threads.
#include <cake/cake.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/manifold/tsne.h"
#include "cake/algorithms/train/linear_probe.h"
#include "cake/data/datasets.h"
#include "cake/data/npy.h"

namespace {

using namespace cake;
using namespace cake::algorithms;

struct Timing {
  double wall = 0, cpu = 0;
};

Timing timed(const std::function<void()>& fn) {
  const auto wall = std::chrono::steady_clock::now();
  const std::clock_t cpu = std::clock();
  fn();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count(),
          static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC};
}

void report(const std::string& name, Timing t, double objective, const std::string& extra) {
  std::printf("%-22s wall=%8.3f cpu=%8.3f objective=%.6g %s\n", name.c_str(), t.wall, t.cpu, objective, extra.c_str());
  std::fflush(stdout);
}

std::string scores(const Tensor& y, const Tensor& labels) {
  char text[64];
  std::snprintf(text, sizeof text, "acc=%.4f nmi=%.4f", metrics::acc(y, labels), metrics::nmi(y, labels));
  return text;
}

// Rows of pixels in [0, 1], float32 [N, 784].
Tensor flat_images(const data::LabeledData& d) { return d.images.reshape({d.images.size(0), -1}).contiguous(); }

// `gmm_seeds TYPE SEEDS`: GaussianMixture(10, TYPE) from seeds 0 .. SEEDS-1 on the PCA-50 that
// bench/peer_gmm_seeds.py --prepare saved, one line per seed, the same format as that script.
int gmm_seeds(const std::string& covariance_type, int seeds) {
  const char* dir = std::getenv("CAKE_BENCH_DATA");
  const std::string path = std::string(dir ? dir : "/tmp/cake_classical2") + "/fmnist_train_pca50.npy";
  const Tensor x50 = data::read_npy(path);
  for (int seed = 0; seed < seeds; ++seed) {
    GaussianMixture g({.n_components = 10, .covariance_type = covariance_type, .random_state = seed});
    const Timing t = timed([&] { g.fit(x50); });
    std::printf("gmm_%s seed=%d wall=%.3f objective=%.6f n_iter=%lld\n", covariance_type.c_str(), seed, t.wall,
                g.score(x50), static_cast<long long>(g.n_iter()));
    std::fflush(stdout);
  }
  return 0;
}

// `gmm_same_start TYPE`: EM from the start peer_gmm_seeds.py same_start saved (weights, means,
// precisions from one scikit-learn k-means run), so both libraries run the same EM iterations.
int gmm_same_start(const std::string& covariance_type) {
  const char* dir = std::getenv("CAKE_BENCH_DATA");
  const std::string base = std::string(dir ? dir : "/tmp/cake_classical2") + "/";
  const Tensor x50 = data::read_npy(base + "fmnist_train_pca50.npy").to(kFloat64);
  auto start = [&](const char* name) { return data::read_npy(base + "gmm_start_" + name + "_" + covariance_type + ".npy"); };
  GaussianMixture g({.n_components = 10,
                     .covariance_type = covariance_type,
                     .weights_init = start("weights"),
                     .means_init = start("means"),
                     .precisions_init = start("precisions")});
  const Timing t = timed([&] { g.fit(x50); });
  std::printf("gmm_%s_same_start wall=%.3f objective=%.6f n_iter=%lld\n", covariance_type.c_str(), t.wall, g.score(x50),
              static_cast<long long>(g.n_iter()));
  return 0;
}

// `tsne_large [N] [N_ITER]`: Barnes-Hut against the FFT gradient (FIt-SNE) on the first N
// (default 20000) Fashion-MNIST training images after PCA-50, N_ITER (default 1000) iterations
// each, random_state 0. Trustworthiness T(12) on the first 5000 points of input and embedding
// (all N would need N^2 input distances).
int tsne_large(std::int64_t n, std::int64_t n_iter) {
  const Tensor x = flat_images(data::load_named("fashion-mnist:train:" + std::to_string(n)));
  const Tensor x50 = PCA({.n_components = 50, .random_state = 0}).fit_transform(x);
  const std::int64_t sample = std::min<std::int64_t>(5000, n);
  for (const std::string method : {"barnes_hut", "fft"}) {
    TSNE tsne({.n_iter = n_iter, .method = method, .random_state = 0});
    const Timing t = timed([&] { tsne.fit(x50); });
    char extra[128];
    std::snprintf(extra, sizeof extra, "n=%lld n_iter=%lld trustworthiness_5000=%.4f", static_cast<long long>(n),
                  static_cast<long long>(tsne.n_iter()),
                  metrics::trustworthiness(x50.narrow(0, 0, sample), tsne.embedding().narrow(0, 0, sample), 12));
    report("tsne_large_" + method, t, tsne.kl_divergence(), extra);
  }
  return 0;
}

// `logreg`: the linear probe's solver on the standardised pixels of the 60,000 training images
// (float64, L-BFGS from zero, l2 = 1e-4, at most 500 iterations), scored on the test images. The
// objective is the mean cross-entropy + (l2 / 2) |W|^2 at the solution, as peer_classical.py's.
void logreg(const Tensor& x, const Tensor& y) {
  const data::LabeledData test_set = data::load_named("fashion-mnist:test");
  const Tensor train = x.to(kFloat64);
  const Tensor test = flat_images(test_set).to(kFloat64);
  const Tensor mean = train.mean(0, true), scale = train.std(0, true, /*correction=*/0).clamp(1e-8, std::nullopt);
  const Tensor train_s = (train - mean) / scale, test_s = (test - mean) / scale;
  train::LogisticRegression model({.l2 = 1e-4, .max_iter = 500});
  const Timing t = timed([&] { model.fit(train_s, y); });
  char extra[96];
  std::snprintf(extra, sizeof extra, "n_iter=%lld test_accuracy=%.4f", static_cast<long long>(model.n_iter()),
                model.score(test_s, test_set.labels));
  report("logreg_pixels", t, model.loss(), extra);
}

}  // namespace

int main(int argc, char** argv) {
  set_num_threads(2);
  if (argc == 4 && std::string(argv[1]) == "gmm_seeds") return gmm_seeds(argv[2], std::atoi(argv[3]));
  if (argc == 3 && std::string(argv[1]) == "gmm_same_start") return gmm_same_start(argv[2]);
  if (argc >= 2 && argc <= 4 && std::string(argv[1]) == "tsne_large")
    return tsne_large(argc >= 3 ? std::atoll(argv[2]) : 20000, argc >= 4 ? std::atoll(argv[3]) : 1000);
  const std::vector<std::string> kAllTasks = {"kmeans_pixels", "kmeans_pixels_elkan", "kmeans_pca", "gmm_diag",
                                              "gmm_full",      "pca",                 "pca_full",   "tsne",
                                              "tsne_fft",      "logreg"};
  std::set<std::string> tasks(argv + 1, argv + argc);
  if (tasks.empty()) tasks.insert(kAllTasks.begin(), kAllTasks.end());

  const data::LabeledData train = data::load_named("fashion-mnist:train");
  const Tensor x = flat_images(train), y = train.labels;
  Tensor x50;
  if (tasks.count("kmeans_pca") || tasks.count("gmm_diag") || tasks.count("gmm_full"))
    x50 = PCA({.n_components = 50, .svd_solver = "randomized", .random_state = 0}).fit_transform(x);

  for (const std::string algorithm : {"lloyd", "elkan"}) {
    if (!tasks.count(algorithm == "lloyd" ? "kmeans_pixels" : "kmeans_pixels_elkan")) continue;
    KMeans km({.n_clusters = 10, .n_init = 10, .random_state = 0, .algorithm = algorithm});
    const Timing t = timed([&] { km.fit(x); });
    report("kmeans_pixels_" + algorithm, t, km.inertia(),
           "n_iter=" + std::to_string(km.n_iter()) + " " + scores(y, km.labels()));
  }
  if (tasks.count("kmeans_pca")) {
    KMeans km({.n_clusters = 10, .n_init = 10, .random_state = 0});
    const Timing t = timed([&] { km.fit(x50); });
    report("kmeans_pca50_lloyd", t, km.inertia(), "n_iter=" + std::to_string(km.n_iter()) + " " + scores(y, km.labels()));
  }
  for (const std::string covariance : {"diag", "full"}) {
    if (!tasks.count("gmm_" + covariance)) continue;
    GaussianMixture g({.n_components = 10, .covariance_type = covariance, .random_state = 0});
    const Timing t = timed([&] { g.fit(x50); });
    report("gmm_" + covariance + "_pca50", t, g.score(x50),
           "lower_bound=" + std::to_string(g.lower_bound()) + " n_iter=" + std::to_string(g.n_iter()) + " " +
               scores(y, g.predict(x50)));
  }
  for (const std::string solver : {"auto", "full"}) {
    if (!tasks.count(solver == "auto" ? "pca" : "pca_full")) continue;
    PCA p({.n_components = 50, .svd_solver = solver, .random_state = 0});
    const Timing t = timed([&] { p.fit(x); });
    report("pca50_" + solver, t, p.explained_variance_ratio().sum().item<double>(), "solver=" + p.solver_used());
  }
  if (tasks.count("logreg")) logreg(x, y);
  for (const std::string method : {"barnes_hut", "fft"}) {
    if (!tasks.count(method == "barnes_hut" ? "tsne" : "tsne_fft")) continue;
    const Tensor test = flat_images(data::load_named("fashion-mnist:test:5000"));
    const Tensor t50 = PCA({.n_components = 50, .random_state = 0}).fit_transform(test);
    TSNE tsne({.method = method, .random_state = 0});
    const Timing t = timed([&] { tsne.fit(t50); });
    char extra[96];
    std::snprintf(extra, sizeof extra, "n_iter=%lld trustworthiness=%.4f", static_cast<long long>(tsne.n_iter()),
                  metrics::trustworthiness(t50, tsne.embedding(), 12));
    report(method == "barnes_hut" ? "tsne_bh_5000" : "tsne_fft_5000", t, tsne.kl_divergence(), extra);
  }
  return 0;
}
