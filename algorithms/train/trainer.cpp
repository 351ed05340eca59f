// trainer.cpp: the shared training loop (see trainer.h and its NOTE on checkpoints).
#include "cake/algorithms/train/trainer.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cake/autograd/autocast.h"
#include "cake/autograd/grad_mode.h"
#include "cake/cuda/graph.h"
#include "cake/data/sampler.h"
#include "cake/optim/adam.h"
#include "cake/optim/sgd.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/indexing.h"
#include "cake/tensor/random.h"
#include "cake/tensor/safetensors.h"

namespace cake::train {

namespace {

constexpr const char* kFormatKey = "cake.checkpoint";
constexpr const char* kFormatValue = "trainer/1";

// Doubles and integers as metadata strings that read back exactly: std::to_chars writes the
// shortest text that round-trips, "inf" and "nan" included.
std::string exact_text(double value) {
  char buffer[64];
  const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  CAKE_CHECK(error == std::errc(), "checkpoint: cannot format ", value);
  return std::string(buffer, end);
}

double parse_double(const MetadataMap& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(key);
  CAKE_CHECK(it != metadata.end(), "checkpoint ", path, ": metadata entry '", key, "' is missing");
  double value = 0.0;
  const char* first = it->second.data();
  const auto [end, error] = std::from_chars(first, first + it->second.size(), value);
  CAKE_CHECK(error == std::errc() && end == first + it->second.size(), "checkpoint ", path, ": metadata entry '", key,
             "' is not a number: '", it->second, "'");
  return value;
}

std::uint64_t parse_unsigned(const MetadataMap& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(key);
  CAKE_CHECK(it != metadata.end(), "checkpoint ", path, ": metadata entry '", key, "' is missing");
  std::uint64_t value = 0;
  const char* first = it->second.data();
  const auto [end, error] = std::from_chars(first, first + it->second.size(), value);
  CAKE_CHECK(error == std::errc() && end == first + it->second.size(), "checkpoint ", path, ": metadata entry '", key,
             "' is not a non-negative integer: '", it->second, "'");
  return value;
}

// A copy of every parameter and buffer, detached from the module's tensors.
nn::NamedTensors snapshot(const nn::Module& model) {
  nn::NamedTensors copy;
  NoGradGuard no_grad;
  for (const auto& [name, tensor] : model.state_dict()) copy.emplace_back(name, tensor.detach().clone());
  return copy;
}

std::map<std::string, Tensor> as_map(const nn::NamedTensors& tensors) {
  return std::map<std::string, Tensor>(tensors.begin(), tensors.end());
}

// The history as JSON (NaN validation losses as null, which JSON has no number for).
std::string history_json(const std::vector<EpochStats>& history) {
  nlohmann::json rows = nlohmann::json::array();
  for (const EpochStats& s : history)
    rows.push_back({s.epoch, s.train_loss, std::isnan(s.val_loss) ? nlohmann::json(nullptr) : nlohmann::json(s.val_loss),
                    s.seconds, s.improved});
  return rows.dump();
}

std::vector<EpochStats> parse_history(const std::string& text, const std::string& path) {
  std::vector<EpochStats> history;
  try {
    for (const auto& row : nlohmann::json::parse(text))
      history.push_back({.epoch = row.at(0).get<std::int64_t>(),
                         .train_loss = row.at(1).get<double>(),
                         .val_loss = row.at(2).is_null() ? std::numeric_limits<double>::quiet_NaN() : row.at(2).get<double>(),
                         .seconds = row.at(3).get<double>(),
                         .improved = row.at(4).get<bool>()});
  } catch (const nlohmann::json::exception& e) {
    CAKE_FAIL("checkpoint ", path, ": the 'trainer.history' metadata is not a valid history: ", e.what());
  }
  return history;
}

// Borrows a data set the caller owns for the duration of one call (DataLoader wants shared).
std::shared_ptr<const data::Dataset> borrow(const data::Dataset& dataset) {
  return std::shared_ptr<const data::Dataset>(&dataset, [](const data::Dataset*) {});
}

}  // namespace

std::string to_string(StopReason reason) {
  switch (reason) {
    case StopReason::MaxEpochs: return "max_epochs";
    case StopReason::EarlyStopping: return "early_stopping";
    case StopReason::NonFiniteLoss: return "non_finite_loss";
    case StopReason::Interrupted: return "interrupted";
  }
  return "unknown";
}

std::pair<Tensor, Tensor> train_validation_split(std::int64_t n, double val_fraction, std::uint64_t seed) {
  CAKE_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "train_validation_split: val_fraction must be in [0, 1), got ",
             val_fraction);
  CAKE_CHECK(n >= 2 || val_fraction == 0.0, "train_validation_split: cannot split ", n, " samples");
  std::int64_t n_val = static_cast<std::int64_t>(std::llround(val_fraction * static_cast<double>(n)));
  if (val_fraction > 0.0) n_val = std::clamp<std::int64_t>(n_val, 1, n - 1);
  // Stream 0x5e1ec7 ("select"): a stream no DataLoader epoch uses, so the split and the first
  // epoch's shuffle are independent even with the same seed.
  const Tensor order = data::seeded_permutation(n, seed, 0x5e1ec7);
  auto sorted = [](const Tensor& indices) { return native::sort(indices, 0, false).first; };
  return {sorted(order.narrow(0, n_val, n - n_val)), sorted(order.narrow(0, 0, n_val))};
}

