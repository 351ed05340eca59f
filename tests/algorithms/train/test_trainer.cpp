// Tests for algorithms/train/trainer.h: the loss goes down, early stopping counts patience, a resumed
// run equals an uninterrupted one bit for bit, a NaN loss stops the run and leaves the last good
// checkpoint, the train/validation split is a seeded partition; one test per hook
// (on_epoch_begin, on_batch_begin, should_stop), a toy stateful algorithm stopped mid-epoch and
// resumed bit for bit, add_state's errors, changed settings on resume, and damaged checkpoints;
// running_fit.h's helpers (the running-trainer slot, the per-epoch report).
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/algorithms/train/epoch_schedule.h"
#include "cake/algorithms/train/running_fit.h"
#include "cake/algorithms/train/trainer.h"
#include "data/test_files.h"
#include "helpers.h"
#include "algorithms/fixtures/prototype_images.h"

using namespace cake;
using namespace cake::algorithms;
using namespace cake::train;  // the Trainer's newer names (hooks, state) have no old spelling
using cake::testing::as_dataset;
using cake::testing::prototype_images;
namespace F = cake::nn::functional;

namespace {


// Every parameter of two modules equal to the bit.
void check_same_weights(const nn::Module& a, const nn::Module& b) {
  const auto pa = a.state_dict(), pb = b.state_dict();
  REQUIRE(pa.size() == pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    CHECK(cake::equal(pa[i].second, pb[i].second));
  }
}

}  // namespace

TEST_CASE("Trainer: the training loss falls and each epoch is recorded") {
  const Tensor images = prototype_images(64, 8, 1).images;
  manual_seed(2);
  MLPAutoencoder model({32}, 4, {1, 8, 8});
  optim::Adam adam(model.parameters(), {.lr = 1e-2});
  std::vector<std::int64_t> seen_epochs;
  Trainer trainer(model, adam, [&](const data::Batch& b) { return reconstruction_loss(model, b.x); },
                  {.epochs = 6, .batch_size = 16, .patience = 0});
  trainer.on_epoch_end([&](const EpochStats& s) { seen_epochs.push_back(s.epoch); });
  const TrainResult result = trainer.fit(as_dataset(images));
  REQUIRE(result.history.size() == 6);
  CHECK(seen_epochs == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6});
  CHECK(result.stop_reason == StopReason::MaxEpochs);
  CHECK(result.history.back().train_loss < 0.5 * result.history.front().train_loss);
  CHECK(std::isnan(result.history.front().val_loss));  // no validation set
  // evaluate() is the mean per-sample loss: with one batch holding everything it is that batch's loss.
  NoGradGuard no_grad;
  model.eval();
  CHECK(trainer.evaluate(*as_dataset(images)) == doctest::Approx(reconstruction_loss(model, images).item<double>()).epsilon(1e-5));
}

TEST_CASE("Trainer: early stopping waits `patience` epochs without improvement, then restores the best weights") {
  const Tensor images = prototype_images(32, 8, 3).images;
  manual_seed(4);
  MLPAutoencoder model({16}, 4, {1, 8, 8});
  // lr = 0: the weights never change, so the validation loss never improves after epoch 1.
  optim::SGD sgd(model.parameters(), {.lr = 0.0});
  Trainer trainer(model, sgd, [&](const data::Batch& b) { return reconstruction_loss(model, b.x); },
                  {.epochs = 50, .batch_size = 8, .patience = 3});
  const TrainResult result = trainer.fit(as_dataset(images), as_dataset(images));
  CHECK(result.stop_reason == StopReason::EarlyStopping);
  CHECK(result.history.size() == 4);  // epoch 1 improves, epochs 2, 3, 4 do not
  CHECK(result.best_epoch == 1);
  CHECK(result.history[0].improved);
  CHECK_FALSE(result.history[3].improved);
  CHECK(result.message.find("early stopping") != std::string::npos);
}

