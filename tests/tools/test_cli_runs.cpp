// End-to-end tests of the run-folder lifecycle of `cake run` (tools/output.h, tools/run.cpp):
// --overwrite never deletes a folder cake did not create, the current folder, nor an input of
// the run, and a failing new run leaves the old one whole; --resume continues a run killed
// with SIGKILL (or stopped with Ctrl-C) and ends bit for bit as a run never stopped; changed
// parameters on resume are refused by name, or applied and recorded for resume=PATH.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cake/data/npy.h"
#include "helpers.h"
#include "tools/cli_testing.h"

using namespace cake;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace cake::testing;

namespace {

const std::string kLloydOnBlobs = "run kmeans-lloyd --data X.npy --labels y.npy --quiet --seed 3 --set n_init=2";

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  return names;
}

bool any_name_contains(const fs::path& dir, const std::string& part) {
  for (const std::string& name : names_in(dir))
    if (name.find(part) != std::string::npos) return true;
  return false;
}

// `cake ARGS` started in `dir` as a child process (its own pid, not a shell's), output discarded.
pid_t spawn_cake(const std::string& args, const fs::path& dir) {
  const std::string command = "cd '" + dir.string() + "' && exec '" CAKE_CLI_PATH "' " + args +
                              " > child.out 2> child.err < /dev/null";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  REQUIRE(pid > 0);
  return pid;
}

// Waits up to `seconds` for `file` to exist; false if it never did.
bool wait_for(const fs::path& file, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!fs::exists(file)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A conv autoencoder run small enough for a test; `epochs` is added by each test.
const std::string kTrain =
    "run conv-autoencoder --data images.npy --labels classes.npy --quiet --seed 5 --threads 1 "
    "--set latent_dim=4 batch_size=16 tsne_samples=0 probe=false";

// Two finished runs of the same training end equal bit for bit: scores, weights, codes.
void check_same_run(const fs::path& a, const fs::path& b) {
  const json ma = read_json(a / "metrics.json"), mb = read_json(b / "metrics.json");
  for (const char* key : {"train_loss", "val_loss", "best_epoch", "epochs_run", "stop_reason"}) {
    INFO(key);
    CHECK(ma.at(key) == mb.at(key));
  }
  CHECK(read_text(a / "model.safetensors") == read_text(b / "model.safetensors"));
  CHECK(read_text(a / "embedding.npy") == read_text(b / "embedding.npy"));
}

}  // namespace

// ---- --overwrite: what it never deletes --------------------------------------------------------------

TEST_CASE("--overwrite never deletes a file the run reads; the refusal names it and comes first") {
  const fs::path dir = case_dir("inputs");
  write_blobs(dir);
  REQUIRE(cake_cli(kLloydOnBlobs + " --set n_clusters=3 --out R", dir).code == 0);
  fs::copy_file(dir / "X.npy", dir / "R" / "embedding.npy");
  const std::string labels_before = read_text(dir / "R" / "labels.npy");
  const CliResult r = cake_cli("run kmeans-lloyd --data R/embedding.npy --set n_clusters=3 --out R --overwrite --quiet", dir);
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.err.find("R/embedding.npy") != std::string::npos, r.err);
  CHECK(fs::exists(dir / "R" / "embedding.npy"));
  CHECK(read_text(dir / "R" / "labels.npy") == labels_before);
  // The same for --labels and --config inside the folder to be replaced.
  CHECK(cake_cli("run kmeans-lloyd --data X.npy --labels R/labels.npy --out R --overwrite --quiet", dir).code == 2);
  CHECK(cake_cli("run kmeans-lloyd --data X.npy --config R/config.json --out R --overwrite --quiet", dir).code == 2);
  CHECK(fs::exists(dir / "R" / "config.json"));
}