// ---- the state slot ------------------------------------------------------------------------------

// Each entry is stored under "state.<name>.<entry>", tensors as tensors and the rest as
// metadata; a second metadata entry "state.<name>.<entry>#kind" says what it was written as, so
// reading a scalar as a tensor (or a typo) is an error that names both.
std::string StateWriter::key(const std::string& name, const char* kind) {
  CAKE_CHECK(!name.empty() && name.find('#') == std::string::npos, "Trainer state ", prefix_,
             ": invalid entry name '", name, "'");
  const std::string full = prefix_ + name;
  CAKE_CHECK(!metadata_.count(full + "#kind"), "Trainer state ", prefix_, ": entry '", name, "' was written twice");
  metadata_[full + "#kind"] = kind;
  return full;
}
void StateWriter::tensor(const std::string& name, const Tensor& value) {
  CAKE_CHECK(value.defined(), "Trainer state ", prefix_, ": tensor '", name, "' is undefined");
  const std::string full = key(name, "tensor");
  tensors_[full] = value.detach();
}
void StateWriter::scalar(const std::string& name, double value) { metadata_[key(name, "scalar")] = exact_text(value); }
void StateWriter::integer(const std::string& name, std::int64_t value) {
  metadata_[key(name, "integer")] = std::to_string(value);
}
void StateWriter::text(const std::string& name, const std::string& value) { metadata_[key(name, "text")] = value; }

bool StateReader::contains(const std::string& name) const { return file_.metadata.count(prefix_ + name + "#kind") > 0; }

const std::string& StateReader::entry(const std::string& name, const char* kind) const {
  auto it = file_.metadata.find(prefix_ + name + "#kind");
  CAKE_CHECK(it != file_.metadata.end(), "checkpoint ", path_, ": the state entry '", prefix_, name,
             "' is missing (was it saved by this algorithm?)");
  CAKE_CHECK(it->second == kind, "checkpoint ", path_, ": the state entry '", prefix_, name,
             "' was saved with StateWriter::", it->second, " but is read with StateReader::", kind);
  if (std::string(kind) == "tensor") return it->second;
  auto value = file_.metadata.find(prefix_ + name);
  CAKE_CHECK(value != file_.metadata.end(), "checkpoint ", path_, ": the value of '", prefix_, name, "' is missing");
  return value->second;
}
Tensor StateReader::tensor(const std::string& name) const {
  entry(name, "tensor");
  auto it = file_.tensors.find(prefix_ + name);
  CAKE_CHECK(it != file_.tensors.end(), "checkpoint ", path_, ": the tensor '", prefix_, name, "' is missing");
  return it->second;
}
double StateReader::scalar(const std::string& name) const {
  const std::string& text = entry(name, "scalar");
  double value = 0.0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  CAKE_CHECK(error == std::errc() && end == text.data() + text.size(), "checkpoint ", path_, ": '", prefix_, name,
             "' is not a number: '", text, "'");
  return value;
}
std::int64_t StateReader::integer(const std::string& name) const {
  const std::string& text = entry(name, "integer");
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  CAKE_CHECK(error == std::errc() && end == text.data() + text.size(), "checkpoint ", path_, ": '", prefix_, name,
             "' is not an integer: '", text, "'");
  return value;
}
std::string StateReader::text(const std::string& name) const { return entry(name, "text"); }

void Trainer::add_state(const std::string& name, TrainState& state) {
  add_state(name, [&state](StateWriter& out) { state.save(out); }, [&state](const StateReader& in) { state.load(in); });
}