TEST_CASE("Trainer: a resumed run equals an uninterrupted one bit for bit") {
  testing::ScratchDir dir("cake_trainer_resume");
  const Tensor images = prototype_images(48, 28, 5).images;
  const Tensor val = prototype_images(16, 28, 6).images;
  // A denoising conv autoencoder: the loss draws noise from the global generator every batch, so
  // the generator's state must survive the checkpoint for the numbers to match.
  auto run = [&](std::int64_t epochs, const std::string& checkpoint, const std::string& resume, std::uint64_t init_seed) {
    manual_seed(init_seed);
    auto model = std::make_shared<ConvAutoencoder>(4);
    optim::Adam adam(model->parameters(), {.lr = 2e-3, .weight_decay = 1e-5});
    Trainer trainer(*model, adam, [&](const data::Batch& b) { return denoising_loss(*model, b.x, {.sigma = 0.2}); },
                    {.epochs = epochs, .batch_size = 16, .patience = 5, .seed = 9, .checkpoint_path = checkpoint,
                     .resume_from = resume});
    TrainResult result = trainer.fit(as_dataset(images), as_dataset(val));
    // Draw once more after training: the generator must also be where the uninterrupted run left it.
    return std::make_tuple(model, result, randn({3}));
  };
  const auto [whole, whole_result, whole_after] = run(4, (dir / "whole.safetensors").string(), "", 11);
  const auto [first, first_result, first_after] = run(2, (dir / "half.safetensors").string(), "", 11);
  // A differently initialised model and another global seed: the checkpoint must overwrite both.
  const auto [resumed, resumed_result, resumed_after] =
      run(4, (dir / "resumed.safetensors").string(), (dir / "half.safetensors").string(), 999);

  CHECK(first_result.history.size() == 2);
  CHECK(resumed_result.resumed_from_epoch == 2);
  REQUIRE(resumed_result.history.size() == whole_result.history.size());
  for (std::size_t e = 0; e < whole_result.history.size(); ++e) {
    CHECK(resumed_result.history[e].train_loss == whole_result.history[e].train_loss);
    CHECK(resumed_result.history[e].val_loss == whole_result.history[e].val_loss);
  }
  check_same_weights(*whole, *resumed);
  CHECK(cake::equal(whole_after, resumed_after));
  // The interrupted run itself diverges from the whole one after epoch 2 (it is not trivially equal).
  CHECK(whole_result.history.back().train_loss != first_result.history.back().train_loss);
}

TEST_CASE("Trainer: a NaN loss stops the run with a message and keeps the last good checkpoint") {
  testing::ScratchDir dir("cake_trainer_nan");
  const std::string checkpoint = (dir / "checkpoint.safetensors").string();
  const Tensor images = prototype_images(32, 8, 7).images;
  manual_seed(8);
  MLPAutoencoder model({16}, 4, {1, 8, 8});
  optim::Adam adam(model.parameters(), {.lr = 1e-2});
  std::int64_t calls = 0;
  nn::NamedTensors after_epoch_1;
  // Four batches an epoch; the 3rd batch of epoch 2 returns NaN.
  Trainer trainer(
      model, adam,
      [&](const data::Batch& b) {
        Tensor loss = reconstruction_loss(model, b.x);
        return ++calls == 7 ? loss * std::numeric_limits<double>::quiet_NaN() : loss;
      },
      {.epochs = 5, .batch_size = 8, .patience = 0, .checkpoint_path = checkpoint});
  trainer.on_epoch_end([&](const EpochStats& s) {
    if (s.epoch == 1)
      for (const auto& [name, t] : model.state_dict()) after_epoch_1.emplace_back(name, t.detach().clone());
  });
  const TrainResult result = trainer.fit(as_dataset(images));
  CHECK(result.stop_reason == StopReason::NonFiniteLoss);
  CHECK(result.history.size() == 1);
  CHECK(result.message.find("nan") != std::string::npos);
  CHECK(result.message.find("epoch 2, batch 3") != std::string::npos);
  CHECK(result.message.find(checkpoint) != std::string::npos);
  // The checkpoint on disk is epoch 1's, and the model is back at epoch 1's weights.
  const SafetensorsFile file = load_safetensors(checkpoint);
  CHECK(file.metadata.at("trainer.epoch") == "1");
  const auto now = model.state_dict();
  REQUIRE(now.size() == after_epoch_1.size());
  for (std::size_t i = 0; i < now.size(); ++i) {
    CHECK(cake::equal(now[i].second, after_epoch_1[i].second));
    CHECK(cake::equal(file.tensors.at("model." + now[i].first), after_epoch_1[i].second));
  }
}