TEST_CASE("--overwrite never replaces the current folder or a parent of it, even a marked one") {
  const fs::path dir = case_dir("dot");
  write_blobs(dir);
  std::ofstream(dir / ".cake-run") << "{}";
  for (const char* out : {".", "./", "../dot"}) {
    const CliResult r = cake_cli(kLloydOnBlobs + " --out " + out + " --overwrite", dir);
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.err.find("current folder") != std::string::npos, r.err);
  }
  CHECK(fs::exists(dir / "X.npy"));
  CHECK(fs::exists(dir / "y.npy"));
}

TEST_CASE("--overwrite never deletes a folder cake did not mark, config.json or not") {
  const fs::path dir = case_dir("project");
  write_blobs(dir);
  fs::create_directories(dir / "thesis");
  std::ofstream(dir / "thesis" / "config.json") << "{\"latex\": true}";
  std::ofstream(dir / "thesis" / "thesis.tex") << "years of work";
  const CliResult r = cake_cli(kLloydOnBlobs + " --out thesis --overwrite", dir);
  CHECK(r.code == 2);
  CHECK(r.err.find(".cake-run") != std::string::npos);
  CHECK(read_text(dir / "thesis" / "thesis.tex") == "years of work");
}

TEST_CASE("a new run that fails (n_clusters > n_samples) leaves the old run whole, and no temporary folder") {
  const fs::path dir = case_dir("failing");
  write_blobs(dir);
  REQUIRE(cake_cli(kLloydOnBlobs + " --set n_clusters=3 --out R", dir).code == 0);
  const std::string labels = read_text(dir / "R" / "labels.npy"), config = read_text(dir / "R" / "config.json");
  const CliResult r = cake_cli(kLloydOnBlobs + " --set n_clusters=1000 --out R --overwrite", dir);
  CHECK(r.code != 0);
  CHECK(read_text(dir / "R" / "labels.npy") == labels);
  CHECK(read_text(dir / "R" / "config.json") == config);
  CHECK_FALSE(any_name_contains(dir, ".unfinished-"));
}

TEST_CASE("a read-only parent: --overwrite fails before the old run is touched") {
  if (::geteuid() == 0) return;  // root writes anywhere: nothing to test
  const fs::path dir = case_dir("readonly");
  write_blobs(dir);
  fs::create_directories(dir / "P");
  REQUIRE(cake_cli(kLloydOnBlobs + " --set n_clusters=3 --out P/R", dir).code == 0);
  const std::string labels = read_text(dir / "P" / "R" / "labels.npy");
  ::chmod((dir / "P").c_str(), 0555);
  const CliResult r = cake_cli(kLloydOnBlobs + " --set n_clusters=2 --out P/R --overwrite", dir);
  ::chmod((dir / "P").c_str(), 0755);
  CHECK(r.code == 1);
  CHECK_MESSAGE(r.err.find("the old run is untouched") != std::string::npos, r.err);
  CHECK(read_text(dir / "P" / "R" / "labels.npy") == labels);
}

TEST_CASE("a successful --overwrite swaps the new run in whole and clears what killed runs left") {
  const fs::path dir = case_dir("swap");
  write_blobs(dir);
  REQUIRE(cake_cli(kLloydOnBlobs + " --set n_clusters=3 --out R", dir).code == 0);
  std::ofstream(dir / "R" / "old_only.txt") << "from the old run";
  // What a run killed before its swap leaves: a marked sibling of a process that is gone.
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  const fs::path leftover = dir / ("R.unfinished-" + std::to_string(gone));
  fs::create_directories(leftover);
  std::ofstream(leftover / ".cake-run") << "{}";
  const CliResult r = cake_cli(kLloydOnBlobs + " --set n_clusters=2 --out R --overwrite", dir);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(read_json(dir / "R" / "config.json")["params"]["n_clusters"] == 2);
  CHECK(read_json(dir / "R" / ".cake-run").contains("run_id"));
  CHECK_FALSE(fs::exists(dir / "R" / "old_only.txt"));
  CHECK_FALSE(fs::exists(leftover));
  CHECK_FALSE(any_name_contains(dir, ".unfinished-"));
  CHECK_FALSE(any_name_contains(dir, ".replaced-"));
}

