// Tests for algorithms/train/trainer.h: the loss goes down, early stopping counts patience, a resumed
// run equals an uninterrupted one bit for bit, a NaN loss stops the run and leaves the last good
// checkpoint, and the train/validation split is a seeded partition.
#include <cmath>
#include <set>

#include "algorithms/networks/autoencoder.h"
#include "algorithms/train/trainer.h"
#include "data/test_files.h"
#include "helpers.h"

using namespace cake;
using namespace cake::algorithms;
namespace F = cake::nn::functional;

namespace {

// Images of four noisy prototypes: structure an autoencoder can learn in a few steps.
Tensor prototype_images(std::int64_t n, std::int64_t side, std::uint64_t seed) {
  manual_seed(seed);
  const Tensor prototypes = (rand({4, 1, side, side}) > Scalar(0.5)).to(kFloat32) * 0.8 + 0.1;
  std::vector<std::int64_t> cycle;
  for (std::int64_t i = 0; i < n; ++i) cycle.push_back(i % 4);
  const Tensor which = tensor(cycle, {n});
  return (index_select(prototypes, 0, which) + randn({n, 1, side, side}) * 0.05).clamp(0.0, 1.0);
}

std::shared_ptr<const data::TensorDataset> as_dataset(const Tensor& x) {
  return std::make_shared<const data::TensorDataset>(x);
}

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
  const Tensor images = prototype_images(64, 8, 1);
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
  const Tensor images = prototype_images(32, 8, 3);
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
  const Tensor images = prototype_images(48, 28, 5);
  const Tensor val = prototype_images(16, 28, 6);
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
  const Tensor images = prototype_images(32, 8, 7);
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
  const Tensor images = prototype_images(16, 8, 9);
  MLPAutoencoder mlp({8}, 2, {1, 8, 8});
  optim::Adam adam(mlp.parameters());
  Trainer(mlp, adam, [&](const data::Batch& b) { return reconstruction_loss(mlp, b.x); },
          {.epochs = 1, .batch_size = 8, .checkpoint_path = checkpoint})
      .fit(as_dataset(images));
  ConvAutoencoder conv(2, {1, 12, 12});
  optim::Adam adam2(conv.parameters());
  Trainer resumed(conv, adam2, [&](const data::Batch& b) { return reconstruction_loss(conv, b.x); },
                  {.epochs = 2, .resume_from = checkpoint});
  const std::string message = testing::error_message([&] { resumed.fit(as_dataset(prototype_images(4, 12, 1))); });
  CHECK(message.find("MLPAutoencoder") != std::string::npos);
  CHECK(message.find("ConvAutoencoder") != std::string::npos);
  CHECK(testing::error_message([&] {
          Trainer(conv, adam2, [&](const data::Batch& b) { return reconstruction_loss(conv, b.x); },
                  {.resume_from = (dir / "missing.safetensors").string()})
              .fit(as_dataset(prototype_images(4, 12, 1)));
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