void Trainer::add_state(const std::string& name, std::function<void(StateWriter&)> save,
                        std::function<void(const StateReader&)> load) {
  CAKE_CHECK(!name.empty() && std::all_of(name.begin(), name.end(),
                                          [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }),
             "Trainer::add_state: the name must be letters, digits, '_' or '-', got '", name, "'");
  CAKE_CHECK(save && load, "Trainer::add_state('", name, "'): both functions are needed");
  for (const NamedState& s : states_) CAKE_CHECK(s.name != name, "Trainer::add_state: '", name, "' is registered twice");
  states_.push_back({name, std::move(save), std::move(load)});
}

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, BatchLoss loss, TrainerOptions options)
    : model_(model), optimizer_(optimizer), loss_(std::move(loss)), options_(std::move(options)) {
  CAKE_CHECK(loss_ != nullptr, "Trainer: the batch loss function is empty");
  CAKE_CHECK(options_.epochs >= 0, "Trainer: epochs must be non-negative, got ", options_.epochs);
  CAKE_CHECK(options_.batch_size > 0, "Trainer: batch_size must be positive, got ", options_.batch_size);
  CAKE_CHECK(options_.patience >= 0, "Trainer: patience must be non-negative (0 disables early stopping), got ",
             options_.patience);
  CAKE_CHECK(options_.precision == kFloat32 || is_half(options_.precision),
             "Trainer: precision must be float32, bfloat16 or float16, got ", dtype_name(options_.precision));
  if (options_.precision == kFloat16) scaler_ = std::make_unique<optim::GradScaler>();
}

Tensor Trainer::precise_loss(const BatchLoss& loss, const data::Batch& batch) const {
  if (options_.precision == kFloat32) return loss(batch);
  const std::vector<Tensor> params = model_.parameters();
  const DeviceType device = params.empty() ? DeviceType::CPU : params.front().device().type;
  autocast guard(device, options_.precision);
  return loss(batch);
}

double Trainer::evaluate(const data::Dataset& dataset, const BatchLoss& loss) const {
  CAKE_CHECK(dataset.size() > 0, "Trainer::evaluate: the data set is empty");
  const bool was_training = model_.is_training();
  model_.eval();
  NoGradGuard no_grad;
  data::DataLoader loader(borrow(dataset), {.batch_size = options_.batch_size});
  double total = 0.0;
  for (const data::Batch& batch : loader)
    total += precise_loss(loss, batch).item<double>() * static_cast<double>(batch.x.size(0));
  model_.train(was_training);
  return total / static_cast<double>(dataset.size());
}

// NOTE [ The Trainer's CUDA graph ]
// With options.cuda_graph and a model on CUDA, an epoch runs on a side stream, and:
//   1. The first kWarmup batches of the full shape run eagerly (cuBLAS and cuDNN create their
//      handles and choose algorithms, the optimiser creates its state, the gradients exist):
//      none of that may happen inside a capture.
//   2. The next such batch is copied into a static batch (device tensors), and zero_grad (in
//      place), the loss, backward, the optimiser step and "loss_sum += loss * B" are captured
//      into a CUDA graph (cuda/graph.h) reading it; then the graph is replayed.
//   3. Every later batch of that shape is copied into the static batch and the graph replayed:
//      one launch instead of hundreds. A batch of another shape (the last, partial one) runs
//      eagerly. The captured step must be the same computation every time: the loss may not
//      branch on data or on the step, nor draw random numbers (the draws would repeat: the
//      capture is abandoned if the generator moved).
//   4. The loss is not read per step (that would synchronise): the replays add theirs on the
//      device and the epoch's mean is read once at its end. So a non-finite loss is found at
//      the end of the epoch, after its steps were taken (eager training stops before the
//      step); the previous epoch's checkpoint is intact either way. on_batch_end, when set,
//      reads each replay's loss (one synchronisation per step); without it, it gets NaN.
//   5. The optimiser's host scalars would be baked into the graph: Adam and AdamW are switched
//      to their capturable mode (device step count and lr; optim/adam.h) and their device lr is
//      refreshed before every replay, so schedules work; SGD's lr is a kernel argument, so the
//      graph is captured again whenever a group's lr changed. Other optimisers train eagerly.
// When the capture fails (an operation inside the step that synchronises, say), the Trainer
// says why on stderr and trains eagerly from then on: slower, never wrong.
struct Trainer::CapturedStep {
  static constexpr int kWarmup = 3;
  cuda::SideStream stream;
  Device device;
  Tensor loss_sum;     // float64 on the device: sum of loss * batch size over this epoch's replays
  data::Batch input;   // the static batch the graph reads
  Tensor loss;         // the static loss the graph writes
  std::vector<double> lrs;  // the groups' lr at capture, when the graph bakes them in (SGD)
  // The tensors the graph reads and writes that were made before the capture: parameters,
  // their gradients, buffers, the optimiser's state. Held so that their memory cannot be
  // reused while the graph lives (NOTE [ Graph pools ]); a parameter replaced since (a fresh
  // head, a loaded checkpoint) means the graph is stale and is captured again.
  std::vector<Tensor> held;
  cuda::Graph graph;
  int warm_steps = 0;
  bool disabled = false;
  explicit CapturedStep(Device d) : device(d), loss_sum(zeros({}, TensorOptions(kFloat64, d))) {}
};

