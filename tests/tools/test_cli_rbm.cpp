// End-to-end tests of `cake run rbm`, `cake run dbn` and `cake run dbm` on a tiny image set of three prototypes
// (tools/cli_testing.h): what each run leaves, the clusters of the DBN's codes, a resumed
// fine-tuning ending bit for bit where an uninterrupted one does, and bad parameters refused.
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cake/data/npy.h"
#include "cake/tensor/safetensors.h"
#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace cake::testing;

namespace {
const std::string kData = " --data images.npy --labels classes.npy --quiet --seed 3 --threads 1";
// The log's per-epoch rows of the joint training or fine-tuning (the pretraining's rows are events).
std::size_t training_epochs(const fs::path& log) {
  std::size_t count = 0;
  for (const json& record : epoch_records(log)) count += !record.contains("event");
  return count;
}
// A short annealing: the tests check the plumbing; test_ais.cpp checks the estimates.
const std::string kSmallAis = " ais_runs=20 ais_steps=200";
// The estimate's keys: a finite log Z inside its bounds, and a (negative) mean score per row.
void check_likelihood(const json& metrics, const std::string& key) {
  const double log_z = metrics["ais_log_partition"].get<double>();
  CHECK(std::isfinite(log_z));
  CHECK(metrics["ais_log_partition_high"].get<double>() >= log_z);
  if (!metrics["ais_log_partition_low"].is_null()) CHECK(metrics["ais_log_partition_low"].get<double>() <= log_z);
  CHECK(metrics["ais_effective_runs"].get<double>() > 0.0);
  CHECK(metrics["ais_effective_runs"].get<double>() <= 20.0 + 1e-9);
  CHECK(metrics["ais_time_s"].get<double>() >= 0.0);
  CHECK(metrics[key].get<double>() < 0.0);
  CHECK_FALSE(metrics.contains("test_" + key));  // no test split in a .npy
}
const std::string kSmallDbn =
    " --set hidden=32,16 latent_dim=3 rbm_epochs=10 rbm_batch_size=10 rbm_top_learning_rate=0.01 dream_steps=20 n_clusters=3";
}  // namespace

TEST_CASE("rbm: the model, the hidden probabilities, the pseudo- and AIS likelihoods and the figures") {
  write_images();
  const CliResult r = cake_cli("run rbm" + kData + " --set n_components=16 n_iter=5 gibbs_steps=10" + kSmallAis + " --out rbm");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const fs::path out = scratch() / "rbm";
  const json metrics = read_json(out / "metrics.json");
  CHECK(metrics["pseudo_log_likelihood"].get<double>() < 0.0);
  CHECK(metrics["reconstruction_error"].get<double>() > 0.0);
  check_likelihood(metrics, "log_likelihood");
  CHECK_FALSE(metrics.contains("probe_accuracy"));  // no test split in a .npy
  const std::vector<json> rows = epoch_records(out / "log.jsonl");
  REQUIRE(rows.size() == 5);
  CHECK(rows.back()["reconstruction_error"].get<double>() < rows.front()["reconstruction_error"].get<double>());
  const Tensor codes = data::read_npy(out / "embedding.npy");
  CHECK(codes.sizes() == Shape{60, 16});
  CHECK(codes.min().item<double>() >= 0.0);
  CHECK(codes.max().item<double>() <= 1.0);
  const SafetensorsFile model = load_safetensors((out / "rbm.safetensors").string());
  CHECK(model.tensors.at("components").sizes() == Shape{16, 784});
  CHECK(model.tensors.at("intercept_visible").sizes() == Shape{784});
  check_figures(out, {"filters.png", "samples.png", "reconstruction_error.png"});

  // The same seed, the same model.
  REQUIRE(cake_cli("run rbm" + kData + " --set n_components=16 n_iter=5 gibbs_steps=10" + kSmallAis + " --out rbm2").code == 0);
  CHECK(read_text(out / "rbm.safetensors") == read_text(scratch() / "rbm2" / "rbm.safetensors"));
  CHECK(read_json(scratch() / "rbm2" / "metrics.json")["ais_log_partition"] == metrics["ais_log_partition"]);

  const CliResult bad = cake_cli("run rbm" + kData + " --set score_rows=0 --out rbm3");
  CHECK(bad.code == 2);
  CHECK(contains(bad.err, "score_rows must be at least 1"));
  const CliResult negative = cake_cli("run rbm" + kData + " --set ais_runs=-1 --out rbm4");
  CHECK(negative.code == 2);
  CHECK(contains(negative.err, "ais_runs must be >= 0"));
  // ais_runs=0 skips the estimate.
  REQUIRE(cake_cli("run rbm" + kData + " --set n_components=4 n_iter=1 gibbs_steps=2 ais_runs=0 --out rbm5").code == 0);
  CHECK_FALSE(read_json(scratch() / "rbm5" / "metrics.json").contains("ais_log_partition"));
}

