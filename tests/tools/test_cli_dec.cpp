// End-to-end tests of `cake run dec` and `cake run idec` (tools/algorithms/network_runs_dec.cpp)
// on a tiny image set, of DEC's autoencoder as an option of the autoencoder commands (model=dec),
// and of the mean-image plateau report (network_runs.h, train_and_log).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <tuple>

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

const std::string kDecData = " --data images.npy --labels classes.npy --quiet --seed 5 --threads 1";
const std::string kShort = " --set model=mlp hidden=32 epochs=2 latent_dim=3 n_clusters=3 kmeans_n_init=2 update_interval=3 max_iter=12 tol=0 "
                           "batch_size=16 tsne_samples=0 probe=false";

}  // namespace

TEST_CASE("dec and idec: pretrain, cluster, and leave the metrics, the refresh log and the figures") {
  write_images();
  for (const char* method : {"dec", "idec"}) {
    CAPTURE(std::string(method));
    const CliResult r = cake_cli(std::string("run ") + method + kDecData + " --out " + method + kShort);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const fs::path dir = scratch() / method;
    const json metrics = read_json(dir / "metrics.json");
    for (const char* key : {"nmi", "acc", "ari", "dec_steps", "dec_converged", "train_loss", "mean_image_mse"})
      CHECK_MESSAGE(metrics.contains(key), key);
    REQUIRE(metrics.contains("ae_kmeans"));
    for (const char* key : {"nmi", "acc", "ari"}) CHECK(metrics["ae_kmeans"].contains(key));
    CHECK(metrics["dec_steps"].get<std::int64_t>() == 12);  // tol 0: runs to max_iter
    CHECK(data::read_npy(dir / "labels.npy").sizes() == Shape{60});
    CHECK(data::read_npy(dir / "soft_assignments.npy").sizes() == Shape{60, 3});
    CHECK(fs::exists(dir / "dec_checkpoint.safetensors"));
    CHECK(fs::exists(dir / "dec_autoencoder.safetensors"));
    std::int64_t refreshes = 0;
    for (const json& record : read_log(dir / "log.jsonl"))
      if (record.value("event", "") == "refresh") {
        ++refreshes;
        CHECK(record.contains("label_change"));
        CHECK(record["mean_max_p"].get<double>() >= record["mean_max_q"].get<double>());
      }
    CHECK(refreshes == metrics["dec_refreshes"].get<std::int64_t>());
    CHECK(refreshes >= 2);
    if (image::png_available())
      for (const char* figure : {"dec_sharpening.png", "cluster_samples.png", "reconstructions.png"})
        CHECK_MESSAGE(is_png(dir / figure), figure);
  }
  // A pretrained autoencoder instead of pretraining: the run starts from its weights.
  const CliResult again = cake_cli("run dec" + kDecData + " --out dec_pretrained" + kShort + " pretrained=dec/model.safetensors");
  REQUIRE_MESSAGE(again.code == 0, again.err);
  const json metrics = read_json(scratch() / "dec_pretrained" / "metrics.json");
  CHECK(metrics.contains("nmi"));
  CHECK_FALSE(metrics.contains("train_loss"));  // nothing was pretrained
  // The k-means on the same codes gives the same starting point.
  CHECK(metrics["ae_kmeans"]["nmi"] == read_json(scratch() / "dec" / "metrics.json")["ae_kmeans"]["nmi"]);
}

TEST_CASE("autoencoder and ae-kmeans: model=dec is DEC's network, and a hidden it would ignore is refused") {
  write_images();
  const CliResult r = cake_cli("run autoencoder" + kDecData + " --out ae_dec --set model=dec epochs=1 latent_dim=4 "
                               "optimizer=sgd lr=0.1 batch_size=16 tsne_samples=0 probe=false");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  // The saved model has DEC's layers (784-500-500-2000-4) and a linear output.
  const SafetensorsFile file = load_safetensors((scratch() / "ae_dec" / "model.safetensors").string());
  CHECK(file.tensors.at("encoder.1.weight").sizes() == Shape{500, 784});
  CHECK(file.tensors.at("encoder.5.weight").sizes() == Shape{2000, 500});
  CHECK(file.tensors.at("encoder.7.weight").sizes() == Shape{4, 2000});
  CHECK(file.tensors.count("linear_output") == 1);
  const json metrics = read_json(scratch() / "ae_dec" / "metrics.json");
  for (const char* key : {"mean_image_mse", "loss_vs_mean_image", "plateau", "batch_size_used"})
    CHECK_MESSAGE(metrics.contains(key), key);

  const CliResult refused = cake_cli("run ae-kmeans" + kDecData + " --out refused --set model=dec hidden=64");
  CHECK(refused.code != 0);
  CHECK(refused.err.find("model=dec") != std::string::npos);
}

