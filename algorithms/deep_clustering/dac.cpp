// dac.cpp: Deep Adaptive Image Clustering's pair selection, loss and training loop (dac.h).
#include "cake/algorithms/deep_clustering/dac.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <memory>
#include <set>

#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/train/history_table.h"
#include "cake/algorithms/train/running_fit.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/data/sampler.h"
#include "cake/nn/functional.h"
#include "cake/optim/rmsprop.h"
#include "cake/tensor/creation.h"

namespace cake::deep_clustering {

namespace {
constexpr std::size_t kDacHistoryColumns = 12;
// Images on which each epoch's same_precision is measured: 2,000^2 pairs, a fraction of a second.
constexpr std::int64_t kPrecisionSample = 2000;
}  // namespace

std::int64_t DACSchedule::epochs_until_stop() const {
  const double gap_change = (upper_slope - lower_slope) * lambda_step;  // how u - l moves per epoch
  CAKE_CHECK(gap_change < 0.0 || lower(lambda(2)) > upper(lambda(2)),
             "DAC: the thresholds never cross (u - l changes by ", gap_change,
             " per epoch): Algorithm 1 would never stop; let lambda move u down or l up");
  std::int64_t epoch = 1;
  while (lower(lambda(epoch + 1)) <= upper(lambda(epoch + 1))) ++epoch;
  return epoch;
}

Tensor label_features(const Tensor& logits) {
  CAKE_CHECK(logits.defined() && logits.dim() == 2, "label_features: expected logits [N, k], got ",
             logits.defined() ? shape_str(logits.sizes()) : "an undefined tensor");
  return nn::functional::normalize(logits.softmax(1), 2.0, 1);
}

PairSelection select_pairs(const Tensor& similarity, double upper, double lower, std::int64_t self_offset) {
  CAKE_CHECK(similarity.defined() && similarity.dim() == 2 && similarity.size(0) + self_offset <= similarity.size(1) &&
                 self_offset >= 0,
             "select_pairs: expected a square similarity matrix [m, m], or rows [m_r, m] of one starting at row ",
             self_offset, ", got ", similarity.defined() ? shape_str(similarity.sizes()) : "an undefined tensor");
  NoGradGuard no_grad;
  const Tensor s = similarity.detach();
  PairSelection out;
  out.positive = s.ge(upper).to(s.dtype());
  out.negative = s.lt(lower).to(s.dtype());
  const std::int64_t rows = s.size(0), m = s.size(1);
  // A pair of an image with itself (similarity 1) is always "same": not counted.
  const Tensor self = eye(m, m, {s.dtype(), s.device()}).narrow(0, self_offset, rows);
  out.n_positive = static_cast<std::int64_t>(std::llround((out.positive - out.positive * self).sum().item<double>()));
  out.n_negative = static_cast<std::int64_t>(std::llround((out.negative - out.negative * self).sum().item<double>()));
  const double pairs = static_cast<double>(rows * (m - 1));
  out.selected_fraction = m > 1 ? static_cast<double>(out.n_positive + out.n_negative) / pairs : 0.0;
  out.positive_fraction = m > 1 ? static_cast<double>(out.n_positive) / pairs : 0.0;
  return out;
}

namespace {

// Eq. (10) on the similarities S [m_r, m] of a batch's images (rows self_offset.. of the whole
// batch's matrix), with the pairs chosen from `chooser_similarity` (S itself, or the same images'
// similarities from other label features), divided by the `pairs` of the whole batch, m^2.
Tensor pair_cross_entropy(const Tensor& similarity, const Tensor& chooser_similarity, double upper, double lower,
                          std::int64_t self_offset, double pairs, PairSelection* selection, double eps) {
  PairSelection chosen = select_pairs(chooser_similarity, upper, lower, self_offset);
  const Tensor g = similarity.clamp(eps, 1.0 - eps);
  // -r log g on the "same" pairs, -(1 - r) log(1 - g) on the "different" ones.
  const Tensor loss = -((chosen.positive * g.log()).sum() + (chosen.negative * (1.0 - g).log()).sum()) / pairs;
  if (selection) *selection = std::move(chosen);
  return loss;
}

void check_pair_inputs(const char* what, const Tensor& features, const Tensor& other, double upper, double lower) {
  CAKE_CHECK(features.defined() && features.dim() == 2 && features.size(0) >= 1, what,
             ": expected label features [m, k], got ",
             features.defined() ? shape_str(features.sizes()) : "an undefined tensor");
  CAKE_CHECK(other.defined() && other.sizes() == features.sizes(), what,
             ": both label features of the m images must have the shape ", shape_str(features.sizes()), ", got ",
             other.defined() ? shape_str(other.sizes()) : "an undefined tensor");
  CAKE_CHECK(lower <= upper, what, ": the lower threshold ", lower, " is above the upper ", upper,
             " (the stop rule of Algorithm 1 has passed)");
}

}  // namespace

Tensor dac_pair_loss(const Tensor& features, const Tensor& chooser, double upper, double lower,
                     PairSelection* selection, double eps) {
  check_pair_inputs("dac_pair_loss", features, chooser, upper, lower);
  const Tensor similarity = features.matmul(features.t());
  const Tensor chooser_similarity =
      chooser.is_same(features) ? similarity : chooser.detach().matmul(chooser.detach().t());
  const auto m = static_cast<double>(features.size(0));
  return pair_cross_entropy(similarity, chooser_similarity, upper, lower, 0, m * m, selection, eps);
}

Tensor dac_pair_loss(const Tensor& features, double upper, double lower, PairSelection* selection, double eps) {
  return dac_pair_loss(features, features, upper, lower, selection, eps);
}

Tensor dac_pair_loss_part(const Tensor& mine, const GatheredBatch& batch, const GatheredBatch& chooser, double upper,
                          double lower, PairSelection* selection, double eps) {
  CAKE_CHECK(mine.defined() && mine.dim() == 2 && batch.all.defined() && batch.all.dim() == 2 &&
                 mine.size(1) == batch.all.size(1) && batch.ranks >= 1,
             "dac_pair_loss_part: expected this rank's label features [m_r, k] and the batch's [m, k], got ",
             mine.defined() ? shape_str(mine.sizes()) : "undefined", " and ",
             batch.all.defined() ? shape_str(batch.all.sizes()) : "undefined");
  CAKE_CHECK(chooser.all.defined() && chooser.all.sizes() == batch.all.sizes() && chooser.offset == batch.offset,
             "dac_pair_loss_part: the label features that choose the pairs must be the same batch's ",
             shape_str(batch.all.sizes()), " at offset ", batch.offset, ", got ",
             chooser.all.defined() ? shape_str(chooser.all.sizes()) : "undefined", " at offset ", chooser.offset);
  CAKE_CHECK(lower <= upper, "dac_pair_loss_part: the lower threshold ", lower, " is above the upper ", upper);
  const Tensor similarity = mine.matmul(batch.all.detach().t());  // [m_r, m]: this rank's rows of S
  const Tensor chosen_by = chooser.all.detach();
  const Tensor chooser_similarity =
      &chooser == &batch ? similarity : chosen_by.narrow(0, batch.offset, mine.size(0)).matmul(chosen_by.t());
  const auto m = static_cast<double>(batch.all.size(0));
  const Tensor share =
      pair_cross_entropy(similarity, chooser_similarity, upper, lower, batch.offset, m * m, selection, eps);
  // Value A_r, gradient 2 dA_r (see dac.h), both times the number of ranks.
  return (share * 2.0 - share.detach()) * static_cast<double>(batch.ranks);
}

Tensor dac_pair_loss_part(const Tensor& mine, const GatheredBatch& batch, double upper, double lower,
                          PairSelection* selection, double eps) {
  return dac_pair_loss_part(mine, batch, batch, upper, lower, selection, eps);
}

double same_pair_precision(const Tensor& features, const Tensor& classes, double upper) {
  CAKE_CHECK(features.defined() && features.dim() == 2 && classes.defined() && classes.dim() == 1 &&
                 classes.size(0) == features.size(0),
             "same_pair_precision: expected label features [m, k] and classes [m], got ",
             features.defined() ? shape_str(features.sizes()) : "undefined", " and ",
             classes.defined() ? shape_str(classes.sizes()) : "undefined");
  NoGradGuard no_grad;
  const Tensor f = features.detach().to(kCPU, kFloat64).contiguous();
  const PairSelection chosen = select_pairs(f.matmul(f.t()), upper, upper);
  if (chosen.n_positive == 0) return std::numeric_limits<double>::quiet_NaN();
  const Tensor c = classes.to(kCPU, kInt64).contiguous();
  const std::int64_t m = c.size(0);
  const std::int64_t* label = c.data_ptr<std::int64_t>();
  const double* same = chosen.positive.data_ptr<double>();
  std::int64_t agree = 0;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < m; ++j)
      if (i != j && same[i * m + j] != 0.0 && label[i] == label[j]) ++agree;
  return static_cast<double>(agree) / static_cast<double>(chosen.n_positive);
}