namespace {

bool same_layout(const Tensor& a, const Tensor& b) {
  return a.defined() == b.defined() && (!a.defined() || (a.sizes() == b.sizes() && a.dtype() == b.dtype()));
}

// A device copy of a batch, or a copy into one of the same layout.
void copy_batch(const data::Batch& from, data::Batch& to, Device device) {
  const auto copy = [device](const Tensor& src, Tensor& dst) {
    if (!src.defined()) return;
    if (!dst.defined()) dst = empty(src.sizes(), TensorOptions(src.dtype(), device));
    dst.copy_(src);
  };
  copy(from.x, to.x);
  copy(from.y, to.y);
  copy(from.indices, to.indices);
}

// Whether the optimiser's step can be captured, after making Adam/AdamW capturable (NOTE).
bool prepare_optimizer(optim::Optimizer& optimizer) {
  if (auto* adam = dynamic_cast<optim::Adam*>(&optimizer)) {
    adam->options.capturable = true;
    for (auto& group : adam->param_groups())
      if (group.has_options()) group.options().as<optim::AdamOptions>().capturable = true;
    return true;
  }
  if (auto* adamw = dynamic_cast<optim::AdamW*>(&optimizer)) {
    adamw->options.capturable = true;
    for (auto& group : adamw->param_groups())
      if (group.has_options()) group.options().as<optim::AdamWOptions>().capturable = true;
    return true;
  }
  return dynamic_cast<optim::SGD*>(&optimizer) != nullptr;
}

// The groups' lrs that a captured step bakes in as kernel arguments: SGD's. Capturable Adam and
// AdamW read theirs from the device (sync_device_lr before each replay), so a schedule changing
// them every step must not make the graph stale: none of theirs are baked in.
std::vector<double> baked_lrs(const optim::Optimizer& optimizer) {
  std::vector<double> lrs;
  if (dynamic_cast<const optim::SGD*>(&optimizer) == nullptr) return lrs;
  for (std::size_t g = 0; g < optimizer.param_groups().size(); ++g) lrs.push_back(optimizer.group_lr(g));
  return lrs;
}

double take_replayed_loss(Tensor& loss_sum) {
  const double total = loss_sum.item<double>();
  loss_sum.zero_();
  return total;
}

bool same_tensors(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].defined() != b[i].defined() || (a[i].defined() && a[i].raw_data() != b[i].raw_data())) return false;
  return true;
}

}  // namespace

std::vector<Tensor> Trainer::captured_tensors() const {
  std::vector<Tensor> tensors;
  for (const Tensor& p : model_.parameters()) {
    tensors.push_back(p);
    tensors.push_back(p.grad());
  }
  for (const auto& [name, b] : model_.named_buffers()) tensors.push_back(b);
  for (std::size_t i = 0; i < optimizer_.params().size(); ++i)
    for (const auto& [name, t] : optimizer_.state(i).tensors) tensors.push_back(t);
  return tensors;
}

