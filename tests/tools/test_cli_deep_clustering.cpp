// End-to-end tests of `cake run deepcluster` and `cake run dac` on a tiny image set: the files
// and metrics a run leaves, the per-epoch log, and a run resumed from its checkpoint ending bit
// for bit where an uninterrupted one does.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cake/data/image.h"
#include "cake/data/npy.h"
#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace cake::testing;

namespace {

const std::string kDeepClusteringData = " --data images.npy --labels classes.npy --quiet --seed 3 --threads 1";

}  // namespace

TEST_CASE("deepcluster: the per-epoch log, the final scores and figures; a resume equals one run") {
  write_images();
  const std::string run = "run deepcluster" + kDeepClusteringData + " --set n_clusters=6 hidden=32 pca_dim=16 batch_size=16";
  const CliResult whole = cake_cli(run + " epochs=2 n2d=true --out whole");
  REQUIRE_MESSAGE(whole.code == 0, whole.err);
  const fs::path out = scratch() / "whole";
  const json metrics = read_json(out / "metrics.json");
  for (const char* key : {"nmi", "acc", "ari", "knn_accuracy", "probe_accuracy", "time_split", "epochs_run",
                          "last_nmi_previous", "epoch_time_s"})
    CHECK_MESSAGE(metrics.contains(key), key);
  CHECK(metrics["n_clusters"] == 3);  // the final k-means at the number of classes
  const std::vector<json> rows = epoch_records(out / "log.jsonl");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["nmi_previous"].is_null());
  CHECK(rows[1]["nmi_previous"].get<double>() >= 0.0);
  for (const char* key : {"loss", "nmi", "acc", "kmeans_objective", "smallest_cluster", "largest_cluster",
                          "cluster_size_cv", "seconds_kmeans", "seconds_pca", "seconds_train"})
    CHECK_MESSAGE(rows[1].contains(key), key);
  CHECK(data::read_npy(out / "pseudo_labels.npy").sizes() == Shape{60});
  CHECK(data::read_npy(out / "labels.npy").sizes() == Shape{60});
  CHECK(data::read_npy(out / "features.npy").sizes() == Shape{60, 32});  // the frozen features, before PCA
  CHECK_FALSE(metrics.contains("test_nmi"));  // no test split given
  // n2d=true: UMAP + GMM on the same rows, scored like the k-means.
  CHECK(data::read_npy(out / "n2d_labels.npy").sizes() == Shape{60});
  CHECK(metrics["n2d_samples"] == 60);
  for (const std::string key : {"n2d_nmi", "n2d_acc", "n2d_ari"}) {
    CAPTURE(key);
    REQUIRE(metrics.contains(key));
    CHECK(metrics[key].get<double>() <= 1.0);
  }
  CHECK(metrics["n2d_acc"].get<double>() >= 1.0 / 3.0);  // matched to 3 classes: at least chance
  check_figures(out, {"nmi.png", "loss_curve.png", "cluster_sizes.png", "pseudo_label_samples.png",
                      "cluster_samples.png", "kmeans_objective.png"});

  // One epoch, then --resume to two: the same weights and pseudo-labels, bit for bit.
  REQUIRE(cake_cli(run + " epochs=1 --out half").code == 0);
  // The thread count is not part of config.json: give the same one again (GEMM sums are split
  // by thread, so another count rounds differently).
  // n2d only evaluates the trained network, so a resume may turn it on.
  const CliResult resumed = cake_cli("run deepcluster --out half --resume --quiet --threads 1 --set epochs=2 n2d=true");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(read_text(out / "model.safetensors") == read_text(scratch() / "half" / "model.safetensors"));
  CHECK(read_text(out / "pseudo_labels.npy") == read_text(scratch() / "half" / "pseudo_labels.npy"));
  CHECK(read_text(out / "n2d_labels.npy") == read_text(scratch() / "half" / "n2d_labels.npy"));

  // A scoring k-means without restarts is refused before any training.
  const CliResult no_restarts = cake_cli("run deepcluster" + kDeepClusteringData + " --out dc_bad --set n_clusters=6 kmeans_n_init=0");
  CHECK(no_restarts.code == 2);
  CHECK(no_restarts.err.find("kmeans_n_init") != std::string::npos);
  const CliResult bad_pixels = cake_cli("run deepcluster" + kDeepClusteringData + " --out dc_bad2 --set n_clusters=6 n2d_pixel_pca=-1");
  CHECK(bad_pixels.code == 2);
  CHECK(bad_pixels.err.find("n2d_pixel_pca") != std::string::npos);
  CHECK_FALSE(fs::exists(scratch() / "dc_bad2" / "checkpoint.safetensors"));
}

