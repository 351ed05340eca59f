// moco.cpp: Momentum Contrast's encoder, momentum update, queue, loss and training loop (moco.h).
#include "cake/algorithms/contrastive/moco.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <cmath>
#include <numbers>
#include <numeric>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/algorithms/train/history_table.h"
#include "cake/algorithms/train/running_fit.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/activation.h"
#include "cake/nn/conv.h"
#include "cake/nn/functional.h"
#include "cake/nn/linear.h"
#include "cake/nn/pooling.h"
#include "cake/optim/sgd.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "cake/tensor/safetensors.h"

namespace cake::contrastive {

namespace {

constexpr std::size_t kHistoryColumns = 7;

// lr of epoch e (1-based) of E: the half cosine of the MoCo demo (lr * 0.5 (1 + cos(pi (e-1)/E))).
double epoch_lr(const MoCoOptions& o, std::int64_t epoch, std::int64_t epochs) {
  if (!o.cosine) return o.lr;
  const double progress = static_cast<double>(epoch - 1) / static_cast<double>(std::max<std::int64_t>(epochs, 1));
  return o.lr * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

std::array<double, kHistoryColumns> history_row(const MoCoEpoch& e) {
  return {static_cast<double>(e.epoch), e.loss, e.positive_similarity, e.negative_similarity, e.lr, e.seconds,
          e.momentum_seconds};
}

MoCoEpoch history_record(const std::array<double, kHistoryColumns>& v) {
  return {.epoch = static_cast<std::int64_t>(v[0]),
          .loss = v[1],
          .positive_similarity = v[2],
          .negative_similarity = v[3],
          .lr = v[4],
          .seconds = v[5],
          .momentum_seconds = v[6]};
}

}  // namespace

// ---- the encoder ----------------------------------------------------------------------------------

ContrastiveEncoder::ContrastiveEncoder(EncoderOptions options) : options_(std::move(options)) {
  const EncoderOptions& o = options_;
  CAKE_CHECK(o.backbone == "small" || o.backbone == "vgg" || o.backbone == "alexnet",
             "ContrastiveEncoder: unknown backbone '", o.backbone, "' (expected small, vgg or alexnet)");
  CAKE_CHECK(o.in_channels > 0 && o.feature_dim > 0 && o.dim > 0 && o.bn_splits >= 1,
             "ContrastiveEncoder: in_channels, feature_dim, dim and bn_splits must be positive, got ", o.in_channels,
             ", ", o.feature_dim, ", ", o.dim, ", ", o.bn_splits);
  if (o.backbone == "small") {
    // Two valid 3x3 convolutions take 4 pixels off each side length, the pooling halves it.
    CAKE_CHECK(o.image_size >= 6, "ContrastiveEncoder: the small backbone needs images of at least 6x6, got ",
               o.image_size);
    const std::int64_t side = (o.image_size - 4) / 2;
    small_ = register_module("backbone", std::make_shared<nn::Sequential>());
    small_->push_back(std::make_shared<nn::Conv2d>(o.in_channels, 32, 3));
    small_->push_back(std::make_shared<nn::ReLU>());
    small_->push_back(std::make_shared<nn::Conv2d>(32, 64, 3));
    small_->push_back(std::make_shared<nn::ReLU>());
    small_->push_back(std::make_shared<nn::MaxPool2d>(2));
    small_->push_back(std::make_shared<nn::Flatten>());
    small_->push_back(std::make_shared<nn::Linear>(64 * side * side, o.feature_dim));
  } else {
    // The convnet's own head (one unit) is never used: its classifier's last Linear layer gives
    // the features, and the projection head below replaces the head.
    convnet_ = register_module("backbone", std::make_shared<networks::ConvNet>(networks::ConvNetOptions{
                                               .arch = o.backbone,
                                               .sobel = false,
                                               .in_channels = o.in_channels,
                                               .image_size = o.image_size,
                                               .hidden = o.feature_dim,
                                               .num_outputs = 1,
                                               .dropout = 0.0}));
  }
  head_ = register_module("head", std::make_shared<nn::Sequential>());
  head_->push_back(std::make_shared<nn::ReLU>());
  if (o.mlp_head) {
    head_->push_back(std::make_shared<nn::Linear>(o.feature_dim, o.feature_dim));
    head_->push_back(std::make_shared<nn::ReLU>());
  }
  head_->push_back(std::make_shared<nn::Linear>(o.feature_dim, o.dim));
}

void ContrastiveEncoder::check_images(const Tensor& images) const {
  CAKE_CHECK(images.dim() == 4 && images.size(1) == options_.in_channels && images.size(2) == options_.image_size &&
                 images.size(3) == options_.image_size,
             "ContrastiveEncoder: expected images [N, ", options_.in_channels, ", ", options_.image_size, ", ",
             options_.image_size, "], got shape ", images.sizes());
}

Tensor ContrastiveEncoder::backbone_forward(const Tensor& images) {
  check_images(images);
  return small_ ? small_->forward(images) : convnet_->features(images);
}

Tensor ContrastiveEncoder::features(const Tensor& images) {
  const std::int64_t n = images.size(0);
  const std::int64_t splits = options_.bn_splits;
  if (!is_training() || !has_batch_norm() || splits <= 1 || n < 2 * splits) return backbone_forward(images);
  // Split BN (NOTE [ Batch norm leakage on one device ]): each sub-batch is normalised by its
  // own statistics.
  std::vector<Tensor> parts;
  const std::int64_t step = (n + splits - 1) / splits;
  for (std::int64_t start = 0; start < n; start += step)
    parts.push_back(backbone_forward(images.narrow(0, start, std::min(step, n - start))));
  return cat(parts, 0);
}

Tensor ContrastiveEncoder::conv_features(const Tensor& images) {
  check_images(images);
  if (!small_) return convnet_->conv_features(images);
  Tensor x = images;
  for (std::size_t i = 0; i + 1 < small_->size(); ++i) x = (*small_)[i]->forward(x);  // all but the Linear
  return x;
}

Tensor ContrastiveEncoder::forward(const Tensor& images) {
  return nn::functional::normalize(head_->forward(features(images)), 2.0, 1);
}

// ---- loading a saved encoder -------------------------------------------------------------------

namespace {

// The encoder's tensors of a file, without the "model." prefix of a Trainer checkpoint.
std::map<std::string, Tensor> encoder_tensors(const std::string& path) {
  const SafetensorsFile file = load_safetensors(path);
  std::map<std::string, Tensor> out;
  bool checkpoint = false;
  for (const auto& [name, tensor] : file.tensors) checkpoint = checkpoint || name.rfind("model.", 0) == 0;
  for (const auto& [name, tensor] : file.tensors) {
    if (!checkpoint) out[name] = tensor;
    else if (name.rfind("model.", 0) == 0) out[name.substr(6)] = tensor;
  }
  return out;
}

bool has_prefix(const std::map<std::string, Tensor>& tensors, const std::string& prefix) {
  const auto it = tensors.lower_bound(prefix);
  return it != tensors.end() && it->first.rfind(prefix, 0) == 0;
}

}  // namespace

EncoderFeatures::EncoderFeatures(std::shared_ptr<ContrastiveEncoder> encoder) : encoder_(std::move(encoder)) {
  CAKE_CHECK(encoder_ != nullptr, "EncoderFeatures: no encoder");
  register_module("encoder", encoder_);
}

bool is_contrastive_encoder_file(const std::string& path) {
  const std::map<std::string, Tensor> t = encoder_tensors(path);
  return has_prefix(t, "backbone.") && has_prefix(t, "head.");
}

std::shared_ptr<ContrastiveEncoder> load_contrastive_encoder(const std::string& path, const Shape& image_shape) {
  const std::map<std::string, Tensor> t = encoder_tensors(path);
  CAKE_CHECK(has_prefix(t, "backbone.") && has_prefix(t, "head."), "load_contrastive_encoder: ", path,
             " holds no MoCo encoder (no backbone.* and head.* tensors)");
  CAKE_CHECK(image_shape.size() == 3 && image_shape[1] == image_shape[2],
             "load_contrastive_encoder: expected a square image shape {C, H, W}, got ", image_shape);
  EncoderOptions o{.in_channels = image_shape[0], .image_size = image_shape[1]};
  if (t.count("backbone.features.0.weight")) {
    // A ConvNet: VGG's first convolution is 3x3 with 32 filters, AlexNet's 5x5 with 48.
    o.backbone = t.at("backbone.features.0.weight").size(0) == 48 ? "alexnet" : "vgg";
  } else {
    CAKE_CHECK(t.count("backbone.0.weight"), "load_contrastive_encoder: ", path, " has no first convolution");
  }
  CAKE_CHECK(t.count("head.1.weight"), "load_contrastive_encoder: ", path, " has no projection head (head.1.weight)");
  o.feature_dim = t.at("head.1.weight").size(1);
  o.mlp_head = t.count("head.3.weight") > 0;
  o.dim = (o.mlp_head ? t.at("head.3.weight") : t.at("head.1.weight")).size(0);
  auto encoder = std::make_shared<ContrastiveEncoder>(o);
  encoder->load_state_dict(t, true, path);
  return encoder;
}

// ---- momentum update, queue, loss -----------------------------------------------------------------

void momentum_update(nn::Module& key, const nn::Module& query, double momentum) {
  CAKE_CHECK(momentum >= 0.0 && momentum <= 1.0, "momentum_update: m must be in [0, 1], got ", momentum);
  const std::vector<Tensor> k = key.parameters();
  const std::vector<Tensor> q = query.parameters();
  CAKE_CHECK(k.size() == q.size(), "momentum_update: the key encoder has ", k.size(), " parameters, the query encoder ",
             q.size());
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < k.size(); ++i) {
    CAKE_CHECK(k[i].sizes() == q[i].sizes(), "momentum_update: parameter ", i, " has shape ", k[i].sizes(),
               " in the key encoder but ", q[i].sizes(), " in the query encoder");
    Tensor target = k[i];  // a handle to the same storage
    target.mul_(momentum).add_(q[i].detach(), 1.0 - momentum);
  }
}

KeyQueue::KeyQueue(std::int64_t size, std::int64_t dim, Device device) {
  CAKE_CHECK(size >= 1 && dim >= 1, "KeyQueue: size and dim must be positive, got ", size, " and ", dim);
  keys_ = nn::functional::normalize(randn({size, dim}), 2.0, 1).to(device).contiguous();
}

void KeyQueue::enqueue(const Tensor& keys_in) {
  CAKE_CHECK(keys_in.defined() && keys_in.dim() == 2 && keys_in.size(1) == keys_.size(1),
             "KeyQueue::enqueue: expected keys [B, ", keys_.size(1), "], got ",
             keys_in.defined() ? shape_str(keys_in.sizes()) : "an undefined tensor");
  NoGradGuard no_grad;
  const Tensor keys = keys_in.detach();
  const std::int64_t k = keys_.size(0), b = keys.size(0);
  // Write in runs that end at the batch's end or at the queue's end (then wrap to row 0).
  for (std::int64_t done = 0; done < b;) {
    const std::int64_t run = std::min(b - done, k - pointer_);
    Tensor target = keys_.narrow(0, pointer_, run);
    target.copy_(keys.narrow(0, done, run));
    done += run;
    pointer_ = (pointer_ + run) % k;
  }
}

void KeyQueue::restore(const Tensor& keys, std::int64_t pointer) {
  CAKE_CHECK(keys.defined() && keys.sizes() == keys_.sizes(), "KeyQueue: the saved queue has shape ",
             keys.defined() ? shape_str(keys.sizes()) : "undefined", ", expected ", keys_.sizes(),
             " (queue_size and dim must match the checkpoint's)");
  CAKE_CHECK(pointer >= 0 && pointer < keys_.size(0), "KeyQueue: the saved pointer ", pointer,
             " is outside the queue of ", keys_.size(0));
  keys_.copy_(keys);
  pointer_ = pointer;
}

Tensor info_nce_loss(const Tensor& q, const Tensor& k, const Tensor& queue, double temperature) {
  CAKE_CHECK(q.defined() && k.defined() && queue.defined() && q.dim() == 2 && k.sizes() == q.sizes() &&
                 queue.dim() == 2 && queue.size(1) == q.size(1),
             "info_nce_loss: expected q [N, D], k [N, D] and queue [K, D], got ",
             q.defined() ? shape_str(q.sizes()) : "undefined", ", ", k.defined() ? shape_str(k.sizes()) : "undefined",
             " and ", queue.defined() ? shape_str(queue.sizes()) : "undefined");
  CAKE_CHECK(temperature > 0.0, "info_nce_loss: the temperature must be positive, got ", temperature);
  const Tensor positive = (q * k.detach()).sum(1, true);                 // [N, 1]: q . k+
  const Tensor negative = q.matmul(queue.detach().t());                 // [N, K]: q . k_i
  const Tensor logits = cat({positive, negative}, 1) / temperature;      // eq. (1)'s exponents
  const Tensor target = zeros({q.size(0)}, TensorOptions(kInt64, q.device()));  // k+ is class 0
  return nn::functional::cross_entropy(logits, target);
}

// ---- the algorithm ------------------------------------------------------------------------------------

MoCo::MoCo(ContrastiveEncoder& query, MoCoOptions options, train::TrainerOptions trainer)
    : query_(query),
      key_(std::make_shared<ContrastiveEncoder>(query.options())),
      queue_(options.queue_size, query.options().dim, query.parameters().front().device()),
      options_(std::move(options)),
      trainer_options_(std::move(trainer)) {
  CAKE_CHECK(options_.temperature > 0.0, "MoCo: the temperature must be positive, got ", options_.temperature);
  CAKE_CHECK(options_.momentum >= 0.0 && options_.momentum <= 1.0, "MoCo: the momentum must be in [0, 1], got ",
             options_.momentum);
  CAKE_CHECK(options_.lr > 0.0, "MoCo: lr must be positive, got ", options_.lr);
  // The key encoder starts as a copy of the query encoder (Algorithm 1: f_k.params = f_q.params)
  // and never receives a gradient.
  key_->to(query.parameters().front().device());
  key_->load_state_dict(query.state_dict(), true, "MoCo: the query encoder");
  for (Tensor& p : key_->parameters()) p.requires_grad_(false);
}

// The query encoder's fn over images in batches, in evaluation mode and without a graph, on CPU.
Tensor MoCo::map_query(const std::function<Tensor(ContrastiveEncoder&, const Tensor&)>& fn, const Tensor& images) {
  const Device device = query_.parameters().front().device();
  const bool was_training = query_.is_training();
  query_.eval();
  Tensor out = networks::map_batches([&](const Tensor& x) { return fn(query_, x.to(device)); }, images,
                                     options_.eval_batch_size);
  query_.train(was_training);
  return out.cpu();
}

Tensor MoCo::features(const Tensor& images) {
  return map_query([](ContrastiveEncoder& f, const Tensor& x) { return f.features(x); }, images);
}

Tensor MoCo::conv_features(const Tensor& images) {
  return map_query([](ContrastiveEncoder& f, const Tensor& x) { return f.conv_features(x); }, images);
}

Tensor MoCo::embeddings(const Tensor& images) {
  return map_query([](ContrastiveEncoder& f, const Tensor& x) { return f.forward(x); }, images);
}

void MoCo::set_checkpoint_path(std::string path) {
  trainer_options_.checkpoint_path = path;
  if (active_trainer_) active_trainer_->set_checkpoint_path(std::move(path));
}

train::TrainResult MoCo::fit(const Tensor& images) {
  CAKE_CHECK(images.defined() && images.dim() == 4, "MoCo::fit: expected images [N, C, H, W], got ",
             images.defined() ? shape_str(images.sizes()) : "an undefined tensor");
  const Device device = query_.parameters().front().device();
  const std::int64_t epochs = trainer_options_.epochs;
  optim::SGD sgd(query_.parameters(),
                 {.lr = options_.lr, .momentum = options_.sgd_momentum, .weight_decay = options_.weight_decay});
  // A resumed run's checkpoint holds the lr of its last epoch: start from that one so the
  // Trainer sees no change of settings (as VaDE's schedule, deep_clustering/vade.cpp).
  std::int64_t first_epoch = 1;
  if (!trainer_options_.resume_from.empty()) {
    const SafetensorsFile checkpoint = load_safetensors(trainer_options_.resume_from);
    const auto epoch = checkpoint.metadata.find("trainer.epoch");
    if (epoch != checkpoint.metadata.end()) first_epoch = std::max<std::int64_t>(1, std::stoll(epoch->second));
  }
  sgd.set_group_lr(0, epoch_lr(options_, first_epoch, epochs));
  key_->train();  // batch statistics in the key encoder too, as the authors' code

  Tensor pending_keys;  // the current batch's keys, enqueued once the step is done
  MoCoEpoch current;
  std::int64_t samples = 0, batch_size_seen = 0;
  double loss_sum = 0.0, positive_sum = 0.0, negative_sum = 0.0;
  std::chrono::steady_clock::time_point started;

  const train::BatchLoss loss = [&](const data::Batch& batch) {
    const Tensor& x = batch.x;
    batch_size_seen = x.size(0);
    // Two independent draws of the augmentation: the query's view and the key's view.
    const Tensor view_q = (options_.augment ? options_.augment(x) : x).to(device);
    const Tensor view_k = (options_.augment ? options_.augment(x) : x).to(device);
    const Tensor q = query_.forward(view_q);
    Tensor k;
    {
      NoGradGuard no_grad;
      const auto t0 = std::chrono::steady_clock::now();
      momentum_update(*key_, query_, options_.momentum);  // eq. (2), with the query after the last step
      current.momentum_seconds += train::seconds_since(t0);
      if (options_.shuffle_bn && key_->has_batch_norm()) {
        // Shuffled BN: the keys are computed in a random order (so split BN groups other images
        // than the query's), then put back in the query's order.
        const Tensor order = randperm(x.size(0)).to(device);
        k = key_->forward(view_k.index_select(0, order)).index_select(0, argsort(order));
      } else {
        k = key_->forward(view_k);
      }
      positive_sum += (q.detach() * k).sum().item<double>();
      // The mean q . k_i over every pair of a query and a queued key: (mean q) . (mean k_i).
      negative_sum += (q.detach().mean(0) * queue_.keys().mean(0)).sum().item<double>() * static_cast<double>(x.size(0));
    }
    pending_keys = k;
    return info_nce_loss(q, k, queue_.keys(), options_.temperature);
  };

  train::TrainerOptions trainer_options = trainer_options_;
  trainer_options.patience = 0;
  trainer_options.restore_best = false;
  train::Trainer trainer(query_, sgd, loss, trainer_options);

  trainer.add_state(
      "moco",
      [&](train::StateWriter& out) {
        out.tensor("queue", queue_.keys());
        out.integer("queue_pointer", queue_.pointer());
        for (const auto& [name, tensor] : key_->state_dict()) out.tensor("key." + name, tensor);
        out.tensor("history", train::history_to_table(history_, history_row));
      },
      [&](const train::StateReader& in) {
        queue_.restore(in.tensor("queue"), in.integer("queue_pointer"));
        nn::NamedTensors key_state;
        for (const auto& [name, tensor] : key_->state_dict()) key_state.emplace_back(name, in.tensor("key." + name));
        key_->load_state_dict(key_state, true, "MoCo checkpoint (key encoder)");
        history_ = train::history_from_table(in.tensor("history"), "MoCo", history_record);
      });

  trainer.on_epoch_begin([&](std::int64_t epoch) {
    sgd.set_group_lr(0, epoch_lr(options_, epoch, epochs));
    current = MoCoEpoch{.epoch = epoch, .lr = epoch_lr(options_, epoch, epochs)};
    samples = 0;
    loss_sum = positive_sum = negative_sum = 0.0;
    started = std::chrono::steady_clock::now();
  });
  trainer.on_batch_end([&](std::int64_t batch, std::int64_t num_batches, double value) {
    // The step is done: this batch's keys join the dictionary, the oldest leave it.
    const auto t0 = std::chrono::steady_clock::now();
    queue_.enqueue(options_.gather_keys ? options_.gather_keys(pending_keys) : pending_keys);
    current.momentum_seconds += train::seconds_since(t0);
    pending_keys = Tensor();
    loss_sum += value * static_cast<double>(batch_size_seen);
    samples += batch_size_seen;
    if (batch != num_batches) return;
    // The epoch's record, complete before the Trainer writes its checkpoint.
    const double n = static_cast<double>(std::max<std::int64_t>(samples, 1));
    current.loss = loss_sum / n;
    current.positive_similarity = positive_sum / n;
    current.negative_similarity = negative_sum / n;
    current.seconds = train::seconds_since(started);
    history_.push_back(current);
  });
  train::report_epochs(trainer, on_epoch_end_, history_);
  const train::RunningTrainer running(active_trainer_, trainer);
  return trainer.fit(std::make_shared<const data::TensorDataset>(images.detach().to(kCPU, kFloat32).contiguous()));
}

// ---- evaluation -------------------------------------------------------------------------------------

double knn_accuracy(const Tensor& train_features, const Tensor& train_labels, const Tensor& test_features,
                    const Tensor& test_labels, std::int64_t k, double t) {
  CAKE_CHECK(train_features.dim() == 2 && test_features.dim() == 2 && train_features.size(1) == test_features.size(1),
             "knn_accuracy: expected features [N, D] and [M, D], got ", train_features.sizes(), " and ",
             test_features.sizes());
  CAKE_CHECK(train_labels.numel() == train_features.size(0) && test_labels.numel() == test_features.size(0),
             "knn_accuracy: ", train_features.size(0), " training and ", test_features.size(0), " test rows but ",
             train_labels.numel(), " and ", test_labels.numel(), " labels");
  CAKE_CHECK(k >= 1 && t > 0.0, "knn_accuracy: k must be positive and t positive, got ", k, " and ", t);
  NoGradGuard no_grad;
  const Tensor bank = nn::functional::normalize(train_features.detach().to(kCPU, kFloat32), 2.0, 1).contiguous();
  const Tensor queries = nn::functional::normalize(test_features.detach().to(kCPU, kFloat32), 2.0, 1).contiguous();
  const Tensor ytrain = train_labels.to(kCPU, kInt64).contiguous();
  const Tensor ytest = test_labels.to(kCPU, kInt64).contiguous();
  const std::int64_t* yt = ytrain.data_ptr<std::int64_t>();
  const std::int64_t* yq = ytest.data_ptr<std::int64_t>();
  const std::int64_t n = bank.size(0), m = queries.size(0), kk = std::min(k, n);
  const std::int64_t classes = ytrain.max().item<std::int64_t>() + 1;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::vector<double> votes(static_cast<std::size_t>(classes));
  std::int64_t correct = 0;
  constexpr std::int64_t kChunk = 256;
  for (std::int64_t start = 0; start < m; start += kChunk) {
    const std::int64_t rows = std::min(kChunk, m - start);
    const Tensor sim = queries.narrow(0, start, rows).matmul(bank.t()).contiguous();  // cosine similarities
    const float* s = sim.data_ptr<float>();
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* row = s + r * n;
      std::iota(order.begin(), order.end(), std::int64_t{0});
      std::nth_element(order.begin(), order.begin() + (kk - 1), order.end(),
                       [row](std::int64_t a, std::int64_t b) { return row[a] > row[b]; });
      std::fill(votes.begin(), votes.end(), 0.0);
      for (std::int64_t j = 0; j < kk; ++j) {
        const std::int64_t i = order[static_cast<std::size_t>(j)];
        votes[static_cast<std::size_t>(yt[i])] += std::exp(static_cast<double>(row[i]) / t);
      }
      const auto best = std::max_element(votes.begin(), votes.end()) - votes.begin();
      correct += (best == yq[start + r]) ? 1 : 0;
    }
  }
  return static_cast<double>(correct) / static_cast<double>(std::max<std::int64_t>(m, 1));
}

}  // namespace cake::contrastive