// ---- --resume ----------------------------------------------------------------------------------------------

TEST_CASE("kill -9 during training, then --resume: the same numbers and weights as a run never stopped") {
  write_images();
  REQUIRE(cake_cli(kTrain + " epochs=6 --out whole").code == 0);
  const fs::path killed = scratch() / "killed";
  const pid_t pid = spawn_cake(kTrain + " epochs=6 --out killed", scratch());
  REQUIRE(wait_for(killed / "checkpoint.safetensors", 60.0));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  INFO("the child " << (WIFSIGNALED(status) ? "was killed" : "had already finished"));
  // A save cut short leaves a hidden temporary file; the resumed run removes it.
  std::ofstream(killed / ".checkpoint.safetensors.tmp-k9X2aB") << std::string(4096, 'x');

  const CliResult resumed = cake_cli("run conv-autoencoder --out killed --resume --quiet --threads 1");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  check_same_run(scratch() / "whole", killed);
  CHECK_FALSE(fs::exists(killed / ".checkpoint.safetensors.tmp-k9X2aB"));
  const json config = read_json(killed / "config.json");
  CHECK(config["resumes"].size() == 1);
  CHECK(config["params"]["epochs"] == 6);

  // --resume keeps the run's parameters: a different one is refused by name, before any work.
  const CliResult changed = cake_cli("run conv-autoencoder --out killed --resume --quiet --set lr=0.01 weight_decay=0");
  CHECK(changed.code == 2);
  CHECK(changed.err.find("lr 0.001 -> 0.01") != std::string::npos);
  CHECK(changed.err.find("weight_decay") != std::string::npos);
  CHECK(changed.err.find("resume=killed/checkpoint.safetensors") != std::string::npos);
  const CliResult reseeded = cake_cli("run conv-autoencoder --out killed --resume --quiet --seed 6");
  CHECK(reseeded.code == 2);
  CHECK(reseeded.err.find("seed 5 -> 6") != std::string::npos);
  CHECK(cake_cli("run conv-autoencoder --out killed --resume --quiet --data classes.npy").code == 2);
  check_same_run(scratch() / "whole", killed);  // untouched by the refusals

  // A run started before a parameter existed (its config.json lacks it) resumes with the
  // parameter's default; another value is refused by name.
  json older = read_json(killed / "config.json");
  REQUIRE(older["params"].erase("precision") == 1);
  std::ofstream(killed / "config.json") << older.dump(2);
  const CliResult old_run = cake_cli("run conv-autoencoder --out killed --resume --quiet --threads 1");
  REQUIRE_MESSAGE(old_run.code == 0, old_run.err);
  check_same_run(scratch() / "whole", killed);
  older = read_json(killed / "config.json");
  older["params"].erase("precision");
  std::ofstream(killed / "config.json") << older.dump(2);
  const CliResult new_value = cake_cli("run conv-autoencoder --out killed --resume --quiet --set precision=bfloat16");
  CHECK(new_value.code == 2);
  CHECK(new_value.err.find("precision (not recorded: the run used \"float32\") -> \"bfloat16\"") != std::string::npos);
}

