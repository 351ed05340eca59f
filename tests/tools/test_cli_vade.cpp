// End-to-end tests of `cake run vade` and `cake run vae-ensemble`
// (algorithms/deep_clustering/) on a tiny image set of three prototypes: the files a run leaves,
// the scores of the pretrained start and of the trained model, and a resume continuing exactly.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cake/data/image.h"
#include "cake/data/npy.h"
#include "cake/nn/functional.h"
#include "cake/tensor/random.h"
#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace cake::testing;

namespace {

const std::string kVadeData = " --data images.npy --labels classes.npy --quiet --seed 5 --threads 1";

}  // namespace

TEST_CASE("vade: pretraining and VaDE in one command, both clusterings scored, resume exact") {
  write_images();
  const std::string run = "run vade" + kVadeData + " --set hidden=32 latent_dim=2 n_clusters=3 pretrain_epochs=8 " +
                          "pretrain_batch_size=16 pretrain_lr=0.01 batch_size=16 tsne_samples=0 component_samples=4";
  const CliResult r = cake_cli(run + " epochs=4 --out vade");
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const fs::path out = scratch() / "vade";
  const json metrics = read_json(out / "metrics.json");
  for (const char* key : {"nmi", "acc", "ari", "ae_gmm_nmi", "ae_gmm_acc", "ae_gmm_ari", "pretrain_train_loss",
                          "mixture_weights", "final_lr", "train_loss"})
    CHECK_MESSAGE(metrics.contains(key), key);
  // Three well separated prototypes: both the AE + GMM start and VaDE find them.
  CHECK(metrics["ae_gmm_acc"].get<double>() >= 0.9);
  CHECK(metrics["acc"].get<double>() >= 0.9);
  CHECK(data::read_npy(out / "labels.npy").sizes() == Shape{60});
  for (const char* file : {"pretrain_checkpoint.safetensors", "checkpoint.safetensors", "autoencoder.safetensors",
                           "model.safetensors"})
    CHECK_MESSAGE(fs::exists(out / file), file);
  check_figures(out, {"loss_curve.png", "pretrain_loss_curve.png", "cluster_samples.png", "component_samples.png"});
  std::int64_t pretrain_lines = 0, vade_lines = 0;
  for (const json& record : read_log(out / "log.jsonl")) {
    if (record.contains("pretrain_epoch")) ++pretrain_lines;
    if (record.contains("epoch")) ++vade_lines;
  }
  CHECK(pretrain_lines == 8);
  CHECK(vade_lines == 4);

  // 2 VaDE epochs, then a resume (both phases' checkpoints) to 4: the same model, bit for bit.
  REQUIRE(cake_cli(run + " epochs=2 --out vade_half").code == 0);
  const CliResult resumed = cake_cli(run + " epochs=4 resume=vade_half/checkpoint.safetensors --out vade_resumed");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(read_text(out / "model.safetensors") == read_text(scratch() / "vade_resumed" / "model.safetensors"));
  CHECK(read_json(scratch() / "vade_resumed" / "metrics.json")["resumed_from_epoch"] == 2);

  // A run stopped after its pretraining, before VaDE's first checkpoint: --resume finds the
  // pretraining's checkpoint, starts VaDE from it and ends where the whole run ends.
  fs::remove(scratch() / "vade_half" / "checkpoint.safetensors");
  const CliResult from_phase_1 = cake_cli("run vade --out vade_half --resume --quiet --threads 1 --set epochs=4");
  REQUIRE_MESSAGE(from_phase_1.code == 0, from_phase_1.err);
  CHECK(read_text(out / "model.safetensors") == read_text(scratch() / "vade_half" / "model.safetensors"));
}

