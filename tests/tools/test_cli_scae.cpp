// End-to-end tests of `cake run scae` on a tiny image set (60 images of 3 block patterns): the
// files and metrics a run leaves, the per-epoch log, a run resumed from its checkpoint ending
// bit for bit where an uninterrupted one does, and the ablation's three configurations.
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
const std::string kScaeData = " --data images.npy --labels classes.npy --quiet --seed 3 --threads 1";
const std::string kScaeSmall = " --set encoder_width=8 n_part_caps=6 n_obj_caps=4 template_size=5 batch_size=20 lr=1e-3";
}  // namespace

TEST_CASE("scae: the per-epoch log, presences clustered, figures; a resume equals one run") {
  write_images();
  const std::string run = "run scae" + kScaeData + kScaeSmall;
  const CliResult whole = cake_cli(run + " epochs=2 --out scae_whole");
  REQUIRE_MESSAGE(whole.code == 0, whole.err);
  const fs::path out = scratch() / "scae_whole";
  const json metrics = read_json(out / "metrics.json");
  for (const char* key : {"nmi", "acc", "ari", "knn_accuracy", "probe_accuracy", "mean_presence", "epoch_time_s",
                          "posterior_nmi", "posterior_acc", "posterior_ari", "posterior_knn_accuracy",
                          "posterior_probe_accuracy"})
    CHECK_MESSAGE(metrics.contains(key), key);
  std::int64_t rows = 0;
  for (const json& row : read_log(out / "log.jsonl"))
    if (row.contains("epoch")) {
      ++rows;
      for (const char* key : {"loss", "image_ll", "part_ll", "prior_within", "posterior_between", "mean_presence"})
        CHECK_MESSAGE(row.contains(key), key);
    }
  CHECK(rows == 2);
  CHECK(data::read_npy(out / "presences.npy").sizes() == Shape{60, 4});
  const Tensor posterior = data::read_npy(out / "posterior_presences.npy");
  REQUIRE(posterior.sizes() == Shape{60, 4});
  CHECK(posterior.sum({1}).max().item<double>() <= 1.0 + 1e-6);  // shares of the parts
  CHECK(data::read_npy(out / "labels.npy").sizes() == Shape{60});
  check_figures(out, {"templates.png", "reconstructions.png", "loss_curve.png", "tsne.png"});

  REQUIRE(cake_cli(run + " epochs=1 --out scae_half").code == 0);
  const CliResult resumed = cake_cli("run scae --out scae_half --resume --quiet --threads 1 --set epochs=2");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(read_text(out / "model.safetensors") == read_text(scratch() / "scae_half" / "model.safetensors"));
  CHECK(read_text(out / "presences.npy") == read_text(scratch() / "scae_half" / "presences.npy"));
}

TEST_CASE("scae: position_bias; a run recorded before it existed resumes without it, bit for bit") {
  write_images();
  const std::string run = "run scae" + kScaeData + kScaeSmall;
  REQUIRE(cake_cli(run + " epochs=2 position_bias=false --out scae_unbiased").code == 0);
  REQUIRE(cake_cli(run + " epochs=1 position_bias=false --out scae_older").code == 0);
  // The older run's config.json has no position_bias: it resumes with the legacy value, false.
  const fs::path older = scratch() / "scae_older";
  json config = read_json(older / "config.json");
  REQUIRE(config["params"].erase("position_bias") == 1);
  std::ofstream(older / "config.json") << config.dump(2);
  const CliResult wrong = cake_cli("run scae --out scae_older --resume --quiet --threads 1 --set epochs=2 position_bias=true");
  CHECK(wrong.code == 2);
  CHECK(wrong.err.find("position_bias (not recorded: the run used false) -> true") != std::string::npos);
  const CliResult resumed = cake_cli("run scae --out scae_older --resume --quiet --threads 1 --set epochs=2");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  const std::string unbiased = read_text(scratch() / "scae_unbiased" / "model.safetensors");
  CHECK(unbiased == read_text(older / "model.safetensors"));
  // The default network has the bias, so it is another network.
  REQUIRE(cake_cli(run + " epochs=2 --out scae_biased").code == 0);
  CHECK(read_json(scratch() / "scae_biased" / "config.json")["params"]["position_bias"].get<bool>());
  CHECK(unbiased != read_text(scratch() / "scae_biased" / "model.safetensors"));
}