TEST_CASE("--resume refuses a run whose input file changed since it started, naming the file; older runs resume") {
  write_images();
  const fs::path dir = case_dir("changed_inputs");
  fs::copy_file(scratch() / "images.npy", dir / "images.npy");
  fs::copy_file(scratch() / "classes.npy", dir / "classes.npy");
  REQUIRE(cake_cli(kTrain + " epochs=2 --out R", dir).code == 0);
  // config.json records each file the training read: its size and FNV-1a/64 hash.
  const json recorded = read_json(dir / "R" / "config.json");
  REQUIRE(recorded["input_files"].size() == 2);
  CHECK(recorded["input_files"][0]["path"] == "images.npy");
  CHECK(recorded["input_files"][0]["bytes"] == fs::file_size(dir / "images.npy"));
  CHECK(recorded["input_files"][0]["fnv1a64"].get<std::string>().size() == 16);
  CHECK(recorded["input_files"][1]["path"] == "classes.npy");

  // One pixel of the data changed, the size the same: refused by name, before any work.
  const std::string original = read_text(dir / "images.npy");
  std::string edited = original;
  edited[edited.size() - 4] = static_cast<char>(edited[edited.size() - 4] ^ 1);  // the last pixel's lowest bit
  std::ofstream(dir / "images.npy", std::ios::binary) << edited;
  const std::string checkpoint = read_text(dir / "R" / "checkpoint.safetensors");
  const CliResult changed = cake_cli("run conv-autoencoder --out R --resume --quiet --set epochs=3", dir);
  CHECK(changed.code == 2);
  CHECK_MESSAGE(changed.err.find("images.npy changed since the run started") != std::string::npos, changed.err);
  CHECK(changed.err.find("classes.npy") == std::string::npos);  // unchanged, so not named
  CHECK(changed.err.find("--set resume=R/checkpoint.safetensors") != std::string::npos);
  CHECK(read_text(dir / "R" / "checkpoint.safetensors") == checkpoint);
  // A file gone is named too.
  fs::rename(dir / "classes.npy", dir / "classes_moved.npy");
  CHECK(cake_cli("run conv-autoencoder --out R --resume --quiet --set epochs=3", dir).err.find(
            "classes.npy (read when the run started) is missing") != std::string::npos);
  fs::rename(dir / "classes_moved.npy", dir / "classes.npy");

  // The original bytes back: the run continues.
  std::ofstream(dir / "images.npy", std::ios::binary) << original;
  const CliResult restored = cake_cli("run conv-autoencoder --out R --resume --quiet --set epochs=3", dir);
  REQUIRE_MESSAGE(restored.code == 0, restored.err);
  CHECK(read_json(dir / "R" / "metrics.json")["epochs_run"] == 3);

  // A run recorded before Cake kept fingerprints has nothing to compare: it resumes.
  json older = read_json(dir / "R" / "config.json");
  REQUIRE(older.erase("input_files") == 1);
  std::ofstream(dir / "R" / "config.json") << older.dump(2);
  std::ofstream(dir / "images.npy", std::ios::binary) << edited;
  CHECK(cake_cli("run conv-autoencoder --out R --resume --quiet --set epochs=4", dir).code == 0);
  std::ofstream(dir / "images.npy", std::ios::binary) << original;

  // Not fingerprinted: the --config file (its values are compared as parameters, and a --resume
  // does not name it again) and resume=PATH (only where a run started from; here the run it
  // branched from trains on and rewrites that checkpoint). A branch continues with --resume from
  // its own checkpoint; naming another starting point then is a changed parameter.
  std::ofstream(dir / "settings.json") << R"({"lr": 0.002})";
  REQUIRE(cake_cli(kTrain + " epochs=2 --config settings.json --out C", dir).code == 0);
  std::ofstream(dir / "settings.json") << R"({"lr": 0.002, "weight_decay": 0.5})";
  const CliResult config_changed = cake_cli("run conv-autoencoder --out C --resume --quiet --set epochs=3", dir);
  CHECK_MESSAGE(config_changed.code == 0, config_changed.err);
  REQUIRE(cake_cli(kTrain + " epochs=2 --out A", dir).code == 0);
  REQUIRE(cake_cli(kTrain + " epochs=4 resume=A/checkpoint.safetensors --out B", dir).code == 0);
  REQUIRE(cake_cli("run conv-autoencoder --out A --resume --quiet --set epochs=3", dir).code == 0);  // A moves on
  const CliResult branch = cake_cli("run conv-autoencoder --out B --resume --quiet --set epochs=5", dir);
  CHECK_MESSAGE(branch.code == 0, branch.err);
  CHECK(read_json(dir / "B" / "metrics.json")["epochs_run"] == 5);
  const CliResult elsewhere =
      cake_cli("run conv-autoencoder --out B --resume --quiet --set epochs=6 resume=R/checkpoint.safetensors", dir);
  CHECK(elsewhere.code == 2);
  CHECK(elsewhere.err.find("resume") != std::string::npos);
}

