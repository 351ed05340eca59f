// deepcluster.cpp: DeepCluster's clustering step and its training loop (deepcluster.h).
#include "cake/algorithms/deep_clustering/deepcluster.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <memory>

#include "cake/algorithms/cluster/kmeans_steps.h"
#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/train/history_table.h"
#include "cake/algorithms/train/running_fit.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/data/sampler.h"
#include "cake/nn/functional.h"
#include "cake/optim/sgd.h"
#include "cake/tensor/creation.h"

namespace cake::deep_clustering {

namespace {

// ---- the k-means of the clustering step --------------------------------------------------------

// The centroids of a split sit this far (times a unit direction) on either side of the donor's
// mean: far enough to be distinct, close enough that the next iteration decides.
constexpr double kSplitOffset = 1e-4;

template <class T>
class SplittingKMeans {
 public:
  SplittingKMeans(const cluster::kmeans::Dataset<T>& data, cluster::kmeans::Clustering<T>& state)
      : data_(data), state_(state) {}

  // Splits `donor` in two along a random direction through its mean; `target` (an empty
  // cluster) takes the points on the positive side. False when the donor's points all fall on
  // one side (e.g. identical points), in which case nothing changes.
  bool split(std::int64_t donor, std::int64_t target) {
    const std::int64_t d = state_.d, n = data_.n;
    const auto count = state_.counts[static_cast<std::size_t>(donor)];
    if (count < 2) return false;
    std::vector<double> mean(static_cast<std::size_t>(d));
    for (std::int64_t c = 0; c < d; ++c)
      mean[c] = state_.sums[static_cast<std::size_t>(donor * d + c)] / static_cast<double>(count);
    const Tensor draw = randn({d}, kFloat64);
    const double* g = draw.data_ptr<double>();
    double norm = 0.0;
    for (std::int64_t c = 0; c < d; ++c) norm += g[c] * g[c];
    norm = std::sqrt(std::max(norm, 1e-300));
    std::vector<std::int64_t> positive;
    for (std::int64_t i = 0; i < n; ++i) {
      if (state_.labels[static_cast<std::size_t>(i)] != donor) continue;
      double side = 0.0;
      for (std::int64_t c = 0; c < d; ++c) side += (static_cast<double>(data_.row(i)[c]) - mean[c]) * g[c];
      if (side > 0.0) positive.push_back(i);
    }
    if (positive.empty() || static_cast<std::int64_t>(positive.size()) == count) return false;
    for (const std::int64_t i : positive) move(i, target);
    for (std::int64_t c = 0; c < d; ++c) {
      const double offset = kSplitOffset * g[c] / norm;
      state_.centers[static_cast<std::size_t>(target * d + c)] = static_cast<T>(mean[c] + offset);
      state_.centers[static_cast<std::size_t>(donor * d + c)] = static_cast<T>(mean[c] - offset);
    }
    return true;
  }

  // The paper's empty-cluster rule (deepcluster.h): each empty cluster takes part of a donor
  // drawn with probability proportional to (size - 1). Returns the clusters refilled.
  std::int64_t refill_empty() {
    std::int64_t refilled = 0;
    for (std::int64_t j = 0; j < state_.k; ++j) {
      if (state_.counts[static_cast<std::size_t>(j)] != 0) continue;
      for (int attempt = 0; attempt < 10; ++attempt) {
        double total = 0.0;
        for (const std::int64_t c : state_.counts) total += static_cast<double>(std::max<std::int64_t>(c - 1, 0));
        if (total <= 0.0) return refilled;  // every cluster has one point or none: nothing to split
        double pick = rand({1}, kFloat64).item<double>() * total;
        std::int64_t donor = 0;
        for (; donor < state_.k - 1; ++donor) {
          pick -= static_cast<double>(std::max<std::int64_t>(state_.counts[static_cast<std::size_t>(donor)] - 1, 0));
          if (pick < 0.0) break;
        }
        if (split(donor, j)) {
          ++refilled;
          break;
        }
      }
    }
    return refilled;
  }