TEST_CASE("Trainer: resuming from a checkpoint of another model is refused by name") {
  testing::ScratchDir dir("cake_trainer_wrong_model");
  const std::string checkpoint = (dir / "checkpoint.safetensors").string();
  const Tensor images = prototype_images(16, 8, 9).images;
  MLPAutoencoder mlp({8}, 2, {1, 8, 8});
  optim::Adam adam(mlp.parameters());
  Trainer(mlp, adam, [&](const data::Batch& b) { return reconstruction_loss(mlp, b.x); },
          {.epochs = 1, .batch_size = 8, .checkpoint_path = checkpoint})
      .fit(as_dataset(images));
  ConvAutoencoder conv(2, {1, 12, 12});
  optim::Adam adam2(conv.parameters());
  Trainer resumed(conv, adam2, [&](const data::Batch& b) { return reconstruction_loss(conv, b.x); },
                  {.epochs = 2, .resume_from = checkpoint});
  const std::string message = testing::error_message([&] { resumed.fit(as_dataset(prototype_images(4, 12, 1).images)); });
  CHECK(message.find("MLPAutoencoder") != std::string::npos);
  CHECK(message.find("ConvAutoencoder") != std::string::npos);
  CHECK(testing::error_message([&] {
          Trainer(conv, adam2, [&](const data::Batch& b) { return reconstruction_loss(conv, b.x); },
                  {.resume_from = (dir / "missing.safetensors").string()})
              .fit(as_dataset(prototype_images(4, 12, 1).images));
        }).find("missing.safetensors") != std::string::npos);
}

TEST_CASE("train_validation_split: a seeded partition of the rows") {
  const auto [train, val] = train_validation_split(100, 0.2, 3);
  CHECK(train.numel() == 80);
  CHECK(val.numel() == 20);
  std::set<std::int64_t> all;
  for (double v : testing::values(train)) all.insert(static_cast<std::int64_t>(v));
  for (double v : testing::values(val)) all.insert(static_cast<std::int64_t>(v));
  CHECK(all.size() == 100);
  CHECK(*all.begin() == 0);
  CHECK(*all.rbegin() == 99);
  const auto [train2, val2] = train_validation_split(100, 0.2, 3);
  CHECK(cake::equal(val, val2));
  const auto [train3, val3] = train_validation_split(100, 0.2, 4);
  CHECK_FALSE(cake::equal(val, val3));
  CHECK(train_validation_split(10, 0.0, 0).second.numel() == 0);
  CHECK(train_validation_split(10, 0.01, 0).second.numel() == 1);  // at least one when asked for
  CHECK(testing::error_message([] { train_validation_split(10, 1.0, 0); }).find("val_fraction") != std::string::npos);
}

// ---- hooks and the state slot ----------------------------------------------------------------------

TEST_CASE("Trainer::on_epoch_begin runs before each epoch's first batch, and only for the epochs trained") {
  testing::ScratchDir dir("cake_trainer_epoch_begin");
  const std::string checkpoint = (dir / "checkpoint.safetensors").string();
  const Tensor images = prototype_images(20, 8, 12).images;
  auto run = [&](std::int64_t epochs, const std::string& resume) {
    manual_seed(1);
    MLPAutoencoder model({8}, 2, {1, 8, 8});
    optim::Adam adam(model.parameters());
    std::vector<std::string> events;
    Trainer trainer(model, adam, [&](const data::Batch& b) { return reconstruction_loss(model, b.x); },
                    {.epochs = epochs, .batch_size = 8, .patience = 0, .checkpoint_path = checkpoint, .resume_from = resume});
    trainer.on_epoch_begin([&](std::int64_t epoch) { events.push_back("begin " + std::to_string(epoch)); });
    trainer.on_batch_end([&](std::int64_t batch, std::int64_t, double) { events.push_back("batch " + std::to_string(batch)); });
    trainer.on_epoch_end([&](const EpochStats& s) { events.push_back("end " + std::to_string(s.epoch)); });
    trainer.fit(as_dataset(images));
    return events;
  };
  CHECK(run(2, "") == std::vector<std::string>{"begin 1", "batch 1", "batch 2", "batch 3", "end 1", "begin 2", "batch 1",
                                               "batch 2", "batch 3", "end 2"});
  CHECK(run(3, checkpoint) == std::vector<std::string>{"begin 3", "batch 1", "batch 2", "batch 3", "end 3"});
}

