// End-to-end tests of the `cake` binary fed what a hostile or careless user would type: values
// at the edge of float32, non-UTF-8 paths, labels no metric can read, numbers out of range,
// folders and FIFOs where files belong. Each must end with a message (exit 1 or 2) that names
// the fault, or run correctly; never a crash, a hang, or a silent wrong answer.
// docs/reliability.md lists these classes and points here.
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "cake/autograd/ops.h"
#include "cake/data/npy.h"
#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace cake::testing;
using cake::testing::contains;

namespace {

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// 30 points in the plane in three groups, and their labels.
void write_small(const fs::path& dir) {
  std::vector<float> x;
  std::vector<std::int64_t> y;
  for (int i = 0; i < 30; ++i) {
    x.push_back(static_cast<float>(10 * (i % 3) + 0.1 * (i / 3)));
    x.push_back(static_cast<float>(0.05 * i));
    y.push_back(i % 3);
  }
  data::write_npy(dir / "X.npy", tensor(x, {30, 2}));
  data::write_npy(dir / "y.npy", tensor(y, {30}));
}

}  // namespace

TEST_CASE("values near 1e19 are refused with a message by every clustering and embedding, never a crash") {
  const fs::path dir = case_dir("huge");
  std::vector<float> x;
  for (int i = 0; i < 40; ++i) {
    x.push_back(i % 2 ? 1e19f : -1e19f);
    x.push_back(static_cast<float>(i));
  }
  data::write_npy(dir / "X.npy", tensor(x, {40, 2}));
  for (const char* algorithm : {"kmeans", "kmeans-lloyd", "minibatch-kmeans", "gmm", "agglomerative", "spectral",
                                "landmark-spectral", "sparse-subspace", "graph-agglomerative", "nmf-clustering", "dbscan", "pca", "tsne", "nmf", "deep-semi-nmf",
                                "fastica", "sparse-coding"}) {
    const std::string landmarks = std::string(algorithm) == "landmark-spectral" ? " n_landmarks=10" : "";
    const CliResult r =
        cake_cli(std::string("run ") + algorithm + " --data X.npy --quiet --set n_clusters=2" + landmarks, dir);
    const CliResult plain = r.code == 2 ? cake_cli(std::string("run ") + algorithm + " --data X.npy --quiet", dir) : r;
    INFO(algorithm, ": exit ", plain.code, ": ", plain.err);
    CHECK(plain.code == 1);
    CHECK(contains(plain.err, "rescale the data"));
  }
}

