// End-to-end tests of the network commands of the `cake` binary (autoencoders, VAEs,
// fine-tuning, clustering on codes; tools/algorithms/network_runs.h) on a tiny image set: the
// files a run leaves, `resume` continuing exactly, and fine-tuning from a saved encoder.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

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

const std::string kNetworkData = " --data images.npy --labels classes.npy --quiet --seed 5 --threads 1";
const std::string kNetworkSmall = " batch_size=16 tsne_samples=20";

}  // namespace

TEST_CASE("conv-autoencoder: every file of a run, the issue's metrics, a loss that falls") {
  write_images();
  const CliResult r = cake_cli("run conv-autoencoder" + kNetworkData + " --out cae --set epochs=3 latent_dim=4" + kNetworkSmall);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const fs::path out = scratch() / "cae";
  const json metrics = read_json(out / "metrics.json");
  for (const char* key : {"train_loss", "val_loss", "epoch_time_s", "best_epoch", "epochs_run", "stop_reason"})
    CHECK_MESSAGE(metrics.contains(key), key);
  CHECK(metrics["epochs_run"] == 3);
  std::vector<double> train;
  for (const json& record : read_log(out / "log.jsonl"))
    if (record.contains("epoch")) train.push_back(record["train_loss"].get<double>());
  REQUIRE(train.size() == 3);
  CHECK(train.back() < train.front());
  CHECK(data::read_npy(out / "embedding.npy").sizes() == Shape{60, 4});
  CHECK(fs::exists(out / "checkpoint.safetensors"));
  CHECK(fs::exists(out / "model.safetensors"));
  check_figures(out, {"loss_curve.png", "reconstructions.png", "random_codes.png", "embedding.png", "embedding_tsne.png"});
  for (const auto& entry : fs::directory_iterator(out))  // checkpoints are renamed into place
    CHECK(entry.path().string().find(".tmp") == std::string::npos);
}

TEST_CASE("resume: 2 epochs, then resuming to 4, equals 4 epochs in one go, bit for bit") {
  write_images();
  const std::string run = "run denoising-autoencoder" + kNetworkData + " --set latent_dim=4 tsne_samples=0 probe=false batch_size=16";
  REQUIRE(cake_cli(run + " epochs=4 --out whole").code == 0);
  REQUIRE(cake_cli(run + " epochs=2 --out half").code == 0);
  const CliResult resumed = cake_cli(run + " epochs=4 resume=half/checkpoint.safetensors --out resumed");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  const json whole = read_json(scratch() / "whole" / "metrics.json"), again = read_json(scratch() / "resumed" / "metrics.json");
  CHECK(whole["train_loss"].get<double>() == again["train_loss"].get<double>());
  CHECK(whole["val_loss"].get<double>() == again["val_loss"].get<double>());
  CHECK(read_text(scratch() / "whole" / "model.safetensors") == read_text(scratch() / "resumed" / "model.safetensors"));
  // It did resume (a fresh 4-epoch run with the same seed would match too): epochs 1 and 2
  // come from the checkpoint, only 3 and 4 were trained.
  std::vector<std::int64_t> trained, restored;
  for (const json& record : read_log(scratch() / "resumed" / "log.jsonl"))
    if (record.contains("epoch"))
      (record.value("from_checkpoint", false) ? restored : trained).push_back(record["epoch"].get<std::int64_t>());
  CHECK(trained == std::vector<std::int64_t>{3, 4});
  CHECK(restored == std::vector<std::int64_t>{1, 2});
  CHECK(read_json(scratch() / "half" / "metrics.json")["train_loss"].get<double>() != whole["train_loss"].get<double>());
  check_figures(scratch() / "whole", {"denoising.png"});
}

TEST_CASE("finetune: a classifier on the encoder of a saved autoencoder") {
  write_images();
  REQUIRE(cake_cli("run autoencoder" + kNetworkData + " --out mlp --set epochs=3 latent_dim=6 hidden=32" + kNetworkSmall).code == 0);
  const CliResult missing = cake_cli("run finetune" + kNetworkData + " --out nothing");
  CHECK(missing.code != 0);
  CHECK(missing.err.find("checkpoint=") != std::string::npos);
  const CliResult r = cake_cli("run finetune" + kNetworkData + " --out ft --set checkpoint=mlp/model.safetensors epochs=15 lr=0.01" +
                            " batch_size=16");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json metrics = read_json(scratch() / "ft" / "metrics.json");
  // Three well separated prototypes: the head separates their codes (chance is 1/3).
  CHECK(metrics["val_accuracy"].get<double>() >= 0.8);
}