TEST_CASE("vae-ensemble: VAEs on three members' frozen features, each member and the ensemble scored") {
  write_images();
  const std::string run = "run vae-ensemble" + kVadeData + " --set feature_dim=8 mlp_hidden=32 member_epochs=3 epochs=4 " +
                          "vae_hidden=16 vae_latent=3 n_clusters=3 n_init=2 batch_size=16 lr=0.005";
  // Without classifier_data the classifier member is skipped, and metrics.json says why.
  const CliResult two = cake_cli(run + " --out ens2");
  REQUIRE_MESSAGE(two.code == 0, two.err);
  const json m2 = read_json(scratch() / "ens2" / "metrics.json");
  CHECK(m2["members"] == json::array({"conv", "mlp"}));
  CHECK(m2["members_skipped"]["classifier"].get<std::string>().find("classifier_data") != std::string::npos);
  // With it (here the same images stand in for another labelled set), three members.
  const CliResult three =
      cake_cli(run + " classifier_data=images.npy classifier_labels=classes.npy --out ens3");
  REQUIRE_MESSAGE(three.code == 0, three.err);
  const json m3 = read_json(scratch() / "ens3" / "metrics.json");
  CHECK(m3["members"] == json::array({"conv", "mlp", "classifier"}));
  for (const char* key : {"member_conv_nmi", "member_mlp_acc", "member_classifier_ari", "nmi", "acc", "ari",
                          "classifier_train_loss", "conv_vae_train_loss"})
    CHECK_MESSAGE(m3.contains(key), key);
  // 3 members x 3-dimensional codes, concatenated.
  CHECK(data::read_npy(scratch() / "ens3" / "embedding.npy").sizes() == Shape{60, 9});
  CHECK(m3["acc"].get<double>() >= 0.9);  // three well separated prototypes
  check_figures(scratch() / "ens3", {"comparison.png", "cluster_samples.png"});
  CHECK(cake_cli(run + " members=conv,pixels --out ens_bad").code != 0);

  // A resume is exact: two VAE epochs, then --resume to four, ends where four in one go end
  // (the members' finished phases are restored from their checkpoints, the VAEs continue).
  std::string two_epochs = run;
  two_epochs.replace(two_epochs.find(" epochs=4 "), 10, " epochs=2 ");
  const CliResult half = cake_cli(two_epochs + " --out ens_half");
  REQUIRE_MESSAGE(half.code == 0, half.err);
  const CliResult resumed = cake_cli("run vae-ensemble --out ens_half --resume --quiet --threads 1 --set epochs=4");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  for (const std::string file : {"embedding.npy", "labels.npy"}) {
    CAPTURE(file);
    CHECK(read_text(scratch() / "ens2" / file) == read_text(scratch() / "ens_half" / file));
  }
  const json whole_scores = read_json(scratch() / "ens2" / "metrics.json");
  const json resumed_scores = read_json(scratch() / "ens_half" / "metrics.json");
  for (const char* key : {"nmi", "member_conv_nmi", "member_mlp_nmi", "conv_vae_train_loss", "mlp_vae_train_loss"}) {
    CAPTURE(key);
    CHECK(whole_scores[key] == resumed_scores[key]);
  }
}