  // The giant-cluster guard (deepcluster.h). Returns 1 when it split a cluster.
  std::int64_t guard_giant(double fraction) {
    const std::int64_t k = state_.k, d = state_.d, n = data_.n;
    if (k < 2 || fraction >= 1.0) return 0;
    const auto& counts = state_.counts;
    const auto giant = static_cast<std::int64_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
    if (static_cast<double>(counts[static_cast<std::size_t>(giant)]) <= fraction * static_cast<double>(n)) return 0;
    std::int64_t smallest = giant == 0 ? 1 : 0;
    for (std::int64_t j = 0; j < k; ++j)
      if (j != giant && counts[static_cast<std::size_t>(j)] < counts[static_cast<std::size_t>(smallest)]) smallest = j;
    // The smallest cluster's points go to their nearest centroid other than its own and, when
    // there is a third, other than the giant's (which is about to be cut in two).
    for (std::int64_t i = 0; i < n; ++i) {
      if (state_.labels[static_cast<std::size_t>(i)] != smallest) continue;
      std::int64_t best = -1;
      double best_distance = 0.0;
      for (std::int64_t j = 0; j < k; ++j) {
        if (j == smallest || (j == giant && k > 2)) continue;
        double distance = 0.0;
        for (std::int64_t c = 0; c < d; ++c) {
          const double diff = static_cast<double>(data_.row(i)[c]) -
                              static_cast<double>(state_.centers[static_cast<std::size_t>(j * d + c)]);
          distance += diff * diff;
        }
        if (best < 0 || distance < best_distance) best = j, best_distance = distance;
      }
      move(i, best);
    }
    return split(giant, smallest) ? 1 : 0;
  }

 private:
  void move(std::int64_t i, std::int64_t to) {
    const std::int64_t d = state_.d;
    const std::int64_t from = state_.labels[static_cast<std::size_t>(i)];
    for (std::int64_t c = 0; c < d; ++c) {
      const double v = static_cast<double>(data_.row(i)[c]);
      state_.sums[static_cast<std::size_t>(from * d + c)] -= v;
      state_.sums[static_cast<std::size_t>(to * d + c)] += v;
    }
    --state_.counts[static_cast<std::size_t>(from)];
    ++state_.counts[static_cast<std::size_t>(to)];
    state_.labels[static_cast<std::size_t>(i)] = to;
  }

  const cluster::kmeans::Dataset<T>& data_;
  cluster::kmeans::Clustering<T>& state_;
};

// ---- the training set of an epoch --------------------------------------------------------------

// The images with this epoch's pseudo-labels, in the order of the uniform sampler: sample i of
// the data set is image order[i]. The Trainer's loader shuffles positions 0..N-1, which only
// permutes the sampler's (already shuffled) draw.
class PseudoLabelDataset : public data::Dataset {
 public:
  explicit PseudoLabelDataset(Tensor images) : images_(std::move(images)) {}
  void set_epoch(const Tensor& labels, Tensor order) {
    data_ = std::make_unique<data::TensorDataset>(images_, labels);
    order_ = std::move(order);
  }
  std::int64_t size() const override { return images_.size(0); }
  data::Batch get_batch(const Tensor& indices) const override {
    CAKE_CHECK(data_ != nullptr, "DeepCluster: a batch was asked for before the first clustering");
    const Tensor images = index_select(order_, 0, indices);
    data::Batch batch = data_->get_batch(images.contiguous());
    return batch;
  }

