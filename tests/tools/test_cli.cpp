// End-to-end tests of the `cake` binary: run it on a small data set with known clusters and
// read back what it wrote; feed it bad files, bad parameters and bad flags and read its
// errors. Each test case works in its own folder under a per-process temporary directory.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cake/data/image.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/data/npy.h"
#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace cake::testing;

namespace {


const std::string kBlobRun = "run kmeans-lloyd --data X.npy --labels y.npy --set n_clusters=3 n_init=10 --seed 3";

}  // namespace

TEST_CASE("cake list and cake help describe the algorithms") {
  const fs::path dir = case_dir("list");
  const CliResult list = cake_cli("list", dir);
  CHECK(list.code == 0);
  CHECK(list.out.find("kmeans-lloyd") != std::string::npos);
  CHECK(list.out.find("plain Lloyd k-means") != std::string::npos);

  const CliResult help = cake_cli("help kmeans-lloyd", dir);
  CHECK(help.code == 0);
  for (const char* expected : {"n_clusters", "max_iter", "n_init", "300", "Lloyd 1982", "int"})
    CHECK_MESSAGE(help.out.find(expected) != std::string::npos, "help lacks " << expected << ":\n" << help.out);

  // Every help example runs as printed: no `--set name=` without a value (finetune's
  // checkpoint has no default, so its example trains the autoencoder it needs first).
  std::istringstream names(list.out);
  for (std::string line; std::getline(names, line);) {
    const std::string name = line.substr(0, line.find(' '));
    const CliResult h = cake_cli("help " + name, dir);
    const std::string example = h.out.substr(h.out.find("example:"));
    CHECK_MESSAGE(example.find("= ") == std::string::npos, name << ": " << example);
    CHECK_MESSAGE(example.find("=\n") == std::string::npos, name << ": " << example);
    if (name == "finetune") CHECK(example.find("--set checkpoint=runs/cae/model.safetensors") != std::string::npos);
  }

  const CliResult unknown = cake_cli("help kmeans-loyd", dir);
  CHECK(unknown.code == 2);
  CHECK(unknown.err.find("unknown algorithm") != std::string::npos);

  CHECK(cake_cli("", dir).code == 2);              // a subcommand is required
  CHECK(cake_cli("run kmeans-lloyd", dir).code == 2);  // --data is required
  const CliResult version = cake_cli("--version", dir);
  CHECK(version.code == 0);
#ifdef CAKE_EXPECT_OPENBLAS_OPENMP
  // CMake found OpenBLAS's OpenMP build: the binary must load it, not the system's default.
  CHECK_MESSAGE(version.out.find("OpenBLAS threads: openmp") != std::string::npos, version.out);
#else
  CHECK(version.out.find("OpenBLAS threads: ") != std::string::npos);
#endif
}