TEST_CASE("--resume continues with the run's own thread count and device; another count is allowed, said, recorded") {
  write_images();
  // OpenBLAS's SGEMM rounds differently on three threads than on one, so a run resumed bit for
  // bit needs the thread count it started with, without being told it again.
  std::string three_threads = kTrain;
  three_threads.replace(three_threads.find("--threads 1"), 11, "--threads 3");
  REQUIRE(cake_cli(three_threads + " epochs=3 --out whole3").code == 0);
  REQUIRE(cake_cli(three_threads + " epochs=2 --out part3").code == 0);
  const CliResult resumed = cake_cli("run conv-autoencoder --out part3 --resume --set epochs=3");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  CHECK(resumed.err.find("--resume with") == std::string::npos);  // nothing changed ...
  // ... but a machine with fewer cores than the run's threads is told what --threads would cost.
  const bool fewer_cores = std::thread::hardware_concurrency() < 3;
  CHECK((resumed.err.find("continues with them on this") != std::string::npos) == fewer_cores);
  check_same_run(scratch() / "whole3", scratch() / "part3");
  json config = read_json(scratch() / "part3" / "config.json");
  CHECK(config["threads"] == 3);
  CHECK(config["device"] == "cpu");
  REQUIRE(config["resumes"].size() == 1);
  CHECK(config["resumes"][0]["threads"] == 3);
  CHECK(config["resumes"][0]["device"] == "cpu");

  // Another count continues the run (it may have moved to another machine) and says what it costs.
  const CliResult moved = cake_cli("run conv-autoencoder --out part3 --resume --threads 1 --set epochs=4");
  REQUIRE_MESSAGE(moved.code == 0, moved.err);
  CHECK(moved.err.find("threads 3 -> 1") != std::string::npos);
  CHECK(moved.err.find("last bits") != std::string::npos);
  config = read_json(scratch() / "part3" / "config.json");
  CHECK(config["threads"] == 1);
  REQUIRE(config["resumes"].size() == 2);
  CHECK(config["resumes"][1]["threads"] == 1);
  CHECK(cake_cli("run conv-autoencoder --out part3 --resume --quiet --threads 2 --set epochs=5").err.empty());

  // A run recorded on a GPU, resumed where there is none (or no CUDA build): the refusal says the
  // device came from the run and how to continue on the CPU.
  json on_gpu = read_json(scratch() / "part3" / "config.json");
  on_gpu["device"] = "cuda:0";
  std::ofstream(scratch() / "part3" / "config.json") << on_gpu.dump(2);
  const CliResult no_gpu = cake_cli("run conv-autoencoder --out part3 --resume --set epochs=6");
  if (no_gpu.code != 0) {  // a machine with a GPU continues there instead
    CHECK(no_gpu.code == 2);
    CHECK(no_gpu.err.find("the device the run in part3 used; --device cpu continues it on the CPU") != std::string::npos);
  }
}

TEST_CASE("Ctrl-C stops training at a safe point: exit 130, an 'interrupted' event, then --resume finishes exactly") {
  write_images();
  if (!fs::exists(scratch() / "whole" / "metrics.json")) REQUIRE(cake_cli(kTrain + " epochs=6 --out whole").code == 0);
  const fs::path stopped = scratch() / "stopped";
  const pid_t pid = spawn_cake(kTrain + " epochs=200 --out stopped", scratch());
  REQUIRE(wait_for(stopped / "checkpoint.safetensors", 60.0));
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  bool interrupted = false;
  for (const json& record : read_log(stopped / "log.jsonl")) interrupted |= record.value("event", "") == "interrupted";
  CHECK(interrupted);
  CHECK(read_text(scratch() / "child.err").find("--resume") != std::string::npos);
  CHECK_FALSE(any_name_contains(stopped, ".tmp-"));
  CHECK_FALSE(fs::exists(stopped / "metrics.json"));

  // More (or fewer) epochs is the one change --resume accepts.
  const CliResult resumed = cake_cli("run conv-autoencoder --out stopped --resume --quiet --threads 1 --set epochs=6");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.err);
  check_same_run(scratch() / "whole", stopped);
}