 private:
  Tensor images_, order_;
  std::unique_ptr<data::TensorDataset> data_;
};

constexpr std::size_t kDeepClusterHistoryColumns = 18;

}  // namespace

// ---- the clustering step -------------------------------------------------------------------------

Tensor preprocess_features(const Tensor& features, std::int64_t pca_dim) {
  CAKE_CHECK(features.defined() && features.dim() == 2 && features.size(0) >= 2,
             "preprocess_features: expected features [N >= 2, D], got ",
             features.defined() ? shape_str(features.sizes()) : "an undefined tensor");
  CAKE_CHECK(pca_dim > 0, "preprocess_features: pca_dim must be positive, got ", pca_dim);
  const std::int64_t dim = std::min({pca_dim, features.size(1), features.size(0) - 1});
  return decomposition::pca_whiten_l2(features.detach().to(kCPU, kFloat32).contiguous(), dim, 0).to(kFloat32).contiguous();
}

namespace {
// The score's k-means rows unless eval_whiten: the features scaled to unit length, not whitened.
Tensor unit_rows(const Tensor& features) {
  return decomposition::l2_normalize_rows(features.detach().to(kCPU, kFloat32).contiguous());
}
}  // namespace

Tensor evaluation_rows(const Tensor& features, bool eval_whiten, std::int64_t pca_dim, const Tensor& fitted_on) {
  CAKE_CHECK(features.defined() && features.dim() == 2, "evaluation_rows: expected features [N, D], got ",
             features.defined() ? shape_str(features.sizes()) : "an undefined tensor");
  if (!eval_whiten) return unit_rows(features);
  if (!fitted_on.defined()) return preprocess_features(features, pca_dim);
  CAKE_CHECK(fitted_on.dim() == 2 && fitted_on.size(1) == features.size(1) && fitted_on.size(0) >= 2,
             "evaluation_rows: the whitening is fitted on rows [N >= 2, ", features.size(1), "], got ",
             shape_str(fitted_on.sizes()));
  CAKE_CHECK(pca_dim > 0, "evaluation_rows: pca_dim must be positive, got ", pca_dim);
  const std::int64_t dim = std::min({pca_dim, fitted_on.size(1), fitted_on.size(0) - 1});
  decomposition::PCA pca({.n_components = dim, .whiten = true, .random_state = 0});
  pca.fit(fitted_on.detach().to(kCPU, kFloat32).contiguous());
  return unit_rows(pca.transform(features.detach().to(kCPU, kFloat32).contiguous()));
}

PseudoLabels cluster_features(const Tensor& x_in, const ClusterFeaturesOptions& options) {
  CAKE_CHECK(x_in.defined() && x_in.dim() == 2, "cluster_features: expected rows [N, D], got ",
             x_in.defined() ? shape_str(x_in.sizes()) : "an undefined tensor");
  const std::int64_t n = x_in.size(0), d = x_in.size(1), k = options.n_clusters;
  CAKE_CHECK(k >= 1 && k <= n, "cluster_features: cannot make ", k, " clusters of ", n, " points");
  CAKE_CHECK(options.max_iter >= 1, "cluster_features: max_iter must be at least 1, got ", options.max_iter);
  CAKE_CHECK(options.giant_fraction > 0.0, "cluster_features: giant_fraction must be positive, got ",
             options.giant_fraction);
  const Tensor x = x_in.detach().to(kCPU, kFloat32).contiguous();
  using T = float;
  const cluster::kmeans::Dataset<T> data(x.data_ptr<T>(), n, d);
  cluster::kmeans::Clustering<T> state(n, k, d, cluster::kmeans::init_random(data, k));
  cluster::kmeans::LloydStep<T> step;
  SplittingKMeans<T> policy(data, state);
  PseudoLabels result;
  std::vector<double> shifts;
  for (std::int64_t iteration = 0; iteration < options.max_iter; ++iteration) {
    step.assign(data, state);
    result.empty_splits += policy.refill_empty();
    cluster::kmeans::update_centers(state, shifts);
  }
  // The final assignment to the final centroids, refilled; the guard cuts any giant cluster
  // (at most k times: each cut may leave another cluster too big); the centroids become the
  // final clusters' means.
  step.assign(data, state);
  result.empty_splits += policy.refill_empty();
  for (std::int64_t round = 0; round < k; ++round) {
    const std::int64_t cut = policy.guard_giant(options.giant_fraction);
    if (cut == 0) break;
    result.giant_splits += cut;
  }
  cluster::kmeans::update_centers(state, shifts);

  result.labels = make_empty({n}, kInt64, kCPU);
  std::copy(state.labels.begin(), state.labels.end(), result.labels.data_ptr<std::int64_t>());
  result.centroids = make_empty({k, d}, kFloat32, kCPU);
  std::copy(state.centers.begin(), state.centers.end(), result.centroids.data_ptr<float>());
  double objective = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const T* mu = &state.centers[static_cast<std::size_t>(state.labels[static_cast<std::size_t>(i)] * d)];
    for (std::int64_t c = 0; c < d; ++c) {
      const double diff = static_cast<double>(data.row(i)[c]) - static_cast<double>(mu[c]);
      objective += diff * diff;
    }
  }
  result.objective = objective;
  return result;
}

// ---- history --------------------------------------------------------------------------------------

