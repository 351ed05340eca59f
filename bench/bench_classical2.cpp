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

#include <cstdlib>
#include <fstream>
#include <string>

#include "algorithms/agglomerative.h"
#include "algorithms/dbscan.h"

namespace {

std::string data_dir() {
  const char* dir = std::getenv("CAKE_BENCH_DATA");
  return dir ? dir : "/tmp/cake_classical2";
}

// A minimal .npy reader: little-endian float32/float64/int64, C order, any rank.
cake::Tensor load_npy(const std::string& name) {
  const std::string path = data_dir() + "/" + name;
  std::ifstream in(path, std::ios::binary);
  CAKE_CHECK(in, "cannot open ", path, " (run bench/peer_classical2.py --prepare first)");
  char magic[8];
  in.read(magic, 8);
  std::uint32_t header_len = 0;
  if (magic[6] == 1) {
    std::uint16_t len16 = 0;
    in.read(reinterpret_cast<char*>(&len16), 2);
    header_len = len16;
  } else {
    in.read(reinterpret_cast<char*>(&header_len), 4);
  }
  std::string header(header_len, ' ');
  in.read(header.data(), header_len);
  CAKE_CHECK(header.find("'fortran_order': False") != std::string::npos, path, ": Fortran order is not supported");
  cake::DType dtype = header.find("<f4") != std::string::npos   ? cake::kFloat32
                      : header.find("<f8") != std::string::npos ? cake::kFloat64
                                                                : cake::kInt64;
  cake::Shape shape;
  const auto open = header.find("'shape': (") + 10;
  const auto close = header.find(')', open);
  std::string dims = header.substr(open, close - open);
  std::size_t pos = 0;
  while (pos < dims.size()) {
    const auto comma = dims.find(',', pos);
    const std::string item = dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item.find_first_of("0123456789") != std::string::npos) shape.push_back(std::stoll(item));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  cake::Tensor t = cake::empty(shape, dtype);
  in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
  CAKE_CHECK(in, path, ": file shorter than its header says");
  return t;
}

void BM_agglomerative_ward(benchmark::State& state) {
  const cake::Tensor x = load_npy("fmnist_pca50_5000.npy");
  for (auto _ : state) {
    cake::algorithms::AgglomerativeClustering model({.n_clusters = 10});
    benchmark::DoNotOptimize(model.fit_predict(x));
  }
}
BENCHMARK(BM_agglomerative_ward)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
