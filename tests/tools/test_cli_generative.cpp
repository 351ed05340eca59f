// End-to-end tests of `cake run infogan` and `cake run gan` on a tiny image set with narrow
// networks: the per-epoch log (the balance of D and G, the information term, the collapse
// measures), the figures, the clusters scored, and a run resumed from its checkpoint ending bit
// for bit where an uninterrupted one does.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cake/data/npy.h"
#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace cake::testing;

namespace {

const std::string kGanData = " --data images.npy --labels classes.npy --quiet --seed 3 --threads 1";
const std::string kGanSmall = " --set width=4 hidden=32 categories=3 batch_size=20";

}  // namespace

TEST_CASE("infogan: per-epoch balance, information term and collapse measures; figures; resume equals one run") {
  write_images();
  const CliResult whole = cake_cli("run infogan" + kGanData + kGanSmall + " epochs=2 --out whole");
  REQUIRE_MESSAGE(whole.code == 0, whole.err);
  const fs::path out = scratch() / "whole";
  const json metrics = read_json(out / "metrics.json");
  for (const char* key : {"nmi", "acc", "ari", "d_real", "d_fake", "noise_spread", "code_spread", "info_categorical",
                          "warnings", "epoch_time_s"})
    CHECK_MESSAGE(metrics.contains(key), key);
  const std::vector<json> rows = epoch_records(out / "log.jsonl");
  REQUIRE(rows.size() == 2);
  for (const json& row : rows) {
    for (const char* key : {"d_loss", "g_loss", "d_real", "d_fake", "info_categorical", "info_continuous", "noise_spread",
                            "code_spread", "nmi", "acc", "clusters_used", "largest_cluster"})
      CHECK_MESSAGE(row.contains(key), key);
    CHECK(row["d_real"].get<double>() > 0.0);
    CHECK(row["d_real"].get<double>() < 1.0);
    CHECK(row["info_categorical"].get<double>() <= std::log(3.0) + 1e-9);
  }
  CHECK(data::read_npy(out / "labels.npy").sizes() == Shape{60});
  check_figures(out, {"samples.png", "continuous_1.png", "continuous_2.png", "losses.png", "d_outputs.png",
                      "information.png", "spread.png", "scores.png"});

  REQUIRE(cake_cli("run infogan" + kGanData + kGanSmall + " epochs=1 --out half").code == 0);
  const CliResult resumed = cake_cli("run infogan --out half --resume --quiet --threads 1 --set epochs=2");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(read_text(out / "generator.safetensors") == read_text(scratch() / "half" / "generator.safetensors"));
  CHECK(read_text(out / "discriminator.safetensors") == read_text(scratch() / "half" / "discriminator.safetensors"));
}

TEST_CASE("gan: no codes, no clusters; the balance is logged and the samples drawn") {
  write_images();
  const CliResult r = cake_cli("run gan" + kGanData + " --set width=4 hidden=32 batch_size=20 epochs=1 --out gan");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const fs::path out = scratch() / "gan";
  const std::vector<json> rows = epoch_records(out / "log.jsonl");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["info_categorical"].is_null());
  CHECK(rows[0]["nmi"].is_null());
  check_figures(out, {"samples.png", "losses.png", "d_outputs.png"});
  CHECK_FALSE(fs::exists(out / "labels.npy"));
}

TEST_CASE("made: the held-out log-likelihood in nats, samples, and resume equals one run") {
  write_images();
  const std::string run = "run made" + kGanData + " --set hidden=16 batch_size=20 lr=0.01";
  const CliResult whole = cake_cli(run + " epochs=4 --out made-whole");
  REQUIRE_MESSAGE(whole.code == 0, whole.err);
  const fs::path out = scratch() / "made-whole";
  const json metrics = read_json(out / "metrics.json");
  const std::vector<json> rows = epoch_records(out / "log.jsonl");
  REQUIRE(rows.size() == 4);
  // The reported log-likelihood is minus the best epoch's validation loss (the weights kept).
  double best = rows[0]["val_loss"].get<double>();
  for (const json& row : rows) best = std::min(best, row["val_loss"].get<double>());
  CHECK(metrics["val_log_likelihood"].get<double>() == doctest::Approx(-best).epsilon(1e-5));
  // Already better than 784 fair coins (-784 log 2 = -543.4 nats) on these patterned images.
  CHECK(metrics["val_log_likelihood"].get<double>() > -784 * std::log(2.0));
  CHECK(fs::exists(out / "model.safetensors"));
  check_figures(out, {"samples.png", "loss_curve.png"});

  REQUIRE(cake_cli(run + " epochs=2 --out made-half").code == 0);
  const CliResult resumed = cake_cli("run made --out made-half --resume --quiet --threads 1 --set epochs=4");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(read_text(out / "model.safetensors") == read_text(scratch() / "made-half" / "model.safetensors"));
}
