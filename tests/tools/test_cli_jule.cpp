// End-to-end test of `cake run jule` on a tiny image set: the per-period and per-epoch log, the
// final scores, the merge tree and the figures a run leaves.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cake/data/npy.h"
#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace cake::testing;

TEST_CASE("jule: periods and epochs in the log, the clusters scored, the tree and the figures saved") {
  write_images();
  const CliResult r = cake_cli(
      "run jule --data images.npy --labels classes.npy --quiet --seed 3 --threads 1 --out jule --set n_clusters=3 "
      "k_s=5 eta=0.5 epochs_per_period=1 channels=4 feature_dim=16 batch_size=20 tsne_samples=0 probe=false");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const fs::path out = scratch() / "jule";
  const json metrics = read_json(out / "metrics.json");
  for (const char* key : {"nmi", "acc", "initial_clusters", "planned_periods", "merges", "one_nn_error",
                          "trustworthiness_12", "merge_seconds", "train_seconds"})
    CHECK_MESSAGE(metrics.contains(key), key);
  CHECK(metrics["n_clusters"] == 3);
  CHECK(metrics["merges"].get<std::int64_t>() == metrics["initial_clusters"].get<std::int64_t>() - 3);
  std::int64_t periods = 0, epochs = 0;
  for (const json& row : read_log(out / "log.jsonl")) {
    if (row.contains("period") && row.contains("clusters")) ++periods;
    if (row.contains("epoch")) ++epochs;
  }
  CHECK(periods == metrics["planned_periods"].get<std::int64_t>() + 1);  // with period 0
  CHECK(epochs == metrics["planned_periods"].get<std::int64_t>());        // one epoch per period
  CHECK(data::read_npy(out / "merges.npy").sizes() == Shape{metrics["merges"].get<std::int64_t>(), 3});
  check_figures(out, {"jule_periods.png", "loss_curve.png", "dendrogram.png", "cluster_samples.png"});
}