TEST_CASE("deepcluster and dac on a training split are also scored on the test split (test_nmi, test_acc, test_ari)") {
  if (!fashion_mnist_installed()) return;
  const std::string data = " --data fashion-mnist:train:300 --quiet --seed 1 --threads 1 --set hidden=32 epochs=1 probe=false";
  struct Case {
    std::string command, out, extra;
    std::int64_t feature_width;
  };
  for (const Case& c : {Case{"deepcluster", "dc_test_split", " batch_size=32 n_clusters=20 kmeans_n_init=2 n2d=true", 32},
                        Case{"dac", "dac_test_split", " batch_size=32", 10}}) {
    CAPTURE(c.command);
    const CliResult r = cake_cli("run " + c.command + data + c.extra + " --out " + c.out);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const fs::path out = scratch() / c.out;
    const json metrics = read_json(out / "metrics.json");
    CHECK(metrics["test_samples"] == 10000);
    for (const char* key : {"test_nmi", "test_acc", "test_ari"}) {
      CAPTURE(key);
      REQUIRE(metrics.contains(key));
      CHECK(metrics[key].get<double>() > -1.0);
      CHECK(metrics[key].get<double>() <= 1.0);
    }
    CHECK(metrics["test_acc"].get<double>() >= 0.1);  // a matched clustering is right at least as often as chance
    CHECK(data::read_npy(out / "test_features.npy").sizes() == Shape{10000, c.feature_width});
    if (c.command == "deepcluster") {
      // N2D clusters every image: the 300 training rows, then the 10,000 of the test split.
      CHECK(metrics["n2d_samples"] == 10300);
      CHECK(data::read_npy(out / "n2d_labels.npy").sizes() == Shape{10300});
      CHECK(metrics["n2d_acc"].get<double>() >= 0.1);
    }
  }
}

TEST_CASE("dac: thresholds per epoch in the log, the argmax clusters scored, the stop rule in metrics") {
  write_images();
  const CliResult r = cake_cli("run dac" + kDeepClusteringData + " --out dac --set n_clusters=3 hidden=32 batch_size=16 epochs=2");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const fs::path out = scratch() / "dac";
  const json metrics = read_json(out / "metrics.json");
  CHECK(metrics["stop_epoch"] == 46);
  CHECK(metrics["epochs_run"] == 2);
  for (const char* key : {"nmi", "acc", "ari", "knn_accuracy", "final_lambda"}) CHECK_MESSAGE(metrics.contains(key), key);
  const std::vector<json> rows = epoch_records(out / "log.jsonl");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["lambda"].get<double>() == 0.0);
  CHECK(rows[1]["lambda"].get<double>() == doctest::Approx(0.0099));
  CHECK(rows[1]["upper"].get<double>() == doctest::Approx(0.9401));
  CHECK(rows[1]["lower"].get<double>() == doctest::Approx(0.45599));
  for (const json& row : rows) {
    CHECK(row["selected_fraction"].get<double>() >= 0.0);
    CHECK(row["selected_fraction"].get<double>() <= 1.0);
    // With labels: the share of the "same" pairs whose classes agree (null if no pair is "same").
    REQUIRE(row.contains("same_precision"));
    if (!row["same_precision"].is_null()) {
      CHECK(row["same_precision"].get<double>() >= 0.0);
      CHECK(row["same_precision"].get<double>() <= 1.0);
    }
  }
  check_figures(out, {"thresholds.png", "loss_curve.png", "dac_scores.png", "cluster_samples.png"});
  CHECK(data::read_npy(out / "features.npy").sizes() == Shape{60, 3});  // the label features
  // A weight decay the algorithm does not use is refused rather than ignored.
  CHECK(cake_cli("run dac" + kDeepClusteringData + " --out dac2 --set weight_decay=0.1").code == 2);
  // Algorithm 1's input lambda: the first epoch's u = 0.95 - lambda0, and the stop moves with it
  // (u and l cross at lambda = 0.45: (0.45 + 0.04) / 0.0099 = 49.5, so 50 epochs).
  const CliResult early = cake_cli("run dac" + kDeepClusteringData + " --out dac3 --set n_clusters=3 hidden=32 batch_size=16 epochs=1 lambda0=-0.04");
  REQUIRE_MESSAGE(early.code == 0, early.err);
  CHECK(read_json(scratch() / "dac3" / "metrics.json")["stop_epoch"] == 50);
  const std::vector<json> early_rows = epoch_records(scratch() / "dac3" / "log.jsonl");
  REQUIRE(early_rows.size() == 1);
  CHECK(early_rows[0]["upper"].get<double>() == doctest::Approx(0.99));
  // u above 1 would select no pair as "same": refused by name.
  const CliResult above_one = cake_cli("run dac" + kDeepClusteringData + " --out dac4 --set lambda0=-0.1");
  CHECK(above_one.code == 2);
  CHECK(above_one.err.find("lambda0") != std::string::npos);
}
