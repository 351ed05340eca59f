// bench_classical2.cpp: agglomerative (ward), spectral, DBSCAN, NMF and FastICA on the data sets
// bench/peer_classical2.py prepares, timed the same way as the scikit-learn peer.
//
//   /usr/bin/python3 bench/peer_classical2.py --prepare      # writes /tmp/cake_classical2/*.npy
//   OMP_NUM_THREADS=2 build/bench/bench_classical2 --benchmark_counters_tabular=true
//   OMP_NUM_THREADS=2 /usr/bin/python3 bench/peer_classical2.py   # scikit-learn 1.2, 2 threads
//
// Each benchmark fits once per iteration on the same data as the peer, with the same
// parameters, and reports the objective beside the time (the target is equal or better
// objective in at most the peer's time). CAKE_BENCH_DATA overrides the data folder.
#include <benchmark/benchmark.h>

#include <cake/cake.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "bench/bench_common.h"
#include "cake/algorithms/cluster/agglomerative.h"
#include "cake/algorithms/cluster/dbscan.h"
#include "cake/algorithms/decomposition/fastica.h"
#include "cake/algorithms/decomposition/nmf.h"
#include "cake/algorithms/cluster/spectral.h"
#include "cake/data/npy.h"

namespace {

std::string data_dir() {
  const char* dir = std::getenv("CAKE_BENCH_DATA");
  return dir ? dir : "/tmp/cake_classical2";
}

cake::Tensor load_npy(const std::string& name) {
  return cake::data::read_npy(data_dir() + "/" + name);  // run bench/peer_classical2.py --prepare first
}

// ---- objectives (mirrored in peer_classical2.py) --------------------------------------------------

std::vector<std::int64_t> int_labels(const cake::Tensor& t) {
  const std::int64_t* p = t.data_ptr<std::int64_t>();
  return std::vector<std::int64_t>(p, p + t.numel());
}

// Total within-cluster sum of squares (ward's objective).
double within_cluster_ss(const cake::Tensor& x, const cake::Tensor& labels) {
  const auto l = int_labels(labels);
  const std::int64_t n = x.size(0), d = x.size(1);
  const double* px = x.data_ptr<double>();
  const std::int64_t k = *std::max_element(l.begin(), l.end()) + 1;
  std::vector<double> sum(static_cast<std::size_t>(k * d), 0.0), count(static_cast<std::size_t>(k), 0.0);
  double total_sq = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    count[l[i]] += 1;
    for (std::int64_t j = 0; j < d; ++j) sum[l[i] * d + j] += px[i * d + j], total_sq += px[i * d + j] * px[i * d + j];
  }
  double between = 0;
  for (std::int64_t c = 0; c < k; ++c)
    for (std::int64_t j = 0; j < d; ++j) between += sum[c * d + j] * sum[c * d + j] / count[c];
  return total_sq - between;
}

// Normalised cut of a partition on the symmetrised 10-NN graph (what spectral clustering relaxes).
double normalized_cut(const cake::Tensor& x, const cake::Tensor& labels) {
  const auto l = int_labels(labels);
  const cake::algorithms::SparseGraph a = cake::algorithms::knn_affinity(x, 10);
  const std::int64_t k = *std::max_element(l.begin(), l.end()) + 1;
  std::vector<double> volume(static_cast<std::size_t>(k), 0.0), within(static_cast<std::size_t>(k), 0.0);
  for (std::int64_t i = 0; i < a.n; ++i)
    for (std::int64_t e = a.indptr[i]; e < a.indptr[i + 1]; ++e) {
      if (a.indices[e] == i) continue;
      volume[l[i]] += a.values[e];
      if (l[a.indices[e]] == l[i]) within[l[i]] += a.values[e];
    }
  double total = 0;
  for (std::int64_t c = 0; c < k; ++c) total += (volume[c] - within[c]) / volume[c];
  return total;
}