TEST_CASE("cake run clusters well-separated blobs perfectly and writes every output") {
  const fs::path dir = case_dir("blobs");
  write_blobs(dir);
  const CliResult run = cake_cli(kBlobRun + " --out result", dir);
  REQUIRE_MESSAGE(run.code == 0, run.err);
  const fs::path out = dir / "result";

  const json metrics = read_json(out / "metrics.json");
  CHECK(metrics["nmi"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(metrics["ari"].get<double>() == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(metrics["acc"].get<double>() == 1.0);
  CHECK(metrics["n_samples"] == 120);
  CHECK(metrics["n_clusters"] == 3);
  CHECK(metrics["time_s"].get<double>() >= 0.0);
  CHECK(metrics["inertia"].get<double>() > 0.0);

  // labels.npy: int64 [120], the same partition as the truth.
  const Tensor labels = data::read_npy(out / "labels.npy");
  REQUIRE(labels.dtype() == kInt64);
  REQUIRE(labels.sizes() == Shape{120});
  const std::int64_t* l = labels.data_ptr<std::int64_t>();
  for (int i = 0; i < 120; ++i) CHECK(l[i] == l[(i / 40) * 40]);
  CHECK(l[0] != l[40]);
  CHECK(l[0] != l[80]);
  CHECK(l[40] != l[80]);

  const json config = read_json(out / "config.json");
  CHECK(config["algorithm"] == "kmeans-lloyd");
  CHECK(config["params"] == json({{"n_clusters", 3}, {"max_iter", 300}, {"n_init", 10}}));
  CHECK(config["seed"] == 3);
  CHECK(config["data"] == "X.npy");
  CHECK(config["labels"] == "y.npy");
  CHECK(config["device"] == "cpu");
  CHECK(config["cake_version"].get<std::string>().size() > 0);
  CHECK(config["git_commit"].get<std::string>().size() > 0);

  // log.jsonl: one JSON object a line, from "start" to "end", iterations in between.
  std::ifstream log(out / "log.jsonl");
  std::vector<json> records;
  for (std::string line; std::getline(log, line);) records.push_back(json::parse(line));
  REQUIRE(records.size() >= 3);
  CHECK(records.front()["event"] == "start");
  CHECK(records.back()["event"] == "end");
  CHECK(records[1].contains("inertia"));

  CHECK(data::read_npy(out / "centroids.npy").sizes() == Shape{3, 2});
  for (const char* figure : {"confusion_matrix.png", "clusters.png", "objective.png"}) {
    if (image::png_available()) {
      CHECK_MESSAGE(is_png(out / figure), figure << " missing or not a PNG");
    } else {
      CHECK_FALSE(fs::exists(out / figure));
    }
  }
  for (const auto& entry : fs::directory_iterator(out))  // no temporary files left behind
    CHECK(entry.path().string().find(".tmp") == std::string::npos);

  // The same seed gives the same clustering.
  REQUIRE(cake_cli(kBlobRun + " --out again --quiet", dir).code == 0);
  CHECK(read_text(out / "labels.npy") == read_text(dir / "again" / "labels.npy"));
}

TEST_CASE("kmeans-lloyd known answer: {0, 1, 10, 11} in two clusters") {
  // Whatever two distinct points the loop starts from, it ends with centres 0.5 and 10.5 and
  // inertia 4 x 0.25 = 1 (worked by hand: from {0, 1} it goes through centres 0 and 22/3).
  const fs::path dir = case_dir("known_answer");
  data::write_npy(dir / "x.npy", tensor({0.0, 1.0, 10.0, 11.0}, {4, 1}));
  for (int seed = 0; seed < 4; ++seed) {
    const std::string out = "seed" + std::to_string(seed);
    // Appended piece by piece: g++ 12 at -O3 warns falsely (-Warray-bounds) on "literal" + string&&.
    std::string args = "run kmeans-lloyd --data x.npy --set n_clusters=2 --quiet --seed ";
    args += std::to_string(seed);
    args += " --out ";
    args += out;
    REQUIRE(cake_cli(args, dir).code == 0);
    const json metrics = read_json(dir / out / "metrics.json");
    CHECK(metrics["inertia"].get<double>() == doctest::Approx(1.0).epsilon(1e-6));
    const Tensor centres = data::read_npy(dir / out / "centroids.npy");
    const float* c = centres.data_ptr<float>();
    CHECK(std::min(c[0], c[1]) == doctest::Approx(0.5));
    CHECK(std::max(c[0], c[1]) == doctest::Approx(10.5));
    const Tensor labels = data::read_npy(dir / out / "labels.npy");
    const std::int64_t* l = labels.data_ptr<std::int64_t>();
    CHECK(l[0] == l[1]);
    CHECK(l[2] == l[3]);
    CHECK(l[0] != l[2]);
  }
}

TEST_CASE("progress: plain lines when stderr is not a terminal, nothing with --quiet") {
  const fs::path dir = case_dir("progress");
  write_blobs(dir);
  // One restart (a parameter may be given once: a second n_init would be refused).
  const CliResult loud =
      cake_cli("run kmeans-lloyd --data X.npy --labels y.npy --set n_clusters=3 n_init=1 --seed 3 --out loud", dir);
  REQUIRE(loud.code == 0);
  CHECK(loud.err.find("iteration ") != std::string::npos);
  CHECK(loud.err.find("inertia") != std::string::npos);
  CHECK(loud.err.find('\r') == std::string::npos);  // no bar redraws in a log
  CHECK(loud.out.find("outputs in loud/") != std::string::npos);

  const CliResult quiet = cake_cli(kBlobRun + " --out quiet --quiet", dir);
  CHECK(quiet.code == 0);
  CHECK(quiet.out.empty());
  CHECK(quiet.err.empty());
}

TEST_CASE("corrupt, truncated and missing .npy files are errors naming the file") {
  const fs::path dir = case_dir("bad_files");
  write_blobs(dir);
  std::ofstream(dir / "corrupt.npy") << "this is not a numpy file at all";
  const std::string good = read_text(dir / "X.npy");
  std::ofstream(dir / "truncated.npy", std::ios::binary) << good.substr(0, good.size() - 100);

  for (const char* file : {"corrupt.npy", "truncated.npy", "missing.npy"}) {
    const CliResult r = cake_cli(std::string("run kmeans-lloyd --data ") + file + " --out never", dir);
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.err.find(file) != std::string::npos, "error does not name " << file << ": " << r.err);
    CHECK_FALSE(fs::exists(dir / "never"));  // nothing created for a run that could not start
  }
  const CliResult labels = cake_cli("run kmeans-lloyd --data X.npy --labels corrupt.npy --out never", dir);
  CHECK(labels.code == 1);
  CHECK(labels.err.find("corrupt.npy") != std::string::npos);
  const CliResult short_labels = cake_cli("run kmeans-lloyd --data X.npy --labels X.npy --out never", dir);
  CHECK(short_labels.code == 1);  // [120, 2] is not a label vector
  CHECK(short_labels.err.find("X.npy") != std::string::npos);
}

TEST_CASE("unknown and ill-typed parameters are refused with the valid list") {
  const fs::path dir = case_dir("params");
  write_blobs(dir);
  const CliResult unknown = cake_cli("run kmeans-lloyd --data X.npy --set n_cluster=3", dir);
  CHECK(unknown.code == 2);
  for (const char* expected : {"no parameter 'n_cluster'", "Did you mean n_clusters?", "max_iter", "n_init"})
    CHECK_MESSAGE(unknown.err.find(expected) != std::string::npos, "missing '" << expected << "' in: " << unknown.err);

  for (const char* value : {"n_clusters=three", "n_clusters=2.5", "n_clusters=", "max_iter=1e9x"}) {
    const CliResult r = cake_cli(std::string("run kmeans-lloyd --data X.npy --set ") + value, dir);
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.err.find("expects an int") != std::string::npos, r.err);
  }
  CHECK(cake_cli("run kmeans-lloyd --data X.npy --set n_clusters", dir).code == 2);  // no '='
  const CliResult zero = cake_cli("run kmeans-lloyd --data X.npy --set n_clusters=0 --out zero", dir);
  CHECK(fs::exists(dir / "zero" / "config.json"));  // a failed run still says what it was
  CHECK(zero.code == 2);
  CHECK(zero.err.find("between 1 and the number of samples (120)") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "runs"));  // parameters are checked before a directory is made
}