TEST_CASE("masked-autoencoder, vae, conv-vae, ae-kmeans and ae-gmm run and leave their figures") {
  write_images();
  REQUIRE(cake_cli("run masked-autoencoder" + kNetworkData + " --out mae --set epochs=1 latent_dim=4" + kNetworkSmall).code == 0);
  check_figures(scratch() / "mae", {"masked_reconstructions.png"});
  const CliResult vae = cake_cli("run vae" + kNetworkData + " --out vae --set epochs=2 latent_dim=2 hidden=32" + kNetworkSmall);
  REQUIRE_MESSAGE(vae.code == 0, vae.err);
  check_figures(scratch() / "vae", {"samples.png", "interpolation.png", "loss_curve.png"});
  CHECK(read_json(scratch() / "vae" / "metrics.json").contains("val_loss"));
  REQUIRE(cake_cli("run conv-vae" + kNetworkData + " --out cvae --set epochs=1 latent_dim=2" + kNetworkSmall).code == 0);
  check_figures(scratch() / "cvae", {"samples.png", "interpolation.png"});
  for (const char* method : {"ae-kmeans", "ae-gmm"}) {
    const CliResult r = cake_cli(std::string("run ") + method + kNetworkData + " --out " + method +
                              " --set epochs=3 latent_dim=3 hidden=32 n_clusters=3 n_init=2" + kNetworkSmall);
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const json metrics = read_json(scratch() / method / "metrics.json");
    CHECK(metrics.contains("nmi"));
    CHECK(metrics.contains("acc"));
    CHECK(data::read_npy(scratch() / method / "labels.npy").sizes() == Shape{60});
  }
}

TEST_CASE("n2d trains the autoencoder, clusters the UMAP of its codes and draws them") {
  write_images();
  const CliResult r = cake_cli("run n2d" + kNetworkData + " --out n2d --set model=mlp epochs=3 latent_dim=3 hidden=32 n_clusters=3 " +
                               "umap_neighbors=10 umap_epochs=50 plot_samples=60" + kNetworkSmall);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json metrics = read_json(scratch() / "n2d" / "metrics.json");
  CHECK(metrics.contains("nmi"));
  CHECK(metrics.contains("acc"));
  CHECK(metrics.contains("umap_init"));
  CHECK(data::read_npy(scratch() / "n2d" / "labels.npy").sizes() == Shape{60});
  CHECK(data::read_npy(scratch() / "n2d" / "manifold.npy").sizes() == Shape{60, 3});  // umap_dim 0: n_clusters
  CHECK(data::read_npy(scratch() / "n2d" / "umap_2d.npy").sizes() == Shape{60, 2});
  check_figures(scratch() / "n2d", {"umap_classes.png", "umap_clusters.png", "cluster_samples.png", "loss_curve.png"});
}

TEST_CASE("n2d's defaults are the paper's recipe: N2D's network, Adam lr 1e-3, batch 256, 1000 epochs on every image") {
  const CliResult help = cake_cli("help n2d");
  REQUIRE_MESSAGE(help.code == 0, help.err);
  // `cake help` prints one line per parameter: name, type, default, description.
  std::map<std::string, std::string> defaults;
  std::istringstream lines(help.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string name, type, value;
    if (words >> name >> type >> value) defaults[name] = value;
  }
  const std::map<std::string, std::string> paper{{"model", "n2d"},   {"output_bias", "layer"}, {"optimizer", "adam"},
                                                 {"lr", "0.001"},     {"batch_size", "256"},    {"epochs", "1000"},
                                                 {"weight_decay", "0"}, {"val_fraction", "0"},  {"patience", "0"},
                                                 {"latent_dim", "10"}, {"umap_neighbors", "20"}, {"umap_min_dist", "0"}};
  for (const auto& [name, value] : paper) CHECK_MESSAGE(defaults[name] == value, name);
}