TEST_CASE("Trainer::on_batch_begin sees the epoch, the batch, the batches per epoch and the global step") {
  const Tensor images = prototype_images(20, 8, 13).images;
  MLPAutoencoder model({8}, 2, {1, 8, 8});
  optim::SGD sgd(model.parameters(), {.lr = 0.01});
  std::vector<std::array<std::int64_t, 4>> seen;
  std::int64_t steps_when_called = 0;
  Trainer trainer(model, sgd, [&](const data::Batch& b) { return reconstruction_loss(model, b.x); },
                  {.epochs = 2, .batch_size = 8, .patience = 0});
  trainer.on_batch_begin([&](const BatchInfo& b) {
    seen.push_back({b.epoch, b.batch, b.num_batches, b.step});
    CHECK(b.step == steps_when_called);  // called before the step: none taken yet for this batch
  });
  trainer.on_batch_end([&](std::int64_t, std::int64_t, double) { ++steps_when_called; });
  trainer.fit(as_dataset(images));
  CHECK(seen == std::vector<std::array<std::int64_t, 4>>{{1, 1, 3, 0}, {1, 2, 3, 1}, {1, 3, 3, 2},
                                                         {2, 1, 3, 3}, {2, 2, 3, 4}, {2, 3, 3, 5}});
}

namespace {

// A toy algorithm with state of every kind, all of it feeding the loss: centroids and a
// threshold moved at each epoch's start (with random draws, as DeepCluster's re-clustering
// would), a target refreshed every third step (as DEC's), and a count of the refreshes.
struct ToyState : TrainState {
  Tensor centroids = zeros({2, 2});
  Tensor target = zeros({2});
  double lambda = 1.0;
  std::int64_t refreshes = 0;
  std::string note = "fresh";
  void save(StateWriter& out) const override {
    out.tensor("centroids", centroids);
    out.tensor("target", target);
    out.scalar("lambda", lambda);
    out.integer("refreshes", refreshes);
    out.text("note", note);
  }
  void load(const StateReader& in) override {
    centroids = in.tensor("centroids");
    target = in.tensor("target");
    lambda = in.scalar("lambda");
    refreshes = in.integer("refreshes");
    note = in.text("note");
  }
};

struct ToyRun {
  std::shared_ptr<MLPAutoencoder> model;
  ToyState state;
  TrainResult result;
  Tensor after;  // a draw of the global generator after fit
};

// Trains the toy for `epochs`; stop_at_step > 0 interrupts before that global step.
ToyRun toy_run(const Tensor& images, std::int64_t epochs, const std::string& checkpoint, const std::string& resume,
               std::uint64_t init_seed, std::int64_t stop_at_step = 0) {
  ToyRun run;
  manual_seed(init_seed);
  run.model = std::make_shared<MLPAutoencoder>(std::vector<std::int64_t>{8}, 2, Shape{1, 8, 8});
  MLPAutoencoder& model = *run.model;
  ToyState& state = run.state;
  if (init_seed != 3) {  // a "new process": state that the checkpoint must overwrite
    state.lambda = 42.0;
    state.refreshes = 99;
    state.centroids = ones({2, 2});
    state.note = "garbage";
  }
  optim::Adam adam(model.parameters(), {.lr = 1e-2});
  std::int64_t step = 0;
  Trainer trainer(
      model, adam,
      [&](const data::Batch& b) {
        const Tensor codes = model.encode(b.x);
        return reconstruction_loss(model, b.x) + (codes - state.target).square().mean() * state.lambda +
               (codes.mean({0}) - state.centroids[0]).square().mean() * 0.1;
      },
      {.epochs = epochs, .batch_size = 8, .patience = 0, .seed = 4, .checkpoint_path = checkpoint,
       .resume_from = resume, .should_stop = [&] { return stop_at_step > 0 && step >= stop_at_step; }});
  trainer.add_state("toy", state);
  trainer.on_epoch_begin([&](std::int64_t epoch) {
    state.centroids = state.centroids * 0.5 + randn({2, 2});
    state.lambda *= 0.9;
    state.note = "epoch " + std::to_string(epoch);
  });
  trainer.on_batch_begin([&](const BatchInfo& b) {
    step = b.step;
    if (b.step % 3 == 0) {
      state.target = randn({2}) * state.lambda;
      ++state.refreshes;
    }
  });
  run.result = trainer.fit(as_dataset(images));
  run.after = randn({2});
  return run;
}

}  // namespace