TEST_CASE("--config gives parameters, --set overrides them") {
  const fs::path dir = case_dir("config");
  write_blobs(dir);
  std::ofstream(dir / "run.json") << R"({"n_clusters": 2, "max_iter": 7})";
  const CliResult r = cake_cli("run kmeans-lloyd --data X.npy --config run.json --set n_clusters=3 --out a --quiet", dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json params = read_json(dir / "a" / "config.json")["params"];
  CHECK(params["n_clusters"] == 3);
  CHECK(params["max_iter"] == 7);
  CHECK(params["n_init"] == 1);

  // A previous run's config.json reproduces it: same parameters, same seed.
  const CliResult again = cake_cli("run kmeans-lloyd --data X.npy --config a/config.json --out b --quiet", dir);
  REQUIRE_MESSAGE(again.code == 0, again.err);
  CHECK(read_json(dir / "b" / "config.json")["params"] == params);
  CHECK(read_text(dir / "a" / "labels.npy") == read_text(dir / "b" / "labels.npy"));

  std::ofstream(dir / "bad.json") << R"({"n_clusters": "many"})";
  const CliResult bad = cake_cli("run kmeans-lloyd --data X.npy --config bad.json", dir);
  CHECK(bad.code == 2);
  CHECK(bad.err.find("expects an int") != std::string::npos);
  std::ofstream(dir / "broken.json") << R"({"n_clusters": )";
  const CliResult broken = cake_cli("run kmeans-lloyd --data X.npy --config broken.json", dir);
  CHECK(broken.code == 1);
  CHECK(broken.err.find("broken.json") != std::string::npos);
}

TEST_CASE("an existing --out is never overwritten silently") {
  const fs::path dir = case_dir("overwrite");
  write_blobs(dir);
  REQUIRE(cake_cli("run kmeans-lloyd --data X.npy --out taken --quiet", dir).code == 0);
  const CliResult refused = cake_cli("run kmeans-lloyd --data X.npy --out taken --quiet", dir);
  CHECK(refused.code == 2);
  CHECK(refused.err.find("--overwrite") != std::string::npos);
  CHECK(cake_cli("run kmeans-lloyd --data X.npy --out taken --overwrite --quiet", dir).code == 0);

  // --overwrite replaces earlier runs only, never an unrelated folder.
  fs::create_directories(dir / "precious");
  std::ofstream(dir / "precious" / "thesis.tex") << "years of work";
  const CliResult protect = cake_cli("run kmeans-lloyd --data X.npy --out precious --overwrite --quiet", dir);
  CHECK(protect.code == 2);
  CHECK(fs::exists(dir / "precious" / "thesis.tex"));
}

TEST_CASE("without --out, runs/ALGORITHM-N takes the next free N") {
  const fs::path dir = case_dir("auto_out");
  write_blobs(dir);
  REQUIRE(cake_cli("run kmeans-lloyd --data X.npy --quiet", dir).code == 0);
  REQUIRE(cake_cli("run kmeans-lloyd --data X.npy --quiet", dir).code == 0);
  CHECK(fs::exists(dir / "runs" / "kmeans-lloyd-1" / "metrics.json"));
  CHECK(fs::exists(dir / "runs" / "kmeans-lloyd-2" / "metrics.json"));
  CHECK_FALSE(fs::exists(dir / "runs" / "kmeans-lloyd-3"));
}

TEST_CASE("--device cuda without a GPU build is a clear error") {
  const fs::path dir = case_dir("device");
  write_blobs(dir);
#ifndef CAKE_HAVE_CUDA
  const CliResult r = cake_cli("run kmeans-lloyd --data X.npy --device cuda", dir);
  CHECK(r.code == 2);
  CHECK(r.err.find("built without CUDA") != std::string::npos);
#endif
  const CliResult bad = cake_cli("run kmeans-lloyd --data X.npy --device tpu", dir);
  CHECK(bad.code == 2);
  CHECK(bad.err.find("cpu, cuda or cuda:N") != std::string::npos);
}

TEST_CASE("cake eval scores any clustering against true labels") {
  const fs::path dir = case_dir("eval");
  // The truth 0,0,1,1,2,2 against a relabelled copy (a perfect clustering) and a single cluster.
  data::write_npy(dir / "y.npy", tensor(std::vector<std::int64_t>{0, 0, 1, 1, 2, 2}, {6}));
  data::write_npy(dir / "perfect.npy", tensor(std::vector<std::int64_t>{5, 5, 3, 3, 4, 4}, {6}));
  data::write_npy(dir / "lumped.npy", tensor(std::vector<std::int64_t>{0, 0, 0, 0, 0, 0}, {6}));

  const CliResult table = cake_cli("eval --pred perfect.npy --labels y.npy", dir);
  REQUIRE_MESSAGE(table.code == 0, table.err);
  for (const char* name : {"nmi", "ari", "acc", "purity", "homogeneity", "completeness", "v_measure", "n_clusters"})
    CHECK_MESSAGE(table.out.find(name) != std::string::npos, "table lacks " << name << ":\n" << table.out);
  CHECK(table.out.find("acc           1.0000") != std::string::npos);

  const CliResult perfect = cake_cli("eval --pred perfect.npy --labels y.npy --json", dir);
  const json p = json::parse(perfect.out);
  CHECK(p["nmi"].get<double>() == doctest::Approx(1.0));
  CHECK(p["ari"].get<double>() == doctest::Approx(1.0));
  CHECK(p["acc"].get<double>() == doctest::Approx(1.0));
  CHECK(p["n_clusters"] == 3);

  const json l = json::parse(cake_cli("eval --pred lumped.npy --labels y.npy --json", dir).out);
  CHECK(l["nmi"].get<double>() == doctest::Approx(0.0));
  CHECK(l["ari"].get<double>() == doctest::Approx(0.0));
  CHECK(l["acc"].get<double>() == doctest::Approx(1.0 / 3.0));
  CHECK(l["n_clusters"] == 1);

  data::write_npy(dir / "short.npy", tensor(std::vector<std::int64_t>{0, 1}, {2}));
  const CliResult mismatch = cake_cli("eval --pred short.npy --labels y.npy", dir);
  CHECK(mismatch.code == 1);
  CHECK(mismatch.err.find("short.npy") != std::string::npos);
  // Neither a truth nor the data: nothing to score against.
  CHECK(cake_cli("eval --pred perfect.npy", dir).code == 2);
}

TEST_CASE("cake eval --data adds the scores from the data alone; noise is left out of them") {
  const fs::path dir = case_dir("eval_data");
  write_blobs(dir);  // X.npy [120, 2]: three blobs of 40, y.npy their classes
  const Tensor x = data::read_npy(dir / "X.npy");
  std::vector<std::int64_t> pred = int_values(data::read_npy(dir / "y.npy"));
  pred[0] = pred[50] = -1;  // two points no cluster took
  data::write_npy(dir / "pred.npy", tensor(pred, {120}));

  const CliResult both = cake_cli("eval --pred pred.npy --labels y.npy --data X.npy --json", dir);
  REQUIRE_MESSAGE(both.code == 0, both.err);
  const json s = json::parse(both.out);
  // The label-based scores as without --data; the others on the 118 clustered points.
  CHECK(s["nmi"] == json::parse(cake_cli("eval --pred pred.npy --labels y.npy --json", dir).out)["nmi"]);
  const Tensor kept = tensor(std::vector<std::int64_t>{pred.begin(), pred.end()}, {120}) != Scalar(-1);
  const Tensor rows = x.index_select(0, kept.nonzero().reshape({-1}));
  std::vector<std::int64_t> clustered;
  for (std::int64_t v : pred)
    if (v != -1) clustered.push_back(v);
  CHECK(s["silhouette"].get<double>() == doctest::Approx(metrics::silhouette(rows, clustered)).epsilon(1e-10));
  CHECK(s["silhouette_sample_size"] == 118);
  CHECK(s["davies_bouldin"].get<double>() == doctest::Approx(metrics::davies_bouldin(rows, clustered)).epsilon(1e-12));
  CHECK(s["calinski_harabasz"].get<double>() == doctest::Approx(metrics::calinski_harabasz(rows, clustered)).epsilon(1e-12));
  CHECK(s["silhouette"].get<double>() > 0.7);  // well separated blobs
  CHECK(s["n_noise"] == 2);

  // Without --labels: the data's scores alone; a smaller silhouette sample is reproducible by seed.
  const CliResult sampled = cake_cli("eval --pred pred.npy --data X.npy --sample-size 50 --seed 4 --json", dir);
  REQUIRE_MESSAGE(sampled.code == 0, sampled.err);
  const json a = json::parse(sampled.out);
  CHECK_FALSE(a.contains("nmi"));
  CHECK(a["silhouette_sample_size"] == 50);
  CHECK(a["n_clusters"] == 3);
  CHECK(a == json::parse(cake_cli("eval --pred pred.npy --data X.npy --sample-size 50 --seed 4 --json", dir).out));
  CHECK(a["silhouette"] != s["silhouette"]);
  const CliResult table = cake_cli("eval --pred pred.npy --data X.npy", dir);
  CHECK(table.out.find("calinski_harabasz ") != std::string::npos);

  // One cluster: no such scores. Beside --labels the label scores stand and stderr says why;
  // alone there is nothing to score, which is an error naming the file, not an empty success.
  data::write_npy(dir / "one.npy", tensor(std::vector<std::int64_t>(120, 4), {120}));
  const CliResult one = cake_cli("eval --pred one.npy --data X.npy --labels y.npy --json", dir);
  REQUIRE_MESSAGE(one.code == 0, one.err);
  CHECK_FALSE(json::parse(one.out).contains("silhouette"));
  CHECK(json::parse(one.out).contains("nmi"));
  CHECK(one.err.find("need 2 to N - 1") != std::string::npos);
  const CliResult nothing = cake_cli("eval --pred one.npy --data X.npy --json", dir);
  CHECK(nothing.code == 1);
  CHECK(nothing.out.empty());
  CHECK(nothing.err.find("one.npy") != std::string::npos);
  CHECK(nothing.err.find("need 2 to N - 1") != std::string::npos);
  data::write_npy(dir / "short.npy", tensor(std::vector<std::int64_t>{0, 1}, {2}));
  const CliResult rows_differ = cake_cli("eval --pred short.npy --data X.npy", dir);
  CHECK(rows_differ.code == 1);
  CHECK(rows_differ.err.find("X.npy holds 120") != std::string::npos);
  CHECK(cake_cli("eval --pred pred.npy --data X.npy --sample-size -1", dir).code == 2);
  CHECK(cake_cli("eval --pred pred.npy --labels y.npy --sample-size 50", dir).code == 2);  // a sample of what?

  // A sample that misses a cluster: the silhouette is left out (stderr says why), the rest stands.
  std::vector<std::int64_t> tiny_cluster = int_values(data::read_npy(dir / "y.npy"));
  tiny_cluster[119] = 9;  // one point alone in cluster 9
  data::write_npy(dir / "tiny.npy", tensor(tiny_cluster, {120}));
  bool left_out = false;
  for (int seed = 0; seed < 20 && !left_out; ++seed) {
    const CliResult r = cake_cli("eval --pred tiny.npy --data X.npy --sample-size 3 --json --seed " + std::to_string(seed), dir);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const json j = json::parse(r.out);
    CHECK(j.contains("davies_bouldin"));
    left_out = !j.contains("silhouette") && r.err.find("no silhouette") != std::string::npos;
  }
  CHECK(left_out);
}

TEST_CASE("cake eval --embedding: trustworthiness, k-NN preservation and 1-NN accuracy of an embedding of --data") {
  const fs::path dir = case_dir("eval_embedding");
  write_blobs(dir);  // X.npy [120, 2], y.npy
  const Tensor x = data::read_npy(dir / "X.npy");
  data::write_npy(dir / "same.npy", (x * 3.0).contiguous());  // a scaled copy keeps every neighbourhood
  manual_seed(5);
  data::write_npy(dir / "noise.npy", randn({120, 2}).contiguous());

  const CliResult same = cake_cli("eval --embedding same.npy --data X.npy --labels y.npy --json", dir);
  REQUIRE_MESSAGE(same.code == 0, same.err);
  const json s = json::parse(same.out);
  CHECK(s["trustworthiness"].get<double>() == doctest::Approx(1.0));
  CHECK(s["knn_preservation"].get<double>() == doctest::Approx(1.0));
  CHECK(s["knn_accuracy"].get<double>() ==
        doctest::Approx(metrics::knn_accuracy(x, int_values(data::read_npy(dir / "y.npy")), 1)));
  CHECK_FALSE(s.contains("nmi"));  // no --pred: no clustering scores
  const json r = json::parse(cake_cli("eval --embedding noise.npy --data X.npy --json", dir).out);
  CHECK(r["trustworthiness"].get<double>() < 0.8);
  CHECK(r["trustworthiness"].get<double>() == doctest::Approx(metrics::trustworthiness(x, data::read_npy(dir / "noise.npy"), 5)));
  CHECK_FALSE(r.contains("knn_accuracy"));  // no labels
  // A sample of the rows, reproducible by seed.
  const json a = json::parse(cake_cli("eval --embedding noise.npy --data X.npy --sample-size 60 --seed 2 --json", dir).out);
  CHECK(a["metric_samples"] == 60);
  CHECK(a == json::parse(cake_cli("eval --embedding noise.npy --data X.npy --sample-size 60 --seed 2 --json", dir).out));

  // An embedding needs the data it embeds; rows must agree; nothing to score is a usage error.
  CHECK(cake_cli("eval --embedding same.npy --labels y.npy", dir).code == 2);
  data::write_npy(dir / "short.npy", randn({10, 2}).contiguous());
  const CliResult rows = cake_cli("eval --embedding short.npy --data X.npy", dir);
  CHECK(rows.code == 1);
  CHECK(rows.err.find("short.npy holds 10 rows") != std::string::npos);
  CHECK(cake_cli("eval --labels y.npy --data X.npy", dir).code == 2);
}

TEST_CASE("cake summary: the runs' scores side by side, their mean and sample standard deviation") {
  const fs::path dir = case_dir("summary");
  write_blobs(dir);
  // Three seeds of one command; one restart each, so that the seeds may differ.
  for (int seed : {0, 1, 2})
    REQUIRE(cake_cli("run kmeans-lloyd --data X.npy --labels y.npy --quiet --set n_clusters=4 n_init=1 --seed " +
                         std::to_string(seed) + " --out s" + std::to_string(seed),
                     dir)
                .code == 0);
  const CliResult r = cake_cli("summary s0 s1 s2 --json", dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json out = json::parse(r.out);
  CHECK(out["n_runs"] == 3);
  for (const char* key : {"nmi", "acc", "ari", "ami"}) {
    CAPTURE(key);
    std::vector<double> v;
    for (const char* run : {"s0", "s1", "s2"}) v.push_back(read_json(dir / run / "metrics.json")[key].get<double>());
    const double mean = (v[0] + v[1] + v[2]) / 3.0;
    const double sd = std::sqrt(((v[0] - mean) * (v[0] - mean) + (v[1] - mean) * (v[1] - mean) + (v[2] - mean) * (v[2] - mean)) / 2.0);
    CHECK(out["mean"][key].get<double>() == doctest::Approx(mean).epsilon(1e-12));
    CHECK(out["std"][key].get<double>() == doctest::Approx(sd).epsilon(1e-12));
    CHECK(out["runs"][1][key].get<double>() == v[1]);
  }
  CHECK(out["runs"][2]["seed"] == 2);
  CHECK(out["runs"][0]["run"] == "s0");

  // Chosen keys, a nested one included; one run has no deviation; the table names each row.
  const json one = json::parse(cake_cli("summary s1 --keys inertia,nmi --json", dir).out);
  CHECK(one["mean"]["inertia"] == read_json(dir / "s1" / "metrics.json")["inertia"]);
  CHECK(one["std"]["nmi"].is_null());
  const CliResult table = cake_cli("summary s0 s1 s2", dir);
  CHECK(table.out.find("mean of 3") != std::string::npos);
  CHECK(table.out.find("std") != std::string::npos);
  CHECK(table.out.find("s2") != std::string::npos);

  // A nested key (DEC's start, ae_kmeans.acc) from runs that have it; a NaN written as null is named.
  for (const char* name : {"n1", "n2"}) fs::create_directories(dir / name);
  std::ofstream(dir / "n1" / "metrics.json") << R"({"nmi": 0.5, "ae_kmeans": {"acc": 0.25}})";
  std::ofstream(dir / "n2" / "metrics.json") << R"({"nmi": null, "ae_kmeans": {"acc": 0.75}})";
  const json nested = json::parse(cake_cli("summary n1 n2 --keys ae_kmeans.acc --json", dir).out);
  CHECK(nested["mean"]["ae_kmeans.acc"] == 0.5);
  CHECK(nested["runs"][0]["seed"].is_null());  // no config.json: no seed
  CHECK(cake_cli("summary n1 n2 --keys nmi", dir).err.find("holds null") != std::string::npos);

  // A key some run lacks, and a folder that holds no finished run, are refused by name.
  const CliResult missing = cake_cli("summary s0 s1 --keys ae_kmeans.acc", dir);
  CHECK(missing.code == 2);
  CHECK(missing.err.find("ae_kmeans.acc") != std::string::npos);
  fs::create_directories(dir / "empty");
  const CliResult empty = cake_cli("summary s0 empty", dir);
  CHECK(empty.code == 2);
  CHECK(empty.err.find("empty holds no metrics.json") != std::string::npos);
}