// ---- history ---------------------------------------------------------------------------------------

namespace {

std::array<double, kDacHistoryColumns> dac_row(const DACEpoch& e) {
  return {static_cast<double>(e.epoch), e.lambda, e.upper, e.lower, e.selected_fraction, e.positive_fraction,
          e.loss, e.nmi, e.acc, static_cast<double>(e.clusters_used), e.seconds, e.same_precision};
}

DACEpoch dac_record(const std::array<double, kDacHistoryColumns>& v) {
  return {.epoch = static_cast<std::int64_t>(v[0]),
          .lambda = v[1],
          .upper = v[2],
          .lower = v[3],
          .selected_fraction = v[4],
          .positive_fraction = v[5],
          .loss = v[6],
          .nmi = v[7],
          .acc = v[8],
          .clusters_used = static_cast<std::int64_t>(v[9]),
          .seconds = v[10],
          .same_precision = v[11]};  // 0 in checkpoints written before it was measured
}

}  // namespace

Tensor dac_history_tensor(const std::vector<DACEpoch>& history) { return train::history_to_table(history, dac_row); }

std::vector<DACEpoch> dac_history_from(const Tensor& table) {
  return train::history_from_table(table, "DAC", dac_record);
}

// ---- the algorithm ----------------------------------------------------------------------------------