TEST_CASE("Trainer: a toy stateful algorithm stopped mid-epoch and resumed ends bit for bit as one never stopped") {
  testing::ScratchDir dir("cake_trainer_toy_state");
  const Tensor images = prototype_images(20, 8, 14).images;  // 3 batches an epoch
  const ToyRun whole = toy_run(images, 4, (dir / "whole.safetensors").string(), "", 3);
  // Stopped before step 7, the second batch of epoch 3: a kill at any moment loses at most the
  // epoch in progress, and the checkpoint of epoch 2 stays as it was.
  const std::string checkpoint = (dir / "stopped.safetensors").string();
  const ToyRun stopped = toy_run(images, 4, checkpoint, "", 3, 7);
  CHECK(stopped.result.stop_reason == StopReason::Interrupted);
  CHECK(to_string(stopped.result.stop_reason) == "interrupted");
  CHECK(stopped.result.message.find("epoch 3") != std::string::npos);
  CHECK(stopped.result.history.size() == 2);
  CHECK(load_safetensors(checkpoint).metadata.at("trainer.epoch") == "2");
  CHECK(load_safetensors(checkpoint).metadata.at("state.toy.note") == "epoch 2");

  const ToyRun resumed = toy_run(images, 4, (dir / "resumed.safetensors").string(), checkpoint, 77);
  CHECK(resumed.result.resumed_from_epoch == 2);
  CHECK(resumed.result.resume_changes.empty());
  REQUIRE(resumed.result.history.size() == whole.result.history.size());
  for (std::size_t e = 0; e < whole.result.history.size(); ++e)
    CHECK(resumed.result.history[e].train_loss == whole.result.history[e].train_loss);
  check_same_weights(*whole.model, *resumed.model);
  CHECK(cake::equal(resumed.state.centroids, whole.state.centroids));
  CHECK(cake::equal(resumed.state.target, whole.state.target));
  CHECK(resumed.state.lambda == whole.state.lambda);
  CHECK(resumed.state.refreshes == whole.state.refreshes);
  CHECK(resumed.state.note == "epoch 4");
  CHECK(cake::equal(resumed.after, whole.after));
}

TEST_CASE("Trainer::add_state: functions instead of a class, and the mistakes it names") {
  testing::ScratchDir dir("cake_trainer_add_state");
  const std::string checkpoint = (dir / "checkpoint.safetensors").string();
  const Tensor images = prototype_images(8, 8, 15).images;
  MLPAutoencoder model({8}, 2, {1, 8, 8});
  optim::SGD sgd(model.parameters(), {.lr = 0.01});
  const BatchLoss loss = [&](const data::Batch& b) { return reconstruction_loss(model, b.x); };
  double queue_head = 0.5;
  Trainer trainer(model, sgd, loss, {.epochs = 1, .batch_size = 8, .checkpoint_path = checkpoint});
  trainer.add_state("moco", [&](StateWriter& out) { out.scalar("queue_head", queue_head); },
                    [&](const StateReader& in) { queue_head = in.scalar("queue_head"); });
  CHECK(testing::error_message([&] { trainer.add_state("moco", [](StateWriter&) {}, [](const StateReader&) {}); })
            .find("twice") != std::string::npos);
  CHECK(testing::error_message([&] { trainer.add_state("a.b", [](StateWriter&) {}, [](const StateReader&) {}); })
            .find("letters") != std::string::npos);
  trainer.fit(as_dataset(images));
  CHECK(load_safetensors(checkpoint).metadata.at("state.moco.queue_head") == "0.5");

  queue_head = 0.0;
  Trainer again(model, sgd, loss, {.epochs = 2, .batch_size = 8, .resume_from = checkpoint});
  again.add_state("moco", [&](StateWriter& out) { out.scalar("queue_head", queue_head); },
                  [&](const StateReader& in) { queue_head = in.scalar("queue_head"); });
  again.fit(as_dataset(images));
  CHECK(queue_head == 0.5);

  Trainer wrong(model, sgd, loss, {.epochs = 2, .batch_size = 8, .resume_from = checkpoint});
  wrong.add_state("moco", [](StateWriter&) {}, [](const StateReader& in) { in.integer("queue_head"); });
  const std::string message = testing::error_message([&] { wrong.fit(as_dataset(images)); });
  CHECK(message.find(checkpoint) != std::string::npos);
  CHECK(message.find("state.moco.queue_head") != std::string::npos);
  CHECK_MESSAGE(message.find("saved with StateWriter::scalar but is read with StateReader::integer") != std::string::npos, message);
  Trainer missing(model, sgd, loss, {.epochs = 2, .batch_size = 8, .resume_from = checkpoint});
  missing.add_state("dec", [](StateWriter&) {}, [](const StateReader& in) { in.tensor("targets"); });
  CHECK(testing::error_message([&] { missing.fit(as_dataset(images)); }).find("'state.dec.targets' is missing") !=
        std::string::npos);
}

