// Tests for `cake run ... --device cuda` (tools/device_support.h, tools/run.cpp): every command
// is classified; a command without a CUDA path warns and runs on the CPU (config.json says cpu);
// one with a CUDA path gets the existing clear error on a machine without a GPU; `cake help`
// says where a command runs.
#include <doctest/doctest.h>

#include <sstream>

#include "cake/cuda/cuda.h"
#include "helpers.h"
#include "tools/cli_testing.h"
#include "tools/device_support.h"

using namespace cake;
using namespace cake::testing;
using cake::testing::contains;

namespace {

// Forty points around each of (0, 0) and (6, 0): X.npy in `dir`.
void write_points(const fs::path& dir) {
  manual_seed(5);
  const Tensor offsets = cat({zeros({40, 2}), full({40, 2}, 6.0) * tensor({1.0, 0.0}, {1, 2})}, 0);
  data::write_npy(dir / "X.npy", randn({80, 2}) * 0.5 + offsets);
}

}  // namespace

TEST_CASE("every command of `cake list` says whether it runs on --device cuda") {
  const CliResult list = cake_cli("list");
  REQUIRE(list.code == 0);
  std::istringstream lines(list.out);
  std::string line;
  int commands = 0;
  while (std::getline(lines, line)) {
    const std::string name = line.substr(0, line.find(' '));
    if (name.empty()) continue;
    CAPTURE(name);
    const auto support = cli::device_support(name);
    CHECK_MESSAGE(support.has_value(), "add " << name << " to tools/device_support.cpp and docs/cuda.md");
    if (support) CHECK_FALSE(support->note.empty());
    ++commands;
  }
  CHECK(commands > 30);
  CHECK_FALSE(cli::device_support("no-such-command").has_value());
}

TEST_CASE("a CPU-only command under --device cuda warns and runs on the CPU") {
  const fs::path dir = case_dir("cpu_only");
  write_points(dir);
  const CliResult r = cake_cli("run dbscan --data X.npy --set eps=1.0 --device cuda --quiet --out a", dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(contains(r.err, "warning: dbscan has no CUDA path ("));
  CHECK(contains(r.err, "it runs on the CPU"));
  CHECK(read_json(dir / "a" / "config.json")["device"] == "cpu");
}

TEST_CASE("a command with a CUDA path gets the no-device error on a machine without a GPU") {
  if (cuda::is_available()) return;  // the GPU tests cover the runs themselves
  const fs::path dir = case_dir("no_device");
  write_points(dir);
  for (const char* command : {"pca --set n_components=1", "autoencoder"}) {
    CAPTURE(command);
    const CliResult r = cake_cli(std::string("run ") + command + " --data X.npy --device cuda --quiet --out c", dir);
    CHECK(r.code == 2);
    CHECK((contains(r.err, "no CUDA device is available") || contains(r.err, "built without CUDA")));
    CHECK_FALSE(contains(r.err, "warning"));
    CHECK_FALSE(fs::exists(dir / "c"));
  }
}

TEST_CASE("cake help says where a command runs under --device cuda") {
  const CliResult cpu_only = cake_cli("help umap");
  REQUIRE(cpu_only.code == 0);
  CHECK(contains(cpu_only.out, "--device cuda: stays on the CPU: "));
  for (const char* gpu : {"kmeans", "gmm", "pca", "tsne", "autoencoder", "dec", "moco"}) CHECK(cli::device_support(gpu)->cuda);
}
