// End-to-end test of `cake run moco` on a tiny image set (60 images of 3 block patterns): the
// metrics a run leaves, with both k-NN protocols (k = knn_k and the MoCo demo's k = 200), and
// the figures; the layers the evaluation reads (probe_features, cluster_features). The algorithm itself (queue, momentum update, InfoNCE, resume) is tested in
// tests/algorithms/contrastive/test_moco.cpp.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cake/data/npy.h"
#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace cake::testing;

TEST_CASE("moco: metrics hold the probe, k-NN at k = 20 and at the demo's k = 200, k-means; figures written") {
  write_images();
  const CliResult result = cake_cli(
      "run moco --data images.npy --labels classes.npy --quiet --seed 3 --threads 1 --out moco_run "
      "--set epochs=2 batch_size=20 queue=64 tsne_samples=30 n2d=true");
  REQUIRE_MESSAGE(result.code == 0, result.err);
  const fs::path out = scratch() / "moco_run";
  const json metrics = read_json(out / "metrics.json");
  for (const char* key : {"probe_accuracy", "knn_accuracy", "knn_accuracy_k200", "kmeans_test", "queue_keys",
                          "momentum_queue_fraction", "final_loss"})
    REQUIRE_MESSAGE(metrics.contains(key), key);
  CHECK(metrics["knn_k"].get<std::int64_t>() == 20);
  CHECK(metrics["queue_keys"].get<std::int64_t>() == 64);
  // Three block patterns with 5 % pixel noise: any reasonable conv features separate them, so
  // both k-NN protocols (k = 200 is clamped to the 48 training rows of the 80/20 split) and the
  // probe classify the 12 held-out images.
  CHECK(metrics["knn_accuracy"].get<double>() >= 0.9);
  CHECK(metrics["knn_accuracy_k200"].get<double>() >= 0.9);
  CHECK(metrics["probe_accuracy"].get<double>() >= 0.9);
  CHECK(metrics["probe_features"] == "conv");
  CHECK(metrics["cluster_features"] == "fc");
  CHECK(epoch_records(out / "log.jsonl").size() == 2);
  check_figures(out, {"loss_curve.png", "similarity.png", "features_tsne.png", "confusion_matrix.png"});
  // n2d=true: UMAP + GMM on the cluster layer's rows of the 60 images (no test split).
  CHECK(metrics["n2d_samples"] == 60);
  CHECK(data::read_npy(out / "n2d_labels.npy").sizes() == Shape{60});
  CHECK(metrics["n2d_acc"].get<double>() >= 0.9);  // the three patterns, as k-NN and the probe find them
}

TEST_CASE("moco: the probe and k-NN read the layer probe_features names, k-means the one cluster_features names") {
  write_images();
  // The same run twice, once with every evaluation on the FC layer and once on the conv trunk:
  // the training is identical (same seed), so any difference is the layer read.
  const std::string common =
      "run moco --data images.npy --labels classes.npy --quiet --seed 3 --threads 1 --set epochs=1 batch_size=20 "
      "queue=64 tsne_samples=0 ";
  const CliResult fc = cake_cli(common + "--out moco_fc --set probe_features=fc cluster_features=fc");
  REQUIRE_MESSAGE(fc.code == 0, fc.err);
  const CliResult conv = cake_cli(common + "--out moco_conv --set probe_features=conv cluster_features=conv");
  REQUIRE_MESSAGE(conv.code == 0, conv.err);
  const json a = read_json(scratch() / "moco_fc" / "metrics.json");
  const json b = read_json(scratch() / "moco_conv" / "metrics.json");
  CHECK(a["final_loss"].get<double>() == b["final_loss"].get<double>());
  CHECK(a["probe_features"] == "fc");
  CHECK(b["probe_features"] == "conv");
  CHECK(b["cluster_features"] == "conv");
  // The poster's network on 28x28 images: 128 FC units over a trunk of 64 x 12 x 12.
  CHECK(a["probe_feature_dim"].get<std::int64_t>() == 128);
  CHECK(a["cluster_feature_dim"].get<std::int64_t>() == 128);
  CHECK(b["probe_feature_dim"].get<std::int64_t>() == 9216);
  CHECK(b["cluster_feature_dim"].get<std::int64_t>() == 9216);
  CHECK(b["probe_accuracy"].get<double>() >= 0.9);
  const CliResult bad = cake_cli(common + "--out moco_bad --set probe_features=pixels");
  CHECK(bad.code != 0);
  CHECK(bad.err.find("probe_features") != std::string::npos);
}