namespace {

std::array<double, kDeepClusterHistoryColumns> deepcluster_row(const DeepClusterEpoch& e) {
  return {static_cast<double>(e.epoch), e.loss, e.nmi_previous, e.nmi_pseudo, e.nmi_classes, e.acc_classes,
          e.kmeans_objective, static_cast<double>(e.smallest_cluster), static_cast<double>(e.largest_cluster),
          e.cluster_size_cv, static_cast<double>(e.empty_splits), static_cast<double>(e.giant_splits),
          e.seconds_features, e.seconds_pca, e.seconds_kmeans, e.seconds_train, 0.0, 0.0};
}

DeepClusterEpoch deepcluster_record(const std::array<double, kDeepClusterHistoryColumns>& v) {
  return {.epoch = static_cast<std::int64_t>(v[0]),
          .loss = v[1],
          .nmi_previous = v[2],
          .nmi_pseudo = v[3],
          .nmi_classes = v[4],
          .acc_classes = v[5],
          .kmeans_objective = v[6],
          .smallest_cluster = static_cast<std::int64_t>(v[7]),
          .largest_cluster = static_cast<std::int64_t>(v[8]),
          .cluster_size_cv = v[9],
          .empty_splits = static_cast<std::int64_t>(v[10]),
          .giant_splits = static_cast<std::int64_t>(v[11]),
          .seconds_features = v[12],
          .seconds_pca = v[13],
          .seconds_kmeans = v[14],
          .seconds_train = v[15]};
}

}  // namespace

Tensor deepcluster_history_tensor(const std::vector<DeepClusterEpoch>& history) {
  return train::history_to_table(history, deepcluster_row);
}

std::vector<DeepClusterEpoch> deepcluster_history_from(const Tensor& table) {
  return train::history_from_table(table, "DeepCluster", deepcluster_record);
}

// ---- the algorithm ----------------------------------------------------------------------------------

DeepCluster::DeepCluster(networks::ConvNet& net, DeepClusterOptions options, train::TrainerOptions trainer)
    : net_(net), options_(std::move(options)), trainer_options_(std::move(trainer)) {
  CAKE_CHECK(options_.n_clusters >= 2, "DeepCluster: n_clusters must be at least 2, got ", options_.n_clusters);
  CAKE_CHECK(net_.num_outputs() == options_.n_clusters, "DeepCluster: the network's head has ", net_.num_outputs(),
             " outputs but n_clusters is ", options_.n_clusters, " (build the ConvNet with num_outputs = n_clusters)");
  CAKE_CHECK(options_.lr > 0.0, "DeepCluster: lr must be positive, got ", options_.lr);
}

Tensor DeepCluster::embed(const Tensor& images) {
  const Device device = net_.head()->weight.device();
  return preprocess_features(networks::features_all(net_, images.to(device), options_.eval_batch_size).cpu(),
                             options_.pca_dim);
}

Tensor DeepCluster::evaluation_features(const Tensor& images) {
  const Device device = net_.head()->weight.device();
  return evaluation_rows(networks::features_all(net_, images.to(device), options_.eval_batch_size).cpu(),
                         options_.eval_whiten, options_.pca_dim);
}

void DeepCluster::set_checkpoint_path(std::string path) {
  trainer_options_.checkpoint_path = path;
  if (active_trainer_) active_trainer_->set_checkpoint_path(std::move(path));
}