// One pass over the training set. Returns the mean loss per sample, or NaN after recording
// where a non-finite batch loss appeared (the step for that batch is not taken).
double Trainer::train_one_epoch(data::DataLoader& loader) {
  model_.train();
  // CUDA graph mode (NOTE [ The Trainer's CUDA graph ]): the epoch runs on the graph's stream.
  std::optional<cuda::StreamGuard> on_graph_stream;
  if (options_.cuda_graph && captured_ == nullptr) {
    const std::vector<Tensor> params = model_.parameters();
    if (!params.empty() && params.front().is_cuda()) {
      CAKE_CHECK(!options_.after_backward && !options_.reduce_loss,
                 "Trainer: cuda_graph does not combine with data-parallel training yet");
      if (scaler_ != nullptr)
        std::cerr << "cake: warning: Trainer cuda_graph: float16 precision checks every step's gradients for "
                     "overflow on the host (GradScaler), which a graph cannot; it trains eagerly (bfloat16 "
                     "needs no scaling and can be captured)\n";
      else if (prepare_optimizer(optimizer_))
        captured_ = std::make_shared<CapturedStep>(params.front().device());
      else
        std::cerr << "cake: warning: Trainer cuda_graph: " << optimizer_.name()
                  << "'s step cannot be captured (Adam, AdamW and SGD can); it trains eagerly\n";
    }
  }
  if (captured_ != nullptr) {
    on_graph_stream.emplace(captured_->stream.get());
    // An epoch left early (a non-finite eager loss, should_stop) did not read its replays' sum.
    captured_->loss_sum.zero_();
  }
  const std::int64_t num_batches = loader.num_batches();
  const std::int64_t epoch = loader.epoch() + 1;  // the one begin() starts
  double total = 0.0;
  std::int64_t seen = 0, batch_number = 0;
  if (on_epoch_begin_) on_epoch_begin_(epoch);
  for (const data::Batch& batch : loader) {
    ++batch_number;
    if (options_.should_stop && options_.should_stop()) {
      interrupted_ = true;
      nonfinite_epoch_ = epoch;
      nonfinite_batch_ = batch_number;
      return std::numeric_limits<double>::quiet_NaN();
    }
    if (on_batch_begin_)
      on_batch_begin_({.epoch = epoch, .batch = batch_number, .num_batches = num_batches, .step = steps_});
    double value = 0.0;
    const bool replayed = captured_ != nullptr && graph_step(batch, value);
    if (!replayed && !eager_step(batch, value)) {
      nonfinite_epoch_ = epoch;
      nonfinite_batch_ = batch_number;
      nonfinite_value_ = value;
      return std::numeric_limits<double>::quiet_NaN();
    }
    ++steps_;
    const std::int64_t b = batch.x.size(0);
    if (!replayed) total += value * static_cast<double>(b);  // replays add theirs on the device
    seen += b;
    if (on_batch_end_) on_batch_end_(batch_number, num_batches, value);
  }
  if (captured_ != nullptr) {  // the replays' losses, read once per epoch (one synchronisation)
    const double replayed_total = take_replayed_loss(captured_->loss_sum);
    if (!std::isfinite(replayed_total)) {
      nonfinite_epoch_ = epoch;
      nonfinite_batch_ = batch_number;
      nonfinite_value_ = replayed_total;
      return std::numeric_limits<double>::quiet_NaN();
    }
    total += replayed_total;
  }
  return total / static_cast<double>(std::max<std::int64_t>(seen, 1));
}

// One step run op by op: returns false, taking no step, when the loss is not finite.
bool Trainer::eager_step(const data::Batch& batch, double& value) {
  // A captured step zeroes the gradients in place; eager steps beside it do the same, so that
  // the gradient tensors the graph captured stay the parameters' own.
  optimizer_.zero_grad(/*set_to_none=*/captured_ == nullptr);
  const Tensor loss = precise_loss(loss_, batch);
  CAKE_CHECK(loss.numel() == 1, "Trainer: the batch loss must be a scalar, got shape ", loss.sizes());
  value = options_.reduce_loss ? options_.reduce_loss(loss.item<double>()) : loss.item<double>();
  if (!std::isfinite(value)) return false;
  if (scaler_ == nullptr) {
    loss.backward();
    if (options_.after_backward) options_.after_backward();
    optimizer_.step();
    return true;
  }
  // float16: the scaled loss's gradients (all-reduced as they are: scaling is linear), then a
  // step unless one of them overflowed (optim/grad_scaler.h).
  scaler_->scale(loss).backward();
  if (options_.after_backward) options_.after_backward();
  scaler_->step(optimizer_);
  scaler_->update();
  return true;
}

// Runs the batch through the captured graph (capturing it first when its time has come).
// Returns false when the batch must run eagerly instead (warm-up, another shape, no graph).
bool Trainer::graph_step(const data::Batch& batch, double& value) {
  CapturedStep& step = *captured_;
  if (step.disabled || batch.x.size(0) != options_.batch_size) return false;
  // SGD's lr changed, or a tensor the graph uses was replaced: capture again. After a
  // replacement (a fresh head, a loaded checkpoint) the step is warmed up again first, so that
  // the optimiser's state of the new tensors is made eagerly, not inside the capture (where its
  // zero fill would be recorded and replayed every step).
  if (step.graph.captured()) {
    if (!same_tensors(step.held, captured_tensors())) {
      step.graph.reset();
      step.held.clear();
      step.warm_steps = 0;
    } else if (step.lrs != baked_lrs(optimizer_)) {
      step.graph.reset();
    }
  }
  if (!step.graph.captured()) {
    if (step.warm_steps < CapturedStep::kWarmup) {
      ++step.warm_steps;
      return false;
    }
    copy_batch(batch, step.input, step.device);
    if (!capture_step(step)) return false;
  } else {
    if (!same_layout(batch.x, step.input.x) || !same_layout(batch.y, step.input.y) ||
        !same_layout(batch.indices, step.input.indices))
      return false;
    copy_batch(batch, step.input, step.device);
  }
  optimizer_.sync_device_lr();
  step.graph.replay();
  value = on_batch_end_ ? step.loss.item<double>() : std::numeric_limits<double>::quiet_NaN();
  return true;
}