ChunkChooser::ChunkChooser(std::int64_t n, std::int64_t chunk, std::int64_t passes, std::uint64_t seed)
    : n_(n), chunk_(chunk), passes_(passes), seed_(seed), chunk_of_(n), row_of_(n) {
  CAKE_CHECK(n >= 1 && chunk >= 1 && passes >= 1, "DAC ChunkChooser: expected n, chunk and passes >= 1, got ", n, ", ",
             chunk, ", ", passes);
  start_epoch(1);  // so that order() has the epochs' length before the first epoch begins
}

void ChunkChooser::start_epoch(std::int64_t epoch) {
  order_ = data::chunked_passes_order(n_, chunk_, passes_, seed_, static_cast<std::uint64_t>(epoch));
  const std::int64_t* order = order_.data_ptr<std::int64_t>();
  members_.clear();
  for (std::int64_t start = 0, q = 0; start < n_; start += chunk_, ++q) {
    const std::int64_t size = std::min(chunk_, n_ - start);
    const std::int64_t first_pass = start * passes_;  // the chunk's images, each once
    for (std::int64_t r = 0; r < size; ++r) {
      chunk_of_[order[first_pass + r]] = q;
      row_of_[order[first_pass + r]] = r;
    }
    members_.push_back(order_.narrow(0, first_pass, size));
  }
  current_ = -1;
}

Tensor ChunkChooser::for_batch(const Tensor& indices, const std::function<Tensor(const Tensor&)>& clean_features) {
  const Tensor at = indices.to(kCPU, kInt64).contiguous();
  CAKE_CHECK(at.dim() == 1 && at.numel() >= 1, "DAC ChunkChooser: expected batch indices [B], got ", shape_str(at.sizes()));
  const std::int64_t* index = at.data_ptr<std::int64_t>();
  const std::int64_t q = chunk_of_[index[0]];
  if (q != current_) {
    features_ = clean_features(members_[q]);
    current_ = q;
  }
  Tensor rows = make_empty({at.numel()}, kInt64, kCPU);
  std::int64_t* row = rows.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < at.numel(); ++i) {
    CAKE_CHECK(index[i] >= 0 && index[i] < n_ && chunk_of_[index[i]] == q, "DAC ChunkChooser: image ", index[i],
               " is not in chunk ", q, " of the batch's first image (a batch must lie in one chunk)");
    row[i] = row_of_[index[i]];
  }
  return features_.index_select(0, rows.to(features_.device()));
}

DAC::DAC(networks::ConvNet& net, DACOptions options, train::TrainerOptions trainer)
    : net_(net), options_(std::move(options)), trainer_options_(std::move(trainer)) {
  CAKE_CHECK(net_.num_outputs() >= 2, "DAC: the network needs at least 2 outputs (clusters), got ", net_.num_outputs());
  CAKE_CHECK(options_.lr > 0.0, "DAC: lr must be positive, got ", options_.lr);
  (void)options_.schedule.epochs_until_stop();  // refuses a schedule that never stops
  lambda_ = options_.schedule.lambda0;
}