TEST_CASE("rbm: data outside [0, 1] are refused with the range found") {
  const fs::path dir = case_dir("rbm_range");
  data::write_npy(dir / "X.npy", (rand({20, 6}) * 255.0).contiguous());
  const CliResult r = cake_cli("run rbm --data X.npy --quiet --out r", dir);
  CHECK(r.code != 0);
  CHECK(contains(r.err, "must be probabilities in [0, 1]"));
  CHECK(contains(r.err, "pixels / 255"));
}

TEST_CASE("dbn: pretraining, fine-tuning, the three prototypes found in the codes; resume equals one run") {
  write_images();
  const CliResult whole = cake_cli("run dbn" + kData + kSmallDbn + " epochs=2 --out dbn");
  REQUIRE_MESSAGE(whole.code == 0, whole.err);
  const fs::path out = scratch() / "dbn";
  const json metrics = read_json(out / "metrics.json");
  CHECK(metrics["nmi"].get<double>() > 0.9);
  const std::vector<json> log = read_log(out / "log.jsonl");
  std::int64_t rbm_epochs = 0;
  for (const json& record : log) rbm_epochs += record.value("event", "") == "rbm_epoch";
  CHECK(rbm_epochs == 30);  // 3 layers x 10 epochs
  CHECK(training_epochs(out / "log.jsonl") == 2);
  const SafetensorsFile stack = load_safetensors((out / "dbn_pretrained.safetensors").string());
  CHECK(stack.tensors.at("layer0.weights").sizes() == Shape{32, 784});
  CHECK(stack.tensors.at("layer2.weights").sizes() == Shape{3, 16});
  CHECK(data::read_npy(out / "embedding.npy").sizes() == Shape{60, 3});
  check_figures(out, {"rbm_filters.png", "dbn_samples.png", "dbn_reconstructions.png", "reconstructions.png",
                      "loss_curve.png"});

  REQUIRE(cake_cli("run dbn" + kData + kSmallDbn + " epochs=1 --out half").code == 0);
  const CliResult resumed = cake_cli("run dbn --out half --resume --quiet --threads 1 --set epochs=2");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(contains(read_text(scratch() / "half" / "log.jsonl"), "rbm_epoch"));
  CHECK(read_text(out / "model.safetensors") == read_text(scratch() / "half" / "model.safetensors"));
  CHECK(read_text(out / "labels.npy") == read_text(scratch() / "half" / "labels.npy"));
}

TEST_CASE("dbm: pretraining then joint training; the prototypes found in the top layer's posterior") {
  write_images();
  const CliResult r = cake_cli("run dbm" + kData +
                               " --set hidden=16,8 pretrain_epochs=5 epochs=3 batch_size=10 n_particles=20 n_clusters=3 "
                               "sample_steps=10" + kSmallAis + " --out dbm");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const fs::path out = scratch() / "dbm";
  const json metrics = read_json(out / "metrics.json");
  CHECK(metrics["nmi"].get<double>() > 0.9);
  CHECK(metrics["reconstruction_error"].get<double>() > 0.0);
  check_likelihood(metrics, "log_likelihood_lower_bound");
  CHECK(training_epochs(out / "log.jsonl") == 3);
  const SafetensorsFile model = load_safetensors((out / "dbm.safetensors").string());
  CHECK(model.tensors.at("weight1").sizes() == Shape{16, 784});
  CHECK(model.tensors.at("weight2").sizes() == Shape{8, 16});
  CHECK(model.tensors.at("bias0").sizes() == Shape{784});
  CHECK(data::read_npy(out / "embedding.npy").sizes() == Shape{60, 8});
  check_figures(out, {"filters.png", "samples.png", "reconstruction_error.png"});
  const CliResult bad = cake_cli("run dbm" + kData + " --set hidden= --out dbm_bad");
  CHECK(bad.code != 0);
}

TEST_CASE("dbn on Fashion-MNIST: the autoencoder and PCA with as many components, side by side") {
  if (!fashion_mnist_installed()) return;
  const fs::path dir = case_dir("dbn_fashion");
  const CliResult r = cake_cli("run dbn --data fashion-mnist:train:300 --quiet --threads 2 --out d --set hidden=64,32 "
                               "latent_dim=8 rbm_epochs=2 epochs=2 dream_steps=5 tsne_samples=0",
                               dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json metrics = read_json(dir / "d" / "metrics.json");
  for (const char* key : {"test_squared_error_per_image", "pca_test_squared_error_per_image", "probe_accuracy", "nmi"})
    CHECK_MESSAGE(metrics.contains(key), key);
  CHECK(metrics["test_squared_error_per_image"].get<double>() ==
        doctest::Approx(metrics["test_mse"].get<double>() * 784.0));
  CHECK(metrics["pca_test_squared_error_per_image"].get<double>() > 0.0);
}