// Captures zero_grad + loss + backward + step on the static batch; false (and eager training
// from now on) when that is not possible.
bool Trainer::capture_step(CapturedStep& step) {
  const GeneratorState rng = get_rng_state();
  const auto batch_size = static_cast<double>(options_.batch_size);
  try {
    step.graph.capture([&] {
      optimizer_.zero_grad(/*set_to_none=*/false);
      const Tensor loss = precise_loss(loss_, step.input);
      CAKE_CHECK(loss.numel() == 1, "Trainer: the batch loss must be a scalar, got shape ", loss.sizes());
      loss.backward();
      optimizer_.step();
      NoGradGuard no_grad;
      step.loss = loss.detach();
      step.loss_sum.add_(step.loss.to(kFloat64), batch_size);
    });
    const GeneratorState after = get_rng_state();
    CAKE_CHECK(after.seed == rng.seed && after.offset == rng.offset,
               "the step draws random numbers (noise, dropout, sampling), which every replay would repeat");
  } catch (const std::exception& e) {
    step.graph.reset();
    set_rng_state(rng);
    step.disabled = true;
    std::cerr << "cake: warning: Trainer cuda_graph: the training step cannot be captured, so it runs eagerly: "
              << e.what() << "\n";
    return false;
  }
  step.lrs = baked_lrs(optimizer_);
  step.held = captured_tensors();
  return true;
}

TrainResult Trainer::fit(std::shared_ptr<const data::Dataset> train, std::shared_ptr<const data::Dataset> validation) {
  CAKE_CHECK(train != nullptr && train->size() > 0, "Trainer::fit: the training set is empty");
  using clock = std::chrono::steady_clock;
  TrainResult result;
  std::int64_t without_improvement = 0;
  best_state_.clear();
  steps_ = 0;
  interrupted_ = false;
  // A save cut short by kill -9 (or a power cut) leaves its hidden temporary file behind.
  if (!options_.checkpoint_path.empty()) remove_stale_temporaries(options_.checkpoint_path);
  if (!options_.resume_from.empty()) without_improvement = load_checkpoint(result);

  data::DataLoader loader(train, {.batch_size = options_.batch_size, .shuffle = true, .seed = options_.seed,
                                  .sampler = options_.sampler});
  loader.set_epoch(result.resumed_from_epoch);  // epochs already done: the next shuffle is theirs + 1
  if (steps_ == 0) steps_ = result.resumed_from_epoch * loader.num_batches();  // a checkpoint without trainer.steps

  const bool early_stopping = options_.patience > 0 && validation != nullptr;
  if (result.stop_reason == StopReason::EarlyStopping && early_stopping && without_improvement >= options_.patience) {
    result.message = "the checkpoint had already stopped early at epoch " + std::to_string(result.resumed_from_epoch);
  } else {
    result.stop_reason = StopReason::MaxEpochs;
    for (std::int64_t epoch = result.resumed_from_epoch + 1; epoch <= options_.epochs; ++epoch) {
      const auto started = clock::now();
      EpochStats stats{.epoch = epoch};
      stats.train_loss = train_one_epoch(loader);
      if (interrupted_) {
        result.stop_reason = StopReason::Interrupted;
        std::ostringstream message;
        message << "interrupted at epoch " << epoch << ", batch " << nonfinite_batch_ << " of " << loader.num_batches();
        if (!options_.checkpoint_path.empty() && epoch > 1)
          message << "; the checkpoint of epoch " << epoch - 1 << " in " << options_.checkpoint_path
                  << " is intact, and resuming from it redoes epoch " << epoch << " exactly";
        else
          message << "; no epoch had finished, so there is no checkpoint yet";
        result.message = message.str();
        break;
      }
      if (std::isfinite(stats.train_loss) && validation) stats.val_loss = evaluate(*validation);
      if (!std::isfinite(stats.train_loss) || (validation && !std::isfinite(stats.val_loss))) {
        result.stop_reason = StopReason::NonFiniteLoss;
        std::ostringstream message;
        if (!std::isfinite(stats.train_loss))
          message << "training stopped: the loss became " << nonfinite_value_ << " at epoch " << nonfinite_epoch_
                  << ", batch " << nonfinite_batch_ << " of " << loader.num_batches();
        else
          message << "training stopped: the validation loss became " << stats.val_loss << " at epoch " << epoch;
        message << " (lower the learning rate?); ";
        if (!options_.checkpoint_path.empty() && epoch > 1)
          message << "the last good checkpoint (epoch " << epoch - 1 << ") is kept in " << options_.checkpoint_path;
        else
          message << "no checkpoint was written for it";
        result.message = message.str();
        break;
      }
      stats.seconds = std::chrono::duration<double>(clock::now() - started).count();
      // Without a validation set the latest epoch is the best one known (and the state a NaN
      // later on falls back to).
      stats.improved = !validation || stats.val_loss < result.best_val_loss - options_.min_delta;
      if (stats.improved) {
        result.best_epoch = epoch;
        if (validation) result.best_val_loss = stats.val_loss;
        best_state_ = snapshot(model_);
        without_improvement = 0;
      } else {
        ++without_improvement;
      }
      result.history.push_back(stats);
      if (early_stopping && without_improvement >= options_.patience) {
        result.stop_reason = StopReason::EarlyStopping;
        result.message = "early stopping: no validation improvement in " + std::to_string(options_.patience) +
                         " epochs; the best was epoch " + std::to_string(result.best_epoch);
      }
      if (!options_.checkpoint_path.empty()) save_checkpoint(result, without_improvement);
      if (on_epoch_end_) on_epoch_end_(stats);
      if (result.stop_reason == StopReason::EarlyStopping) break;
    }
    if (result.stop_reason == StopReason::MaxEpochs)
      result.message = "finished " + std::to_string(options_.epochs) + " epochs";
  }
  // The best weights (or, after a NaN, the last good ones) go back into the model. An
  // interrupted run keeps its weights as they are: its caller saves nothing but the checkpoint.
  if (result.stop_reason == StopReason::Interrupted) return result;
  if (!best_state_.empty() && (options_.restore_best || result.stop_reason == StopReason::NonFiniteLoss))
    model_.load_state_dict(as_map(best_state_), true, "the best epoch's weights");
  return result;
}