TEST_CASE("autoencoder: model=n2d is DEC's sizes with a linear output and Keras' Glorot-uniform start (N2D's network)") {
  write_images();
  // lr 1e-12 leaves the weights where they started; output_bias=layer keeps the output bias at zero.
  const CliResult r = cake_cli("run autoencoder" + kDecData + " --out ae_n2d --set model=n2d epochs=1 latent_dim=4 optimizer=sgd "
                               "lr=1e-12 batch_size=16 val_fraction=0 tsne_samples=0 probe=false output_bias=layer");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const SafetensorsFile file = load_safetensors((scratch() / "ae_n2d" / "model.safetensors").string());
  CHECK(file.tensors.count("linear_output") == 1);
  // Glorot's bound sqrt(6 / (fan_in + fan_out)) is 1.1 to 1.9 times DEC's (and the library
  // Linear's) sqrt(1 / fan_in) for these layers, and the largest of 10^5-10^6 uniform draws is
  // within 1 % of its bound, so the largest weight tells them apart.
  for (const auto& [name, fan_in, fan_out] : {std::tuple{"encoder.1.weight", 784, 500}, std::tuple{"encoder.5.weight", 500, 2000},
                                              std::tuple{"decoder.6.weight", 500, 784}}) {
    CAPTURE(std::string(name));
    const Tensor w = file.tensors.at(name).to(kFloat64);
    REQUIRE(w.sizes() == Shape{fan_out, fan_in});
    const double largest = w.abs().max().item<double>(), glorot = std::sqrt(6.0 / (fan_in + fan_out));
    CHECK(largest <= glorot);
    CHECK(largest > 0.99 * glorot);
    CHECK(largest > 1.05 / std::sqrt(static_cast<double>(fan_in)));
  }
  CHECK(file.tensors.at("encoder.1.bias").abs().max().item<double>() < 1e-9);
  CHECK(file.tensors.at("decoder.6.bias").abs().max().item<double>() < 1e-9);
  const CliResult refused = cake_cli("run autoencoder" + kDecData + " --out refused_n2d --set model=n2d hidden=64");
  CHECK(refused.code != 0);
  CHECK(refused.err.find("model=n2d") != std::string::npos);
}

TEST_CASE("output_bias: mean starts the output layer on the mean training image, layer keeps DEC's zero start") {
  write_images();
  const Tensor images = data::read_npy(scratch() / "images.npy").reshape({60, 784}).to(kFloat64);
  const Tensor mean_image = images.mean({0});
  for (const char* start : {"mean", "layer"}) {
    CAPTURE(std::string(start));
    // lr 1e-12: one epoch of SGD leaves every weight where it started, to well under 1e-9.
    const std::string out = std::string("bias_") + start;
    const CliResult r = cake_cli("run autoencoder" + kDecData + " --out " + out + " --set model=dec epochs=1 latent_dim=4 optimizer=sgd "
                                 "lr=1e-12 batch_size=16 val_fraction=0 tsne_samples=0 probe=false output_bias=" + start);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const SafetensorsFile file = load_safetensors((scratch() / out / "model.safetensors").string());
    const Tensor bias = file.tensors.at("decoder.6.bias").to(kFloat64);  // Linear(500 -> 784), the output layer: DEC's starts at zero
    REQUIRE(bias.sizes() == Shape{784});
    const Tensor expected = std::string(start) == "mean" ? mean_image : zeros_like(mean_image);
    CHECK((bias - expected).abs().max().item<double>() < 1e-6);
  }
  const CliResult refused = cake_cli("run dec" + kDecData + " --out refused_bias" + kShort + " output_bias=median");
  CHECK(refused.code != 0);
  CHECK(refused.err.find("output_bias") != std::string::npos);
}