// ---- what a resume checks and reports ----------------------------------------------------------------------

TEST_CASE("Trainer: settings that differ from the checkpoint's are applied and listed, not silently dropped") {
  testing::ScratchDir dir("cake_trainer_changes");
  const std::string checkpoint = (dir / "checkpoint.safetensors").string();
  const Tensor images = prototype_images(16, 8, 16).images;
  MLPAutoencoder model({8}, 2, {1, 8, 8});
  const BatchLoss loss = [&](const data::Batch& b) { return reconstruction_loss(model, b.x); };
  optim::Adam adam(model.parameters(), {.lr = 1e-2, .weight_decay = 0.0});
  Trainer(model, adam, loss, {.epochs = 1, .batch_size = 8, .seed = 1, .checkpoint_path = checkpoint})
      .fit(as_dataset(images));
  optim::Adam slower(model.parameters(), {.lr = 1e-3, .weight_decay = 0.0});
  const TrainResult result =
      Trainer(model, slower, loss, {.epochs = 2, .batch_size = 4, .seed = 1, .resume_from = checkpoint})
          .fit(as_dataset(images));
  CHECK(slower.lr() == 1e-3);  // not the checkpoint's 1e-2
  CHECK(result.resume_changes == std::vector<std::string>{"lr: 0.01 -> 0.001", "batch_size: 8 -> 4"});
}