Tensor DAC::features(const Tensor& images) {
  const Device device = net_.head()->weight.device();
  return label_features(networks::logits_all(net_, images.to(device), options_.eval_batch_size));
}

Tensor DAC::predict(const Tensor& images) { return features(images).argmax(1).cpu(); }

void DAC::set_checkpoint_path(std::string path) {
  trainer_options_.checkpoint_path = path;
  if (active_trainer_) active_trainer_->set_checkpoint_path(std::move(path));
}

namespace {

// The chunk rhythm of the authors' Keras code (DACOptions::chunk_size): the chunk is rounded up
// to a multiple of the batch, so that no batch spans two chunks. Null when chunks are off.
std::unique_ptr<ChunkChooser> make_chunk_chooser(const DACOptions& options, std::int64_t n, std::int64_t batch_size,
                                                 std::uint64_t seed) {
  if (options.chunk_size <= 0) return nullptr;
  CAKE_CHECK(options.augment && options.pairs_from_clean && !options.gather_batch && options.chunk_passes >= 1,
             "DAC: chunks (chunk_size ", options.chunk_size, ", chunk_passes ", options.chunk_passes,
             ") need an augmentation, pairs chosen on the clean images, one process and chunk_passes >= 1");
  const std::int64_t chunk = (options.chunk_size + batch_size - 1) / batch_size * batch_size;
  return std::make_unique<ChunkChooser>(n, chunk, options.chunk_passes, seed);
}

// Eq. (10) on a batch's label features `mine`, its pairs chosen by `chooser` (`mine` itself, the
// clean images' label features, or a chunk's); under mpirun, over every rank's batch.
Tensor batch_pair_loss(const DACOptions& options, const Tensor& mine, const Tensor& chooser, double upper,
                       double lower, PairSelection& selection) {
  if (!options.gather_batch) return dac_pair_loss(mine, chooser, upper, lower, &selection);
  const GatheredBatch all = options.gather_batch(mine);
  if (chooser.is_same(mine)) return dac_pair_loss_part(mine, all, upper, lower, &selection);
  return dac_pair_loss_part(mine, all, options.gather_batch(chooser), upper, lower, &selection);
}

// An epoch's running sums over its batches.
struct EpochTally {
  std::int64_t samples = 0, batches = 0;
  double loss_sum = 0.0, selected_sum = 0.0, positive_sum = 0.0;
};

// The epoch's argmax clusters: how many are used and, given the classes, their NMI and ACC and
// same_precision on every (n / 2000)-th image (the same images every epoch, and no random draw).
void score_clusters(DACEpoch& record, const Tensor& label_feats, const Tensor& truth) {
  const Tensor clusters = label_feats.argmax(1);
  const std::int64_t* c = clusters.data_ptr<std::int64_t>();
  record.clusters_used = static_cast<std::int64_t>(std::set<std::int64_t>(c, c + clusters.numel()).size());
  if (!truth.defined()) return;
  record.nmi = metrics::nmi(truth, clusters);
  record.acc = metrics::acc(truth, clusters);
  const std::int64_t n = label_feats.size(0);
  const std::int64_t stride = std::max<std::int64_t>(n / kPrecisionSample, 1);
  const std::int64_t count = (n + stride - 1) / stride;
  const Tensor rows = arange(0, count * stride, stride, kInt64);
  record.same_precision = same_pair_precision(label_feats.index_select(0, rows), truth.index_select(0, rows), record.upper);
}

}  // namespace

