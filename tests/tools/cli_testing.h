// cli_testing.h: what the end-to-end tests of the `cake` command line share: a scratch folder
// per test program, running the real binary (CAKE_CLI_PATH, set by tests/CMakeLists.txt) with
// its output captured, and reading what a run left behind.
//
//   const CliResult r = cake_cli("run kmeans --data X.npy --quiet --out a", case_dir("kmeans"));
//   REQUIRE_MESSAGE(r.code == 0, r.err);
//   const json metrics = read_json(case_dir("kmeans") / "a" / "metrics.json");
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "cake/autograd/ops.h"
#include "cake/data/image.h"
#include "cake/data/npy.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"

namespace cake::testing {

namespace fs = std::filesystem;

// A scratch folder for the whole test program (named by its process id), removed at exit.
inline const fs::path& scratch() {
  struct Scratch {
    fs::path root = fs::temp_directory_path() / ("cake_cli_test_" + std::to_string(::getpid()));
    Scratch() { fs::create_directories(root); }
    ~Scratch() {
      std::error_code ignored;
      fs::remove_all(root, ignored);
    }
  };
  static Scratch s;
  return s.root;
}

// A fresh, empty folder for one test case.
inline fs::path case_dir(const std::string& name) {
  const fs::path dir = scratch() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline nlohmann::json read_json(const fs::path& path) {
  REQUIRE_MESSAGE(fs::exists(path), path.string() << " was not written");
  return nlohmann::json::parse(read_text(path));
}

// Whether the Fashion-MNIST files the named data sets read are installed (CAKE_FASHION_MNIST_DIR
// or Debian's dataset-fashion-mnist); a test that needs them says it is skipped otherwise.
inline bool fashion_mnist_installed() {
  const char* dir = std::getenv("CAKE_FASHION_MNIST_DIR");
  if (fs::exists(fs::path(dir ? dir : "/usr/share/datasets/fashion-mnist") / "t10k-images-idx3-ubyte.gz")) return true;
  MESSAGE("Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist); skipped");
  return false;
}

inline bool is_png(const fs::path& path) { return read_text(path).rfind("\x89PNG\r\n\x1a\n", 0) == 0; }

struct CliResult {
  int code;             // the exit status
  std::string out, err;  // what it printed on stdout and stderr
};

// Runs `cake ARGS` inside `dir` (the scratch folder by default), stdin closed.
inline CliResult cake_cli(const std::string& args, const fs::path& dir = scratch()) {
  const fs::path out = scratch() / "stdout.txt", err = scratch() / "stderr.txt";
  const std::string command = "cd '" + dir.string() + "' && '" CAKE_CLI_PATH "' " + args + " > '" + out.string() + "' 2> '" +
                              err.string() + "' < /dev/null";
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  return {WEXITSTATUS(status), read_text(out), read_text(err)};
}

// Three well-separated blobs of 40 points in the plane (centres 8 apart, spread 0.5): X.npy
// and y.npy in `dir` (the classical commands' tests run on them).
inline void write_blobs(const fs::path& dir) {
  manual_seed(7);
  const Tensor centres = tensor({0.0, 0.0, 8.0, 0.0, 0.0, 8.0}, {3, 2});
  std::vector<std::int64_t> y(120);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<std::int64_t>(i / 40);
  const Tensor labels = tensor(y, {120});
  data::write_npy(dir / "X.npy", (index_select(centres, 0, labels) + randn({120, 2}) * 0.5).contiguous());
  data::write_npy(dir / "y.npy", labels);
}

// 60 images 28x28 of three noisy blocky prototypes: images.npy [60, 28, 28] and classes.npy in
// scratch(), written once per test program (the network commands' tests run on them).
inline void write_images() {
  static bool written = false;
  if (written) return;
  manual_seed(21);
  const Tensor blocks = (rand({3, 1, 7, 7}) > Scalar(0.5)).to(kFloat32);
  // Each 7x7 block pattern blown up 4x to 28x28: shapes a conv autoencoder picks up quickly.
  const Tensor prototypes = blocks.reshape({3, 7, 1, 7, 1}).expand({3, 7, 4, 7, 4}).reshape({3, 28, 28}) * 0.8 + 0.1;
  std::vector<std::int64_t> classes;
  for (std::int64_t i = 0; i < 60; ++i) classes.push_back(i % 3);
  const Tensor y = tensor(classes, {60});
  const Tensor x = (index_select(prototypes, 0, y) + randn({60, 28, 28}) * 0.05).clamp(0.0, 1.0);
  data::write_npy(scratch() / "images.npy", x.contiguous());
  data::write_npy(scratch() / "classes.npy", y);
  written = true;
}

// The records of a run's log.jsonl, one JSON object a line.
inline std::vector<nlohmann::json> read_log(const fs::path& path) {
  std::ifstream log(path);
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(log, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

// The per-epoch records of a run's log.jsonl (those with an "epoch" field), in order.
inline std::vector<nlohmann::json> epoch_records(const fs::path& path) {
  std::vector<nlohmann::json> rows;
  for (nlohmann::json& record : read_log(path))
    if (record.contains("epoch")) rows.push_back(std::move(record));
  return rows;
}

// Each named figure of a run folder is a PNG, or absent when Cake was built without stb.
inline void check_figures(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (data::image::png_available())
      CHECK_MESSAGE(is_png(dir / name), name << " missing or not a PNG");
    else
      CHECK_FALSE(fs::exists(dir / name));
  }
}

}  // namespace cake::testing