TEST_CASE("a path that is not UTF-8 is recorded escaped, and every JSON file is still written") {
  const fs::path dir = case_dir("bytes");
  write_small(dir);
  const std::string odd = "d\xff\xfe.npy";
  fs::copy_file(dir / "X.npy", dir / odd);
  const CliResult r = cake_cli("run kmeans --data '" + odd + "' --quiet --out out --set n_clusters=3", dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json config = read_json(dir / "out" / "config.json");
  CHECK(config["data"] == "d\\xff\\xfe.npy");
  CHECK(contains(config["command"].get<std::string>(), "d\\xff\\xfe.npy"));
  CHECK(read_json(dir / "out" / "metrics.json").contains("n_clusters"));

  // An error whose message quotes the path still reaches the terminal, naming the file.
  write_text(dir / "bad\xff.npy", "not an npy file");
  const CliResult bad = cake_cli("run kmeans --data 'bad\xff.npy' --quiet --out out2", dir);
  CHECK(bad.code == 1);
  CHECK(contains(bad.err, "bad\\xff.npy"));
  CHECK_FALSE(contains(bad.err, "type_error"));
}

TEST_CASE("labels: integers representable in int64; -1 is noise in predictions only") {
  const fs::path dir = case_dir("labels");
  write_small(dir);
  const double inf = std::numeric_limits<double>::infinity();
  data::write_npy(dir / "inf.npy", tensor({0.0, inf, 1.0}, {3}, kFloat64));
  data::write_npy(dir / "huge.npy", tensor({0.0, 1e300, -1e300}, {3}, kFloat64));
  data::write_npy(dir / "two63.npy", tensor({0.0, 9223372036854775808.0, 1.0}, {3}, kFloat64));
  data::write_npy(dir / "ok.npy", tensor({0.0, 1.0, 2.0}, {3}, kFloat64));
  data::write_npy(dir / "negative.npy", tensor({0, -3, 1}, {3}, kInt64));
  data::write_npy(dir / "noise.npy", tensor({0, -1, 1}, {3}, kInt64));
  data::write_npy(dir / "below.npy", tensor({0, -2, 1}, {3}, kInt64));

  for (const char* bad : {"inf.npy", "huge.npy", "two63.npy"}) {
    const CliResult r = cake_cli(std::string("eval --pred ok.npy --labels ") + bad, dir);
    INFO(std::string(bad), ": ", r.err);
    CHECK(r.code == 1);
    CHECK(contains(r.err, bad));
    CHECK(contains(r.err, "representable in int64"));
    CHECK(contains(r.err, "at index 1"));
  }
  const CliResult negative_truth = cake_cli("eval --pred ok.npy --labels negative.npy", dir);
  CHECK(negative_truth.code == 1);
  CHECK(contains(negative_truth.err, "negative.npy: label -3 at index 1 is negative"));
  const CliResult noise_truth = cake_cli("eval --pred ok.npy --labels noise.npy", dir);
  CHECK(noise_truth.code == 1);
  CHECK(contains(noise_truth.err, "-1 means noise only in predictions"));
  const CliResult below = cake_cli("eval --pred below.npy --labels ok.npy", dir);
  CHECK(below.code == 1);
  CHECK(contains(below.err, "below.npy: label -2 at index 1 is negative; predicted labels are cluster ids >= 0, or -1"));

  const CliResult noise = cake_cli("eval --pred noise.npy --labels ok.npy --json", dir);
  REQUIRE_MESSAGE(noise.code == 0, noise.err);
  const json scores = json::parse(noise.out);
  CHECK(scores["n_noise"] == 1);
  CHECK(scores["n_clusters"] == 2);
  CHECK(scores["n_classes"] == 3);

  // The same rules for --labels of a run.
  data::write_npy(dir / "y_bad.npy", tensor(std::vector<double>(30, 1e300), {30}));
  const CliResult run = cake_cli("run kmeans --data X.npy --labels y_bad.npy --quiet", dir);
  CHECK(run.code == 1);
  CHECK(contains(run.err, "y_bad.npy: labels must be integers representable in int64"));
}

TEST_CASE("numbers: seeds, threads, config integers and repeated --set keys out of range are refused") {
  const fs::path dir = case_dir("numbers");
  write_small(dir);
  const CliResult minus = cake_cli("run kmeans --data X.npy --quiet --seed -1", dir);
  CHECK(minus.code == 2);
  CHECK(contains(minus.err, "--seed: expected a whole number from 0 to 18446744073709551615, got '-1'"));
  const CliResult text = cake_cli("run kmeans --data X.npy --quiet --seed 1.5", dir);
  CHECK(text.code == 2);
  const CliResult max = cake_cli("run kmeans --data X.npy --quiet --out max --seed 18446744073709551615", dir);
  CHECK_MESSAGE(max.code == 0, max.err);
  CHECK(read_json(dir / "max" / "config.json")["seed"] == std::numeric_limits<std::uint64_t>::max());

  for (const char* threads : {"-4", "0", "100000"}) {
    const CliResult r = cake_cli(std::string("run kmeans --data X.npy --quiet --threads ") + threads, dir);
    INFO("--threads ", threads, ": ", r.err);
    CHECK(r.code == 2);
    CHECK(contains(r.err, "not in range 1 to 1024"));
  }

  for (const char* seed : {"-5", "\"7\"", "1.5"}) {
    write_text(dir / "seed.json", std::string(R"({"algorithm": "kmeans", "params": {}, "seed": )") + seed + "}");
    const CliResult r = cake_cli("run kmeans --data X.npy --quiet --config seed.json", dir);
    INFO("seed ", seed, ": ", r.err);
    CHECK(r.code == 2);
    CHECK(contains(r.err, "seed: expected a whole number from 0 to 18446744073709551615"));
  }

  write_text(dir / "big.json", R"({"n_clusters": 18446744073709551615})");
  const CliResult big = cake_cli("run kmeans --data X.npy --quiet --config big.json", dir);
  CHECK(big.code == 2);
  CHECK(contains(big.err, "outside the int range"));
  write_text(dir / "bigf.json", R"({"n_clusters": 1e30})");
  CHECK(contains(cake_cli("run kmeans --data X.npy --quiet --config bigf.json", dir).err, "outside the int range"));
  const CliResult set_big = cake_cli("run kmeans --data X.npy --quiet --set n_clusters=99999999999999999999", dir);
  CHECK(set_big.code == 2);
  CHECK(contains(set_big.err, "outside the int range"));

  const CliResult twice = cake_cli("run kmeans --data X.npy --quiet --set n_clusters=3 n_clusters=4", dir);
  CHECK(twice.code == 2);
  CHECK(contains(twice.err, "parameter n_clusters is given more than once"));
  write_text(dir / "dup.json", R"({"n_clusters": 3, "n_clusters": 4})");
  const CliResult dup = cake_cli("run kmeans --data X.npy --quiet --config dup.json", dir);
  CHECK(dup.code == 2);
  CHECK(contains(dup.err, "the key \"n_clusters\" appears twice"));
}

TEST_CASE("messages: folders, FIFOs and devices are named as such, and --config is bounded") {
  const fs::path dir = case_dir("messages");
  write_small(dir);
  fs::create_directories(dir / "folder.npy");
  fs::create_directories(dir / "plain_folder");
  REQUIRE(::mkfifo((dir / "pipe.npy").c_str(), 0600) == 0);

  const CliResult folder = cake_cli("run kmeans --data folder.npy --quiet", dir);
  CHECK(folder.code == 1);
  CHECK(contains(folder.err, "'folder.npy': is a directory, not a file"));
  CHECK(contains(cake_cli("run kmeans --data plain_folder --quiet", dir).err, "is a directory, not a file"));
  const CliResult fifo = cake_cli("run kmeans --data pipe.npy --quiet", dir);  // must not block
  CHECK(fifo.code == 1);
  CHECK(contains(fifo.err, "'pipe.npy': is a FIFO (named pipe), not a regular file"));

  const CliResult config_folder = cake_cli("run kmeans --data X.npy --quiet --config plain_folder", dir);
  CHECK(config_folder.code == 1);
  CHECK(contains(config_folder.err, "is a directory, not a file"));
  CHECK_FALSE(contains(config_folder.err, "not valid JSON"));
  const CliResult zero = cake_cli("run kmeans --data X.npy --quiet --config /dev/zero", dir);  // must not hang
  CHECK(zero.code == 1);
  CHECK(contains(zero.err, "'/dev/zero': is a device, not a regular file"));
  // A number beyond double is nlohmann's out_of_range, not a parse_error (found by fuzz_json_config).
  write_text(dir / "overflow.json", R"({"tol": 1e400})");
  const CliResult overflow = cake_cli("run kmeans --data X.npy --quiet --config overflow.json", dir);
  CHECK(overflow.code == 1);
  CHECK(contains(overflow.err, "'overflow.json': not valid JSON"));
  write_text(dir / "large.json", "{\"n_clusters\": 3" + std::string(17u << 20, ' ') + "}");
  const CliResult large = cake_cli("run kmeans --data X.npy --quiet --config large.json", dir);
  CHECK(large.code == 1);
  CHECK(contains(large.err, "more than the 16777216 this reader accepts"));
}

TEST_CASE("messages: CSV infinities carry their line; a first row with a typo is not taken as the header") {
  const fs::path dir = case_dir("csv");
  write_text(dir / "inf.csv", "1,2\n3,4\n5,inf\n");
  const CliResult inf = cake_cli("run kmeans --data inf.csv --quiet", dir);
  CHECK(inf.code == 1);
  CHECK(contains(inf.err, "'inf.csv': line 3, column '1': 'inf' is infinite"));
  write_text(dir / "typo.csv", "1,2x,3\n4,5,6\n7,8,9\n");
  const CliResult typo = cake_cli("run kmeans --data typo.csv --quiet", dir);
  CHECK(typo.code == 1);
  CHECK(contains(typo.err, "line 1, column '1': '2x' is not a number"));
  CHECK(contains(typo.err, "read as data, not as a header"));
}

TEST_CASE("t-SNE: identical points embed without NaN; divergence and an oversized FFT grid are refused") {
  const fs::path dir = case_dir("tsne");
  data::write_npy(dir / "same.npy", full({60, 3}, 1.5f));
  const CliResult same = cake_cli("run tsne --data same.npy --quiet --out same --set perplexity=5 n_iter=250", dir);
  REQUIRE_MESSAGE(same.code == 0, same.err);
  const Tensor embedding = data::read_npy(dir / "same" / "embedding.npy");
  CHECK(cake::isfinite(embedding).to(kInt64).sum().item<std::int64_t>() == embedding.numel());
  CHECK(std::isfinite(read_json(dir / "same" / "metrics.json")["kl_divergence"].get<double>()));

  write_small(dir);
  const CliResult diverge =
      cake_cli("run tsne --data X.npy --quiet --set perplexity=5 n_iter=250 learning_rate=1e300", dir);
  CHECK(diverge.code == 1);
  CHECK(contains(diverge.err, "TSNE: the optimisation diverged at iteration"));

  const CliResult grid = cake_cli("run tsne --data X.npy --quiet --set method=fft min_num_intervals=100000", dir);
  CHECK(grid.code == 1);
  CHECK(contains(grid.err, "must be at most 1500 grid nodes per dimension"));
}

TEST_CASE("figures of images far larger than a figure may be are skipped, the run succeeds") {
  const fs::path dir = case_dir("figures");
  // Two "images" of 1 x 200000 pixels: the cluster grid would need gigabytes.
  data::write_npy(dir / "wide.npy", rand({2, 1, 200000}));
  const CliResult r = cake_cli("run kmeans --data wide.npy --out wide --set n_clusters=2 n_init=1", dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(contains(r.out + r.err, "figure cluster_samples.png skipped"));
  CHECK_FALSE(fs::exists(dir / "wide" / "cluster_samples.png"));
  CHECK(fs::exists(dir / "wide" / "labels.npy"));
}

TEST_CASE("huge dimensions: a full-covariance mixture over 5000 features is refused, not left to run for hours") {
  const fs::path dir = case_dir("dims");
  data::write_npy(dir / "wide.npy", rand({3, 5000}));
  const CliResult full = cake_cli("run gmm --data wide.npy --quiet --set n_components=1", dir);
  CHECK(full.code == 1);
  CHECK(contains(full.err, "with 5000 features needs 5000 x 5000 covariance matrices"));
  const CliResult diag = cake_cli("run gmm --data wide.npy --quiet --set n_components=1 covariance_type=diag", dir);
  CHECK_MESSAGE(diag.code == 0, diag.err);
}

TEST_CASE("degenerate data: messages that say what is wrong with the data, not what LAPACK or PCA said") {
  const fs::path dir = case_dir("degenerate");
  data::write_npy(dir / "const.npy", full({50, 4}, 1.0f));
  data::write_npy(dir / "two.npy", tensor({0.0f, 1.0f, 2.0f, 3.0f}, {2, 2}));
  data::write_npy(dir / "onefeat.npy", rand({50, 1}));
  const CliResult constant = cake_cli("run fastica --data const.npy --quiet", dir);
  CHECK(constant.code == 1);
  CHECK(contains(constant.err, "FastICA.fit: the data are constant"));
  const CliResult rank = cake_cli("run fastica --data two.npy --quiet", dir);  // 2 samples: centred rank 1
  CHECK(rank.code == 1);
  CHECK(contains(rank.err, "have rank 1, fewer than the 2 components"));
  const CliResult tsne = cake_cli("run tsne --data onefeat.npy --quiet --set perplexity=5", dir);
  CHECK(tsne.code == 1);
  CHECK(contains(tsne.err, "TSNE.fit: init=\"pca\" needs at least 2 features"));
}