train::TrainResult DAC::fit(const Tensor& images, const Tensor& true_labels) {
  CAKE_CHECK(images.defined() && images.dim() == 4, "DAC::fit: expected images [N, C, H, W], got ",
             images.defined() ? shape_str(images.sizes()) : "an undefined tensor");
  const std::int64_t n = images.size(0);
  CAKE_CHECK(!true_labels.defined() || (true_labels.dim() == 1 && true_labels.size(0) == n), "DAC::fit: ", n,
             " images but labels of shape ", true_labels.sizes());
  const Device device = net_.head()->weight.device();
  const Tensor truth = true_labels.defined() ? true_labels.to(kCPU, kInt64).contiguous() : Tensor();
  const DACSchedule& schedule = options_.schedule;
  const Tensor data = images.detach().to(kCPU, kFloat32).contiguous();
  const std::int64_t batch_size = trainer_options_.batch_size;

  // The label features of clean images, in training mode (batch statistics, as the released
  // code's batch norms) and without a graph: they choose the pairs (pairs_from_clean).
  const auto clean_label_features = [&](const Tensor& x) {
    NoGradGuard no_grad;
    return label_features(net_.forward(x.to(device)));
  };
  const std::unique_ptr<ChunkChooser> chunks = make_chunk_chooser(options_, n, batch_size, trainer_options_.seed);
  const auto chunk_features = [&](const Tensor& members) {
    std::vector<Tensor> parts;
    for (std::int64_t start = 0; start < members.numel(); start += batch_size)
      parts.push_back(clean_label_features(
          data.index_select(0, members.narrow(0, start, std::min(batch_size, members.numel() - start)))));
    return cat(parts, 0);
  };

  optim::RMSprop rmsprop(net_.parameters(), {.lr = options_.lr, .alpha = options_.rmsprop_alpha});

  double upper = 0.0, lower = 0.0;
  DACEpoch current;
  EpochTally tally;
  std::int64_t batch_size_seen = 0;
  std::chrono::steady_clock::time_point started;
  const train::BatchLoss loss = [&](const data::Batch& batch) {
    const Tensor x = options_.augment ? options_.augment(batch.x) : batch.x;
    batch_size_seen = batch.x.size(0);
    PairSelection selection;
    const Tensor mine = label_features(net_.forward(x.to(device)));
    Tensor chooser = mine;
    if (chunks) chooser = chunks->for_batch(batch.indices, chunk_features);
    else if (options_.augment && options_.pairs_from_clean) chooser = clean_label_features(batch.x);
    const Tensor value = batch_pair_loss(options_, mine, chooser, upper, lower, selection);
    tally.selected_sum += selection.selected_fraction;
    tally.positive_sum += selection.positive_fraction;
    return value;
  };
  train::TrainerOptions trainer_options = trainer_options_;
  trainer_options.patience = 0;
  trainer_options.restore_best = false;
  // The stop rule of Algorithm 1 fixes how many epochs there are.
  trainer_options.epochs = std::min(trainer_options.epochs, schedule.epochs_until_stop());
  if (chunks) trainer_options.sampler = [&](std::int64_t) { return chunks->order(); };
  train::Trainer trainer(net_, rmsprop, loss, trainer_options);

  trainer.add_state(
      "dac",
      [&](train::StateWriter& out) {
        out.scalar("lambda", lambda_);
        out.tensor("history", dac_history_tensor(history_));
      },
      [&](const train::StateReader& in) {
        lambda_ = in.scalar("lambda");
        history_ = dac_history_from(in.tensor("history"));
      });

  trainer.on_epoch_begin([&](std::int64_t epoch) {
    // lambda of this epoch (Algorithm 1, line 9 moved it after the previous epoch).
    lambda_ = schedule.lambda(epoch);
    if (chunks) chunks->start_epoch(epoch);
    upper = schedule.upper(lambda_);
    lower = schedule.lower(lambda_);
    current = DACEpoch{.epoch = epoch, .lambda = lambda_, .upper = upper, .lower = lower};
    tally = EpochTally{};
    started = std::chrono::steady_clock::now();
  });
  trainer.on_batch_end([&](std::int64_t batch, std::int64_t num_batches, double value) {
    tally.loss_sum += value * static_cast<double>(batch_size_seen);
    tally.samples += batch_size_seen;
    ++tally.batches;
    if (batch != num_batches) return;
    // The epoch's record, complete before the Trainer writes its checkpoint.
    current.loss = tally.loss_sum / static_cast<double>(std::max<std::int64_t>(tally.samples, 1));
    current.selected_fraction = tally.selected_sum / static_cast<double>(tally.batches);
    current.positive_fraction = tally.positive_sum / static_cast<double>(tally.batches);
    score_clusters(current, features(images).cpu(), truth);
    current.seconds = train::seconds_since(started);
    history_.push_back(current);
  });
  train::report_epochs(trainer, on_epoch_end_, history_);
  const train::RunningTrainer running(active_trainer_, trainer);
  return trainer.fit(std::make_shared<const data::TensorDataset>(data));
}

}  // namespace cake::deep_clustering