void Trainer::save_checkpoint(const TrainResult& result, std::int64_t without_improvement) const {
  TensorMap tensors;
  for (const auto& [name, tensor] : model_.state_dict()) tensors["model." + name] = tensor;
  for (const auto& [name, tensor] : best_state_) tensors["best." + name] = tensor;
  const SafetensorsFile optimizer_state = optimizer_.state_dict();
  for (const auto& [name, tensor] : optimizer_state.tensors) tensors["optimizer." + name] = tensor;

  MetadataMap metadata;
  for (const auto& [key, value] : optimizer_state.metadata) metadata["optimizer." + key] = value;
  const GeneratorState rng = get_rng_state();
  const std::int64_t epoch = result.history.empty() ? 0 : result.history.back().epoch;
  metadata[kFormatKey] = kFormatValue;
  metadata["model.type"] = model_.name();
  metadata["trainer.epoch"] = std::to_string(epoch);
  metadata["trainer.best_epoch"] = std::to_string(result.best_epoch);
  metadata["trainer.best_val_loss"] = exact_text(result.best_val_loss);
  metadata["trainer.epochs_without_improvement"] = std::to_string(without_improvement);
  metadata["trainer.stopped_early"] = result.stop_reason == StopReason::EarlyStopping ? "1" : "0";
  metadata["trainer.history"] = history_json(result.history);
  metadata["trainer.steps"] = std::to_string(steps_);
  metadata["trainer.batch_size"] = std::to_string(options_.batch_size);
  metadata["trainer.seed"] = std::to_string(options_.seed);
  metadata["rng.seed"] = std::to_string(rng.seed);
  metadata["rng.offset"] = std::to_string(rng.offset);
  metadata["trainer.precision"] = dtype_name(options_.precision);
  if (scaler_ != nullptr)
    for (const auto& [key, value] : scaler_->state_dict()) metadata["trainer.grad_scaler." + key] = exact_text(value);
  for (const NamedState& state : states_) {
    StateWriter writer("state." + state.name + ".", tensors, metadata);
    state.save(writer);
  }

  const std::filesystem::path path(options_.checkpoint_path);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  save_safetensors(options_.checkpoint_path, tensors, metadata);
}