train::TrainResult DeepCluster::fit(const Tensor& images, const Tensor& true_labels) {
  CAKE_CHECK(images.defined() && images.dim() == 4, "DeepCluster::fit: expected images [N, C, H, W], got ",
             images.defined() ? shape_str(images.sizes()) : "an undefined tensor");
  const std::int64_t n = images.size(0);
  CAKE_CHECK(n >= options_.n_clusters, "DeepCluster::fit: ", n, " images cannot make ", options_.n_clusters,
             " clusters");
  CAKE_CHECK(!true_labels.defined() || (true_labels.dim() == 1 && true_labels.size(0) == n),
             "DeepCluster::fit: ", n, " images but labels of shape ", true_labels.sizes());
  const Device device = net_.head()->weight.device();
  const Tensor on_device = images.detach().to(device);
  auto view = std::make_shared<PseudoLabelDataset>(images.detach().to(kCPU, kFloat32).contiguous());
  const Tensor truth = true_labels.defined() ? true_labels.to(kCPU, kInt64).contiguous() : Tensor();
  const std::int64_t classes = truth.defined() ? truth.max().item<std::int64_t>() + 1 : 0;

  // Two parameter groups: the body with momentum, the head with plain SGD. The original builds
  // a fresh momentum-free optimiser for its new top layer every epoch (main.py, train()), so
  // no momentum carries over from the previous epoch's head.
  optim::SGD sgd({optim::OptimizerParamGroup(net_.body_parameters()),
                  optim::OptimizerParamGroup(net_.head()->parameters(),
                                             std::make_unique<optim::SGDOptions>(optim::SGDOptions{
                                                 .lr = options_.lr, .momentum = 0.0, .weight_decay = options_.weight_decay}))},
                 optim::SGDOptions{.lr = options_.lr, .momentum = options_.momentum, .weight_decay = options_.weight_decay});

  std::int64_t batch_size_seen = 0;
  double loss_sum = 0.0;
  std::int64_t loss_count = 0;
  std::chrono::steady_clock::time_point train_started;
  DeepClusterEpoch current;
  const train::BatchLoss loss = [&](const data::Batch& batch) {
    const Tensor x = options_.augment ? options_.augment(batch.x) : batch.x;
    batch_size_seen = batch.x.size(0);
    return nn::functional::cross_entropy(net_.forward(x.to(device)), batch.y.to(device));
  };
  train::TrainerOptions trainer_options = trainer_options_;
  trainer_options.patience = 0;
  trainer_options.restore_best = false;
  train::Trainer trainer(net_, sgd, loss, trainer_options);

  trainer.add_state(
      "deepcluster",
      [&](train::StateWriter& out) {
        out.tensor("labels", labels_);
        out.tensor("centroids", centroids_);
        out.tensor("history", deepcluster_history_tensor(history_));
      },
      [&](const train::StateReader& in) {
        labels_ = in.tensor("labels");
        centroids_ = in.tensor("centroids");
        history_ = deepcluster_history_from(in.tensor("history"));
      });

  trainer.on_epoch_begin([&](std::int64_t epoch) {
    current = DeepClusterEpoch{.epoch = epoch};
    auto started = std::chrono::steady_clock::now();
    const Tensor features = (options_.all_features ? options_.all_features(net_, on_device)
                                                   : networks::features_all(net_, on_device, options_.eval_batch_size))
                               .cpu();
    current.seconds_features = train::seconds_since(started);
    started = std::chrono::steady_clock::now();
    const Tensor x = preprocess_features(features, options_.pca_dim);
    current.seconds_pca = train::seconds_since(started);
    started = std::chrono::steady_clock::now();
    PseudoLabels clusters = cluster_features(
        x, {.n_clusters = options_.n_clusters, .max_iter = options_.kmeans_iter, .giant_fraction = options_.giant_fraction});
    current.seconds_kmeans = train::seconds_since(started);

    if (labels_.defined()) current.nmi_previous = metrics::nmi(labels_, clusters.labels, metrics::NmiAverage::Geometric);
    if (truth.defined()) {
      current.nmi_pseudo = metrics::nmi(truth, clusters.labels);
      // Scored like the end of the run: k-means with as many clusters as classes.
      const PseudoLabels at_classes =
          cluster_features(options_.eval_whiten ? x : unit_rows(features),
                           {.n_clusters = classes, .max_iter = options_.kmeans_iter, .giant_fraction = 1.0});
      current.nmi_classes = metrics::nmi(truth, at_classes.labels);
      current.acc_classes = metrics::acc(truth, at_classes.labels);
    }
    const Tensor sizes = bincount(clusters.labels, {}, options_.n_clusters).to(kFloat64);
    current.smallest_cluster = static_cast<std::int64_t>(sizes.min().item<double>());
    current.largest_cluster = static_cast<std::int64_t>(sizes.max().item<double>());
    current.cluster_size_cv = sizes.std().item<double>() / sizes.mean().item<double>();
    current.kmeans_objective = clusters.objective;
    current.empty_splits = clusters.empty_splits;
    current.giant_splits = clusters.giant_splits;

    labels_ = clusters.labels;
    centroids_ = clusters.centroids;
    // Uniform sampling over the pseudo-labels, N images per epoch (the original's
    // UnifLabelSampler with reassign = 1), keyed by the run's seed and the epoch.
    view->set_epoch(labels_, data::UniformLabelSampler(labels_, n, trainer_options_.seed)(epoch));
    net_.reset_head(options_.head_std);
    loss_sum = 0.0;
    loss_count = 0;
    train_started = std::chrono::steady_clock::now();
  });
  trainer.on_batch_end([&](std::int64_t batch, std::int64_t num_batches, double value) {
    loss_sum += value * static_cast<double>(batch_size_seen);
    loss_count += batch_size_seen;
    if (batch != num_batches) return;
    // The epoch's record is complete before the Trainer writes its checkpoint.
    current.loss = loss_sum / static_cast<double>(std::max<std::int64_t>(loss_count, 1));
    current.seconds_train = train::seconds_since(train_started);
    history_.push_back(current);
  });
  train::report_epochs(trainer, on_epoch_end_, history_);
  const train::RunningTrainer running(active_trainer_, trainer);
  return trainer.fit(view);
}

}  // namespace cake::deep_clustering