TEST_CASE("vae-ensemble: members whose frozen features come from files join the trained ones") {
  write_images();
  // Features another command could have written (as deepcluster's features.npy): each class
  // lights its own 10 of 30 columns, plus noise, one row per image of images.npy in its order.
  // (Wide, as a network's features are: on a handful of columns the VAE's KL term outweighs
  // what a code saves in reconstruction, and its codes carry little.)
  manual_seed(3);
  const Tensor classes = data::read_npy(scratch() / "classes.npy");
  const Tensor one_hot = nn::functional::one_hot(classes, 3).to(kFloat32);
  const Tensor wide = one_hot.unsqueeze(2).expand({60, 3, 10}).reshape({60, 30});
  data::write_npy(scratch() / "oracle.npy", (wide + randn({60, 30}) * 0.05).contiguous());
  data::write_npy(scratch() / "short.npy", randn({59, 5}).contiguous());
  const std::string run = "run vae-ensemble" + kVadeData + " --set feature_dim=8 mlp_hidden=32 member_epochs=3 epochs=4 " +
                          "vae_hidden=16 vae_latent=3 n_clusters=3 n_init=2 batch_size=16 lr=0.005";

  // A feature member alone (members=none): its VAE's codes are clustered and scored, also by
  // N2D's UMAP + GMM (n2d=true).
  const CliResult alone = cake_cli(run + " members=none feature_members=oracle=oracle.npy n2d=true --out ens_file");
  REQUIRE_MESSAGE(alone.code == 0, alone.err);
  const json m1 = read_json(scratch() / "ens_file" / "metrics.json");
  CHECK(m1["members"] == json::array({"oracle"}));
  CHECK(m1.contains("member_oracle_nmi"));
  CHECK(m1.contains("oracle_vae_train_loss"));
  CHECK(m1["acc"].get<double>() >= 0.9);
  CHECK(m1["n2d_acc"].get<double>() >= 0.9);
  CHECK(data::read_npy(scratch() / "ens_file" / "n2d_labels.npy").sizes() == Shape{60});

  // The feature file's size and hash are recorded: a --resume after it changed is refused by
  // name before any training (the member's VAE learnt the old features), and --overwrite never
  // deletes a feature file inside the folder it replaces.
  const std::string oracle = read_text(scratch() / "oracle.npy");
  data::write_npy(scratch() / "oracle.npy", (wide + randn({60, 30}) * 0.05).contiguous());
  const CliResult stale = cake_cli("run vae-ensemble --out ens_file --resume --quiet");
  CHECK(stale.code == 2);
  CHECK_MESSAGE(stale.err.find("oracle.npy changed since the run started") != std::string::npos, stale.err);
  std::ofstream(scratch() / "oracle.npy", std::ios::binary) << oracle;
  fs::copy_file(scratch() / "oracle.npy", scratch() / "ens_file" / "kept.npy");
  const CliResult over = cake_cli(run + " members=none feature_members=kept=ens_file/kept.npy --out ens_file --overwrite");
  CHECK(over.code == 2);
  CHECK_MESSAGE(over.err.find("ens_file/kept.npy") != std::string::npos, over.err);
  CHECK(fs::exists(scratch() / "ens_file" / "kept.npy"));

  // Beside a trained member: the trained member's codes do not change (it keeps its own random
  // stream), and the ensemble concatenates both members' codes.
  const CliResult both = cake_cli(run + " members=conv feature_members=oracle=oracle.npy --out ens_conv_file");
  REQUIRE_MESSAGE(both.code == 0, both.err);
  const CliResult conv_only = cake_cli(run + " members=conv --out ens_conv");
  REQUIRE_MESSAGE(conv_only.code == 0, conv_only.err);
  const json m2 = read_json(scratch() / "ens_conv_file" / "metrics.json");
  CHECK(m2["members"] == json::array({"conv", "oracle"}));
  CHECK(m2["member_conv_nmi"] == read_json(scratch() / "ens_conv" / "metrics.json")["member_conv_nmi"]);
  CHECK(data::read_npy(scratch() / "ens_conv_file" / "embedding.npy").sizes() == Shape{60, 6});

  // Bad input is refused before any training, naming what is wrong.
  const CliResult rows = cake_cli(run + " feature_members=short=short.npy --out ens_rows");
  CHECK(rows.code != 0);
  CHECK(rows.err.find("short.npy") != std::string::npos);
  CHECK(rows.err.find("60 images") != std::string::npos);
  CHECK_FALSE(fs::exists(scratch() / "ens_rows" / "conv_checkpoint.safetensors"));
  int case_number = 0;
  for (const std::string bad : {"conv=oracle.npy", "oracle", "a=oracle.npy,a=oracle.npy", "my-name=oracle.npy"}) {
    CAPTURE(bad);
    const CliResult r = cake_cli(run + " feature_members=" + bad + " --out ens_bad_" + std::to_string(++case_number));
    CHECK(r.code != 0);
    CHECK(r.err.find("feature") != std::string::npos);
  }
  CHECK(cake_cli(run + " members=none --out ens_none").code != 0);
}