TEST_CASE("Trainer: a checkpoint whose best weights have the wrong shape, or whose epoch was edited, is refused") {
  testing::ScratchDir dir("cake_trainer_bad_checkpoint");
  const std::string checkpoint = (dir / "checkpoint.safetensors").string();
  const Tensor images = prototype_images(16, 8, 17).images;
  MLPAutoencoder model({8}, 2, {1, 8, 8});
  const BatchLoss loss = [&](const data::Batch& b) { return reconstruction_loss(model, b.x); };
  optim::Adam adam(model.parameters());
  Trainer(model, adam, loss, {.epochs = 1, .batch_size = 8, .checkpoint_path = checkpoint}).fit(as_dataset(images));

  // Rewritten through the writer (so its checksum is valid) with one best tensor reshaped.
  SafetensorsFile file = load_safetensors(checkpoint);
  std::string best_name;
  for (auto& [name, t] : file.tensors)
    if (name.rfind("best.", 0) == 0 && t.dim() == 2) best_name = name;
  REQUIRE_FALSE(best_name.empty());
  const Tensor original = file.tensors[best_name];
  file.tensors[best_name] = original.reshape({original.size(1), original.size(0)});
  const std::string reshaped = (dir / "reshaped.safetensors").string();
  save_safetensors(reshaped, file.tensors, file.metadata);
  std::string message = testing::error_message(
      [&] { Trainer(model, adam, loss, {.epochs = 2, .resume_from = reshaped}).fit(as_dataset(images)); });
  CHECK(message.find(reshaped) != std::string::npos);
  CHECK(message.find("best weights' '" + best_name.substr(5) + "' has shape") != std::string::npos);

  // "trainer.epoch" edited by hand: the whole-file checksum no longer matches.
  std::ifstream in(checkpoint, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const std::size_t at = bytes.find("\"trainer.epoch\":\"1\"");
  REQUIRE(at != std::string::npos);
  bytes[at + 17] = '9';
  std::ofstream(checkpoint, std::ios::binary | std::ios::trunc) << bytes;
  message = testing::error_message(
      [&] { Trainer(model, adam, loss, {.epochs = 20, .resume_from = checkpoint}).fit(as_dataset(images)); });
  CHECK(message.find("checksum mismatch") != std::string::npos);
  CHECK(message.find(checkpoint) != std::string::npos);
}

TEST_CASE("Trainer: epochs = 0 trains nothing and says so; a killed save's temporary file is removed at the start") {
  testing::ScratchDir dir("cake_trainer_zero");
  const std::string checkpoint = (dir / "checkpoint.safetensors").string();
  std::ofstream(dir / ".checkpoint.safetensors.tmp-Zq81xY") << std::string(1000, 'x');
  const Tensor images = prototype_images(8, 8, 18).images;
  MLPAutoencoder model({8}, 2, {1, 8, 8});
  optim::Adam adam(model.parameters());
  const TrainResult result = Trainer(model, adam, [&](const data::Batch& b) { return reconstruction_loss(model, b.x); },
                                     {.epochs = 0, .checkpoint_path = checkpoint})
                                 .fit(as_dataset(images));
  CHECK(result.history.empty());
  CHECK(result.stop_reason == StopReason::MaxEpochs);
  CHECK(result.message == "finished 0 epochs");
  CHECK_FALSE(std::filesystem::exists(dir / ".checkpoint.safetensors.tmp-Zq81xY"));
}

TEST_CASE("Trainer: precision = bfloat16 / float16 trains under autocast, and float16's loss scale is checkpointed") {
  testing::ScratchDir dir("cake_trainer_precision");
  const Tensor images = prototype_images(64, 8, 21).images;
  const auto train = [&](DType precision, std::int64_t epochs, const std::string& checkpoint, const std::string& resume) {
    manual_seed(22);
    MLPAutoencoder model({32}, 4, {1, 8, 8});
    optim::Adam adam(model.parameters(), {.lr = 1e-2});
    Trainer trainer(model, adam, [&](const data::Batch& b) { return reconstruction_loss(model, b.x); },
                    {.epochs = epochs, .batch_size = 16, .patience = 0, .checkpoint_path = checkpoint,
                     .resume_from = resume, .precision = precision});
    return trainer.fit(as_dataset(images));
  };
  const TrainResult full = train(kFloat32, 6, "", "");
  const TrainResult bf16 = train(kBFloat16, 6, "", "");
  const TrainResult fp16 = train(kFloat16, 6, (dir / "fp16.safetensors").string(), "");
  INFO("final losses: float32 " << full.history.back().train_loss << ", bfloat16 " << bf16.history.back().train_loss
                                << ", float16 " << fp16.history.back().train_loss);
  // Mixed precision changes the numbers (the products are rounded) but not the learning.
  CHECK(bf16.history.back().train_loss != full.history.back().train_loss);
  CHECK(bf16.history.back().train_loss < 0.5 * bf16.history.front().train_loss);
  CHECK(fp16.history.back().train_loss < 0.5 * fp16.history.front().train_loss);
  CHECK(bf16.history.back().train_loss < 1.5 * full.history.back().train_loss);
  const SafetensorsFile saved = load_safetensors((dir / "fp16.safetensors").string());
  CHECK(saved.metadata.at("trainer.precision") == "float16");
  CHECK(std::stod(saved.metadata.at("trainer.grad_scaler.scale")) == 65536.0);  // 24 clean steps: no change
  CHECK(std::stod(saved.metadata.at("trainer.grad_scaler.growth_tracker")) == 24.0);
  // A resumed float16 run continues with the saved scale and equals the uninterrupted one.
  (void)train(kFloat16, 3, (dir / "half.safetensors").string(), "");
  const TrainResult resumed = train(kFloat16, 6, (dir / "resumed.safetensors").string(), (dir / "half.safetensors").string());
  CHECK(resumed.history.back().train_loss == fp16.history.back().train_loss);
  CHECK(load_safetensors((dir / "resumed.safetensors").string()).metadata.at("trainer.grad_scaler.growth_tracker") ==
        saved.metadata.at("trainer.grad_scaler.growth_tracker"));
  CHECK_THROWS_WITH_AS(train(kFloat64, 1, "", ""), doctest::Contains("precision must be float32, bfloat16 or float16"),
                       Error);
}

TEST_CASE("running_fit.h: the slot points at the running trainer only while fit runs, also when it throws; "
          "report_epochs hands the callback each epoch's last record") {
  const Tensor images = prototype_images(32, 8, 3).images;
  manual_seed(4);
  MLPAutoencoder model({16}, 4, {1, 8, 8});
  optim::Adam adam(model.parameters(), {.lr = 1e-2});
  std::vector<double> history;  // the algorithm's records: here the epoch's last batch loss
  std::vector<double> reported;
  std::vector<bool> slot_was_set;
  Trainer* slot = nullptr;
  std::function<void(const double&)> callback = [&](const double& loss) {
    reported.push_back(loss);
    slot_was_set.push_back(slot != nullptr);
  };
  Trainer trainer(model, adam, [&](const data::Batch& b) { return reconstruction_loss(model, b.x); },
                  {.epochs = 3, .batch_size = 16, .patience = 0});
  trainer.on_batch_end([&](std::int64_t batch, std::int64_t num_batches, double loss) {
    if (batch == num_batches) history.push_back(loss);
  });
  report_epochs(trainer, callback, history);
  {
    const RunningTrainer running(slot, trainer);
    CHECK(slot == &trainer);
    trainer.fit(as_dataset(images));
  }
  CHECK(slot == nullptr);
  REQUIRE(history.size() == 3);
  CHECK(reported == history);
  CHECK(slot_was_set == std::vector<bool>{true, true, true});

  // An exception out of fit() must not leave the slot pointing at a dead trainer.
  Trainer failing(model, adam, [](const data::Batch&) -> Tensor { throw std::runtime_error("loss failed"); },
                  {.epochs = 1, .batch_size = 16, .patience = 0});
  bool threw = false;
  try {
    const RunningTrainer running(slot, failing);
    failing.fit(as_dataset(images));
  } catch (const std::runtime_error&) {
    threw = true;
  }
  CHECK(threw);
  CHECK(slot == nullptr);

  // No callback set: nothing is called, nothing fails.
  std::function<void(const double&)> none;
  Trainer quiet(model, adam, [&](const data::Batch& b) { return reconstruction_loss(model, b.x); },
                {.epochs = 1, .batch_size = 16, .patience = 0});
  report_epochs(quiet, none, history);
  CHECK_NOTHROW(quiet.fit(as_dataset(images)));
}

TEST_CASE("StepDecay: lr * decay^floor((epoch - 1) / every), never below floor; bad epochs refused") {
  const StepDecay s{.lr = 0.1, .decay = 0.5, .every = 3, .floor = 0.02};
  CHECK(s.at(1) == 0.1);
  CHECK(s.at(3) == 0.1);
  CHECK(s.at(4) == 0.05);
  CHECK(s.at(7) == 0.025);
  CHECK(s.at(10) == 0.02);  // 0.0125 is under the floor
  CHECK(StepDecay{.lr = 0.3}.at(100) == 0.3);  // decay 1: constant
  CHECK_THROWS_WITH_AS((void)s.at(0), doctest::Contains("epochs count from 1"), Error);
  CHECK_THROWS_WITH_AS((void)StepDecay{.every = 0}.at(1), doctest::Contains("every must be at least 1"), Error);
}

TEST_CASE("attach_lr_schedule: each epoch trains at the schedule's lr; a resume continues it with no changed setting") {
  testing::ScratchDir dir("cake_trainer_schedule");
  const std::string checkpoint = (dir / "checkpoint.safetensors").string();
  const Tensor images = prototype_images(16, 8, 17).images;
  auto run = [&](std::int64_t epochs, const std::string& save, const std::string& resume) {
    manual_seed(18);
    auto model = std::make_shared<MLPAutoencoder>(std::vector<std::int64_t>{8}, 2, Shape{1, 8, 8});
    optim::SGD sgd(model->parameters(), {.lr = 1.0});  // overwritten by the schedule before epoch 1
    Trainer trainer(*model, sgd, [&](const data::Batch& b) { return reconstruction_loss(*model, b.x); },
                    {.epochs = epochs, .batch_size = 8, .seed = 1, .checkpoint_path = save, .resume_from = resume});
    std::vector<double> lrs;
    attach_lr_schedule(trainer, sgd, [](std::int64_t epoch) { return 0.1 / static_cast<double>(epoch); },
                       [&](std::int64_t) { lrs.push_back(sgd.group_lr(0)); });
    const TrainResult result = trainer.fit(as_dataset(images));
    CHECK(result.resume_changes.empty());
    return std::pair{model, lrs};
  };
  const auto [whole, whole_lrs] = run(3, "", "");
  CHECK(whole_lrs == std::vector<double>{0.1, 0.05, 0.1 / 3.0});
  (void)run(1, checkpoint, "");
  const auto [resumed, resumed_lrs] = run(3, "", checkpoint);
  CHECK(resumed_lrs == std::vector<double>{0.05, 0.1 / 3.0});  // epochs 2 and 3
  check_same_weights(*whole, *resumed);
}