TEST_CASE("finetune freeze=false: the encoder trains in its own group at lr * encoder_lr_scale, and moves") {
  write_images();
  REQUIRE(cake_cli("run autoencoder" + kNetworkData + " --out mlp_ft --set epochs=3 latent_dim=6 hidden=32" + kNetworkSmall).code == 0);
  const std::string run = "run finetune" + kNetworkData + " --set checkpoint=mlp_ft/model.safetensors epochs=5 lr=0.01 batch_size=16";
  const CliResult frozen = cake_cli(run + " --out ft_frozen");
  REQUIRE_MESSAGE(frozen.code == 0, frozen.err);
  const CliResult full = cake_cli(run + " freeze=false encoder_lr_scale=0.1 --out ft_full");
  REQUIRE_MESSAGE(full.code == 0, full.err);
  const json f = read_json(scratch() / "ft_frozen" / "metrics.json"), g = read_json(scratch() / "ft_full" / "metrics.json");
  CHECK(f["finetune_mode"] == "frozen");
  CHECK(f["encoder_weight_change"].get<double>() == 0.0);
  CHECK_FALSE(f.contains("encoder_lr"));
  CHECK(g["finetune_mode"] == "full");
  CHECK(g["encoder_lr"].get<double>() == doctest::Approx(0.001));
  CHECK(g["encoder_weight_change"].get<double>() > 0.0);
  CHECK(g.contains("val_accuracy"));
  CHECK(cake_cli(run + " freeze=false encoder_lr_scale=-1 --out ft_bad").code != 0);
}

TEST_CASE("pretrained: ae-kmeans and n2d cluster the codes of a saved autoencoder without training it") {
  write_images();
  // ae-kmeans trains its autoencoder and clusters the codes; the same command given that
  // autoencoder's file must cluster the very same codes: the same labels, no epoch trained.
  const std::string net = " latent_dim=3 hidden=32 n_clusters=3 tsne_samples=0 probe=false batch_size=16";
  const CliResult trained = cake_cli("run ae-kmeans" + kNetworkData + " --out aek_trained --set epochs=3" + net);
  REQUIRE_MESSAGE(trained.code == 0, trained.err);
  const CliResult loaded =
      cake_cli("run ae-kmeans" + kNetworkData + " --out aek_loaded --set pretrained=aek_trained/model.safetensors" + net);
  REQUIRE_MESSAGE(loaded.code == 0, loaded.err);
  CHECK(read_text(scratch() / "aek_trained" / "labels.npy") == read_text(scratch() / "aek_loaded" / "labels.npy"));
  CHECK(read_text(scratch() / "aek_trained" / "embedding.npy") == read_text(scratch() / "aek_loaded" / "embedding.npy"));
  const json m = read_json(scratch() / "aek_loaded" / "metrics.json");
  CHECK(m["pretrained"] == "aek_trained/model.safetensors");
  CHECK_FALSE(m.contains("epochs_run"));
  for (const json& record : read_log(scratch() / "aek_loaded" / "log.jsonl")) CHECK_FALSE(record.contains("epoch"));
  CHECK_FALSE(fs::exists(scratch() / "aek_loaded" / "checkpoint.safetensors"));

  // n2d on the same file: UMAP and the GMM on those codes.
  const CliResult n2d =
      cake_cli("run n2d" + kNetworkData + " --out n2d_loaded --set model=mlp pretrained=aek_trained/model.safetensors plot_samples=0" + net);
  REQUIRE_MESSAGE(n2d.code == 0, n2d.err);
  CHECK(data::read_npy(scratch() / "n2d_loaded" / "manifold.npy").sizes() == Shape{60, 3});
  CHECK(read_json(scratch() / "n2d_loaded" / "metrics.json").contains("nmi"));

  // A file that is not there is named.
  const CliResult missing = cake_cli("run n2d" + kNetworkData + " --out n2d_missing --set model=mlp pretrained=nowhere.safetensors" + net);
  CHECK(missing.code != 0);
  CHECK(missing.err.find("nowhere.safetensors") != std::string::npos);
}