std::int64_t Trainer::load_checkpoint(TrainResult& result) {
  const std::string& path = options_.resume_from;
  const SafetensorsFile file = load_safetensors(path);
  auto format = file.metadata.find(kFormatKey);
  CAKE_CHECK(format != file.metadata.end() && format->second == kFormatValue, "checkpoint ", path,
             ": not a training checkpoint written by cake::algorithms::Trainer (metadata '", kFormatKey, "' is not '",
             kFormatValue, "')");
  auto type = file.metadata.find("model.type");
  CAKE_CHECK(type != file.metadata.end() && type->second == model_.name(), "checkpoint ", path, ": it holds a ",
             type == file.metadata.end() ? "model of unknown type" : type->second, ", not a ", model_.name());

  std::map<std::string, Tensor> model_state, best_state;
  SafetensorsFile optimizer_state;
  for (const auto& [name, tensor] : file.tensors) {
    if (name.rfind("model.", 0) == 0) model_state[name.substr(6)] = tensor;
    else if (name.rfind("best.", 0) == 0) best_state[name.substr(5)] = tensor;
    else if (name.rfind("optimizer.", 0) == 0) optimizer_state.tensors[name.substr(10)] = tensor;
  }
  for (const auto& [key, value] : file.metadata)
    if (key.rfind("optimizer.", 0) == 0) optimizer_state.metadata[key.substr(10)] = value;

  // The caller's optimiser settings win over the checkpoint's, and each difference is reported
  // (see the NOTE on changed settings): a new lr must not be silently replaced by the old one.
  for (const auto& [key, value] : optimizer_.state_dict().metadata) {
    if (key.rfind("hp.", 0) != 0) continue;
    auto stored = optimizer_state.metadata.find(key);
    if (stored == optimizer_state.metadata.end() || stored->second == value) continue;
    result.resume_changes.push_back(key.substr(3) + ": " + stored->second + " -> " + value);
    stored->second = value;
  }
  for (const auto& [key, now] : {std::pair<std::string, std::int64_t>{"batch_size", options_.batch_size},
                                 {"seed", static_cast<std::int64_t>(options_.seed)}}) {
    auto stored = file.metadata.find("trainer." + key);
    if (stored != file.metadata.end() && stored->second != std::to_string(now))
      result.resume_changes.push_back(key + ": " + stored->second + " -> " + std::to_string(now));
  }

  // Everything is checked before anything is changed: the best weights first (names and shapes
  // against the model), then the model, the optimiser and the states.
  nn::NamedTensors best;
  if (!best_state.empty()) {
    // In the module's own order, with the module's dtypes and devices.
    for (const auto& [name, tensor] : model_.state_dict()) {
      auto it = best_state.find(name);
      CAKE_CHECK(it != best_state.end(), "checkpoint ", path, ": the best weights lack '", name, "'");
      CAKE_CHECK(it->second.sizes() == tensor.sizes(), "checkpoint ", path, ": the best weights' '", name,
                 "' has shape ", it->second.sizes(), " but the model's has shape ", tensor.sizes());
      best.emplace_back(name, it->second.to(tensor.device(), tensor.dtype()).contiguous());
    }
    CAKE_CHECK(best.size() == best_state.size(), "checkpoint ", path, ": the best weights hold ", best_state.size(),
               " tensors but the model has ", best.size());
  }
  model_.load_state_dict(model_state, true, path);
  optimizer_.load_state_dict(optimizer_state, path);
  best_state_ = std::move(best);
  for (const NamedState& state : states_) state.load(StateReader("state." + state.name + ".", path, file));
  steps_ = file.metadata.count("trainer.steps")
               ? static_cast<std::int64_t>(parse_unsigned(file.metadata, "trainer.steps", path))
               : 0;
  if (scaler_ != nullptr && file.metadata.count("trainer.grad_scaler.scale"))  // a float32 run's has none
    scaler_->load_state_dict({{"scale", parse_double(file.metadata, "trainer.grad_scaler.scale", path)},
                              {"growth_tracker", parse_double(file.metadata, "trainer.grad_scaler.growth_tracker", path)}});
  set_rng_state({.seed = parse_unsigned(file.metadata, "rng.seed", path),
                 .offset = parse_unsigned(file.metadata, "rng.offset", path)});
  result.resumed_from_epoch = static_cast<std::int64_t>(parse_unsigned(file.metadata, "trainer.epoch", path));
  result.best_epoch = static_cast<std::int64_t>(parse_unsigned(file.metadata, "trainer.best_epoch", path));
  result.best_val_loss = parse_double(file.metadata, "trainer.best_val_loss", path);
  auto history = file.metadata.find("trainer.history");
  CAKE_CHECK(history != file.metadata.end(), "checkpoint ", path, ": metadata entry 'trainer.history' is missing");
  result.history = parse_history(history->second, path);
  if (parse_unsigned(file.metadata, "trainer.stopped_early", path) == 1) result.stop_reason = StopReason::EarlyStopping;
  return static_cast<std::int64_t>(parse_unsigned(file.metadata, "trainer.epochs_without_improvement", path));
}

}  // namespace cake::train