TEST_CASE("scae: lr_decay lowers the learning rate every decay_every epochs; a resume follows it; bad values refused") {
  write_images();
  const std::string run = "run scae" + kScaeData + kScaeSmall + " lr_decay=0.1 decay_every=1";
  REQUIRE(cake_cli(run + " epochs=2 --out scae_decay").code == 0);
  REQUIRE(cake_cli(run + " epochs=1 --out scae_decay_half").code == 0);
  const CliResult resumed = cake_cli("run scae --out scae_decay_half --resume --quiet --threads 1 --set epochs=2");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  const std::string model = read_text(scratch() / "scae_decay" / "model.safetensors");
  CHECK(model == read_text(scratch() / "scae_decay_half" / "model.safetensors"));
  REQUIRE(cake_cli("run scae" + kScaeData + kScaeSmall + " epochs=2 --out scae_no_decay").code == 0);
  CHECK(model != read_text(scratch() / "scae_no_decay" / "model.safetensors"));
  const CliResult bad = cake_cli("run scae" + kScaeData + kScaeSmall + " lr_decay=0 --out scae_bad_decay");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("lr_decay must be positive") != std::string::npos);
}

TEST_CASE("scae: ablation=true trains 30/16, 40/32 and 60/40 and scores each; bad settings are refused") {
  write_images();
  const CliResult ablation =
      cake_cli("run scae" + kScaeData + " --set encoder_width=4 template_size=3 batch_size=60 epochs=1 ablation=true --out scae_ablation");
  REQUIRE_MESSAGE(ablation.code == 0, ablation.err);
  const json metrics = read_json(scratch() / "scae_ablation" / "metrics.json");
  for (const char* config : {"30/16", "40/32", "60/40"}) {
    REQUIRE_MESSAGE(metrics["ablation"].contains(config), config);
    CHECK(metrics["ablation"][config]["acc"].get<double>() > 0.0);
    CHECK(metrics["ablation"][config]["posterior_acc"].get<double>() > 0.0);
  }
  check_figures(scratch() / "scae_ablation", {"ablation.png"});
  const CliResult bad = cake_cli("run scae" + kScaeData + " --set weight_decay=0.1 --out scae_bad");
  CHECK(bad.code != 0);
  CHECK(bad.err.find("weight_decay") != std::string::npos);
}

TEST_CASE("scae: canvas=N trains on randomly placed images and scores them centred; a smaller canvas is refused") {
  write_images();
  const std::string run = "run scae" + kScaeData + kScaeSmall + " epochs=1";
  const CliResult placed = cake_cli(run + " canvas=30 --out scae_canvas");
  REQUIRE_MESSAGE(placed.code == 0, placed.err);
  const fs::path out = scratch() / "scae_canvas";
  CHECK(read_json(out / "config.json")["params"]["canvas"].get<std::int64_t>() == 30);
  CHECK(data::read_npy(out / "presences.npy").sizes() == Shape{60, 4});
  check_figures(out, {"templates.png", "reconstructions.png"});
  const CliResult small = cake_cli(run + " canvas=8 --out scae_small_canvas");
  CHECK(small.code == 2);
  CHECK(small.err.find("canvas 8 is smaller than the images") != std::string::npos);
  // canvas_shift=false: every training image in the middle, another network from the same seed.
  const CliResult centred = cake_cli(run + " canvas=30 canvas_shift=false --out scae_canvas_centred");
  REQUIRE_MESSAGE(centred.code == 0, centred.err);
  CHECK_FALSE(read_json(scratch() / "scae_canvas_centred" / "config.json")["params"]["canvas_shift"].get<bool>());
  CHECK(read_text(out / "model.safetensors") != read_text(scratch() / "scae_canvas_centred" / "model.safetensors"));
  const CliResult no_canvas = cake_cli(run + " canvas_shift=false --out scae_shift_without_canvas");
  CHECK(no_canvas.code == 2);
  CHECK(no_canvas.err.find("set canvas too") != std::string::npos);
}

TEST_CASE("scae: part_mixture=released trains with the released code's unnormalised part likelihood") {
  write_images();
  const std::string run = "run scae" + kScaeData + kScaeSmall + " epochs=1";
  REQUIRE(cake_cli(run + " --out scae_eq7").code == 0);
  const CliResult released = cake_cli(run + " part_mixture=released --out scae_released");
  REQUIRE_MESSAGE(released.code == 0, released.err);
  CHECK(read_json(scratch() / "scae_released" / "config.json")["params"]["part_mixture"] == "released");
  // The same seed and draws, another part likelihood: another network.
  CHECK(read_text(scratch() / "scae_eq7" / "model.safetensors") !=
        read_text(scratch() / "scae_released" / "model.safetensors"));
  const CliResult bad = cake_cli(run + " part_mixture=paper --out scae_bad_mixture");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("part_mixture") != std::string::npos);
}