TEST_CASE("resume=PATH of another run: changed settings are applied and recorded; inside --out it is refused") {
  write_images();
  if (!fs::exists(scratch() / "whole" / "metrics.json")) REQUIRE(cake_cli(kTrain + " epochs=6 --out whole").code == 0);
  const CliResult branch = cake_cli(kTrain + " epochs=7 lr=0.002 resume=whole/checkpoint.safetensors --out branch");
  REQUIRE_MESSAGE(branch.code == 0, branch.err);
  const json metrics = read_json(scratch() / "branch" / "metrics.json");
  CHECK(metrics["resumed_from_epoch"] == 6);
  REQUIRE(metrics.contains("resume_changes"));
  CHECK(metrics["resume_changes"] == json::array({"lr: 0.001 -> 0.002", "epochs: 6 -> 7"}));
  bool logged = false;
  for (const json& record : read_log(scratch() / "branch" / "log.jsonl"))
    logged |= record.value("event", "") == "resumed" && record["changes"].size() == 2;
  CHECK(logged);

  // Continuing a run "over itself" would delete the checkpoint it reads: refused, pointing at --resume.
  const std::string checkpoint = read_text(scratch() / "whole" / "checkpoint.safetensors");
  const CliResult self = cake_cli(kTrain + " epochs=8 resume=whole/checkpoint.safetensors --out whole --overwrite");
  CHECK(self.code == 2);
  CHECK(self.err.find("--out whole --resume") != std::string::npos);
  CHECK(read_text(scratch() / "whole" / "checkpoint.safetensors") == checkpoint);
}

TEST_CASE("--resume needs a run with a checkpoint; epochs=0 and a bad min_delta are refused clearly; min_delta works") {
  write_images();
  CHECK(cake_cli("run conv-autoencoder --resume --quiet").err.find("--out") != std::string::npos);
  CHECK(cake_cli("run conv-autoencoder --out nowhere --resume --quiet").code == 2);
  const fs::path dir = case_dir("no_checkpoint");
  write_blobs(dir);
  REQUIRE(cake_cli(kLloydOnBlobs + " --set n_clusters=3 --out R", dir).code == 0);
  const CliResult none = cake_cli("run kmeans-lloyd --out R --resume --quiet", dir);
  CHECK(none.code == 2);
  CHECK(none.err.find("no checkpoint.safetensors") != std::string::npos);
  CHECK(cake_cli("run kmeans-lloyd --out R --resume --overwrite --quiet", dir).code == 2);

  const CliResult zero = cake_cli(kTrain + " epochs=0 --out zero");
  CHECK(zero.code == 2);
  CHECK_MESSAGE(zero.err.find("epochs must be at least 1") != std::string::npos, zero.err);
  CHECK(zero.err.find("_M_range_check") == std::string::npos);
  CHECK(cake_cli(kTrain + " epochs=2 min_delta=-1 --out negative").code == 2);

  // min_delta: with an improvement threshold no loss can beat, patience 1 stops after epoch 2.
  const CliResult strict = cake_cli(kTrain + " epochs=5 patience=1 min_delta=1e9 --out strict");
  REQUIRE_MESSAGE(strict.code == 0, strict.err);
  const json metrics = read_json(scratch() / "strict" / "metrics.json");
  CHECK(metrics["stop_reason"] == "early_stopping");
  CHECK(metrics["epochs_run"] == 2);
  CHECK(read_json(scratch() / "strict" / "config.json")["params"]["min_delta"] == 1e9);
}
