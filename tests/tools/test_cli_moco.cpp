// End-to-end test of `cake run moco` on a tiny image set (60 images of 3 block patterns): the
// metrics a run leaves, with both k-NN protocols (k = knn_k and the MoCo demo's k = 200), and
// the figures. The algorithm itself (queue, momentum update, InfoNCE, resume) is tested in
// tests/algorithms/contrastive/test_moco.cpp.
#include <filesystem>

#include <nlohmann/json.hpp>

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
      "--set epochs=2 batch_size=20 queue=64 tsne_samples=30");
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
  CHECK(epoch_records(out / "log.jsonl").size() == 2);
  check_figures(out, {"loss_curve.png", "similarity.png", "features_tsne.png", "confusion_matrix.png"});
}