// Sum over sources of |E log cosh(s) - E log cosh(nu)|, nu standard normal: a negentropy proxy.
double negentropy_proxy(const cake::Tensor& s) {
  const std::int64_t n = s.size(0), k = s.size(1);
  const double* p = s.data_ptr<double>();
  double total = 0;
  for (std::int64_t j = 0; j < k; ++j) {
    double mean = 0;
    for (std::int64_t i = 0; i < n; ++i) mean += std::log(std::cosh(p[i * k + j]));
    total += std::abs(mean / static_cast<double>(n) - 0.37456);
  }
  return total;
}

// ---- the benchmarks -------------------------------------------------------------------------------------

void BM_agglomerative_ward(benchmark::State& state) {
  const cake::Tensor x = load_npy("fmnist_pca50_5000.npy");
  cake::Tensor labels;
  for (auto _ : state) {
    cake::algorithms::AgglomerativeClustering model({.n_clusters = 10});
    labels = model.fit_predict(x);
  }
  state.counters["wcss"] = within_cluster_ss(x, labels);
}
BENCHMARK(BM_agglomerative_ward)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// Spectral clustering of the 10-NN graph, its labels assigned by `assign` (the peer uses the same).
void spectral_knn(benchmark::State& state, cake::algorithms::AssignLabels assign) {
  const cake::Tensor x = load_npy("fmnist_pca50_5000.npy");
  cake::Tensor labels;
  for (auto _ : state) {
    cake::algorithms::SpectralClustering model({.n_clusters = 10,
                                                .affinity = cake::algorithms::SpectralAffinity::NearestNeighbors,
                                                .n_neighbors = 10,
                                                .assign_labels = assign,
                                                .random_state = 0});
    labels = model.fit_predict(x);
  }
  state.counters["ncut"] = normalized_cut(x, labels);
}
void BM_spectral_knn(benchmark::State& state) { spectral_knn(state, cake::algorithms::AssignLabels::ClusterQR); }
BENCHMARK(BM_spectral_knn)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
// Yu & Shi's discretisation (the multiclass normalised cut).
void BM_spectral_knn_discretize(benchmark::State& state) {
  spectral_knn(state, cake::algorithms::AssignLabels::Discretize);
}
BENCHMARK(BM_spectral_knn_discretize)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

void BM_dbscan_blobs(benchmark::State& state) {
  const cake::Tensor x = load_npy("blobs2d_10000.npy");
  cake::algorithms::DBSCAN model({.eps = 0.3, .min_samples = 10});
  for (auto _ : state) benchmark::DoNotOptimize(model.fit_predict(x));
  const auto l = int_labels(model.labels());
  state.counters["clusters"] = static_cast<double>(model.n_clusters());
  state.counters["noise"] = static_cast<double>(std::count(l.begin(), l.end(), -1));
}
BENCHMARK(BM_dbscan_blobs)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

void BM_nmf_cd(benchmark::State& state) {
  const cake::Tensor x = load_npy("fmnist_10000.npy");
  cake::algorithms::NMF model({.n_components = 20, .init = cake::algorithms::NMFInit::NNDSVDA, .tol = 1e-4,
                               .max_iter = 200});
  for (auto _ : state) model.fit(x);
  state.counters["err"] = model.reconstruction_err();
  state.counters["n_iter"] = static_cast<double>(model.n_iter());
}
BENCHMARK(BM_nmf_cd)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

void BM_fastica(benchmark::State& state) {
  const cake::Tensor x = load_npy("fmnist_10000.npy");
  cake::algorithms::FastICA model({.n_components = 20, .max_iter = 200, .tol = 1e-4, .random_state = 0});
  cake::Tensor sources;
  for (auto _ : state) sources = model.fit_transform(x);
  state.counters["negentropy"] = negentropy_proxy(sources);
  state.counters["n_iter"] = static_cast<double>(model.n_iter());
}
BENCHMARK(BM_fastica)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // Two threads for Cake's loops and OpenBLAS, as the peer (override with CAKE_BENCH_THREADS).
  cake::set_num_threads(cake::bench::threads());
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
