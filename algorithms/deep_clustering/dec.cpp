// dec.cpp: DEC and IDEC (dec.h): the three equations, the model with its centres, and the
// training loop on cake::train::Trainer with the target refreshes and the stopping rule.
#include "cake/algorithms/deep_clustering/dec.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/data/dataloader.h"
#include "cake/nn/functional.h"
#include "cake/optim/adam.h"
#include "cake/optim/sgd.h"
#include "cake/tensor/creation.h"

namespace cake::deep_clustering {

namespace F = nn::functional;

// ---- the three equations --------------------------------------------------------------------------

Tensor soft_assignment(const Tensor& z, const Tensor& centres, double alpha) {
  CAKE_CHECK(z.dim() == 2 && centres.dim() == 2 && z.size(1) == centres.size(1),
             "soft_assignment: expected codes [N, D] and centres [K, D], got shapes ", z.sizes(), " and ", centres.sizes());
  CAKE_CHECK(alpha > 0.0, "soft_assignment: alpha must be positive, got ", alpha);
  // ||z_i - mu_j||^2 by broadcasting [N, 1, D] against [1, K, D]: exact (no |a|^2 + |b|^2 - 2ab
  // cancellation), and N K D is small here (D is the code size).
  const Tensor squared_distance = (z.unsqueeze(1) - centres.unsqueeze(0)).square().sum(Shape{2});
  // eq. (1): the Student's t kernel, normalised over the clusters.
  const Tensor kernel = (squared_distance / alpha + 1.0).pow(-(alpha + 1.0) / 2.0);
  return kernel / kernel.sum(Shape{1}, true);
}

Tensor target_distribution(const Tensor& q) {
  CAKE_CHECK(q.dim() == 2 && q.size(0) > 0, "target_distribution: expected soft assignments [N, K], got shape ", q.sizes());
  NoGradGuard no_grad;
  const Tensor q_const = q.detach();
  // eq. (3): q_ij^2 / f_j with the soft cluster frequencies f_j = sum_i q_ij, then each row
  // normalised to sum to 1.
  const Tensor weight = q_const.square() / q_const.sum(Shape{0}, true);
  return weight / weight.sum(Shape{1}, true);
}

Tensor kl_clustering_loss(const Tensor& p, const Tensor& q) {
  CAKE_CHECK(p.sizes() == q.sizes() && q.dim() == 2, "kl_clustering_loss: expected p and q of one shape [N, K], got ",
             p.sizes(), " and ", q.sizes());
  const Tensor target = p.detach();
  Tensor entropy_term;  // sum p log p: a constant (P is fixed), 0 log 0 counted as 0
  {
    NoGradGuard no_grad;
    const Tensor positive = target > Scalar(0.0);
    entropy_term = where(positive, target * where(positive, target, ones_like(target)).log(), zeros_like(target)).sum();
  }
  // eq. (2): sum_ij p_ij log(p_ij / q_ij) = sum p log p - sum p log q, per row.
  return (entropy_term - (target * q.log()).sum()) / static_cast<double>(q.size(0));
}

double label_change_fraction(const Tensor& before, const Tensor& after) {
  CAKE_CHECK(before.dim() == 1 && before.sizes() == after.sizes() && before.numel() > 0,
             "label_change_fraction: expected two label vectors [N] of one length, got ", before.sizes(), " and ",
             after.sizes());
  const Tensor changed = (before.to(kCPU, kInt64) != after.to(kCPU, kInt64)).to(kFloat64).sum();
  return changed.item<double>() / static_cast<double>(before.numel());
}

// ---- the model ----------------------------------------------------------------------------------------

DECModel::DECModel(std::shared_ptr<networks::Autoencoder> autoencoder, std::int64_t n_clusters, double alpha)
    : autoencoder_(std::move(autoencoder)), alpha_(alpha) {
  CAKE_CHECK(autoencoder_ != nullptr, "DECModel: no autoencoder");
  CAKE_CHECK(n_clusters >= 1, "DECModel: n_clusters must be at least 1, got ", n_clusters);
  CAKE_CHECK(alpha > 0.0, "DECModel: alpha must be positive, got ", alpha);
  register_module("autoencoder", autoencoder_);
  Device device = kCPU;
  if (const auto params = autoencoder_->parameters(); !params.empty()) device = params.front().device();
  centres = register_parameter("centres", zeros({n_clusters, autoencoder_->latent_dim()}).to(device));
}

Tensor DECModel::soft_assign(const Tensor& images) {
  return soft_assignment(autoencoder_->encode(images), centres, alpha_);
}

// ---- training -------------------------------------------------------------------------------------------

namespace {

// Everything of a DEC run beyond the weights: what the checkpoint's "dec" state holds.
struct DECState {
  Tensor p;               // the current target [N, K]
  Tensor labels;          // argmax q at the last refresh [N]
  Tensor initial_labels;  // k-means on the pretrained codes [N]
  std::int64_t step = 0;  // optimiser steps taken
  bool converged = false;
  std::vector<DECRefresh> refreshes;
};

constexpr std::int64_t kRefreshFields = 5;

Tensor refreshes_to_tensor(const std::vector<DECRefresh>& refreshes) {
  std::vector<double> flat;
  for (const DECRefresh& r : refreshes)
    flat.insert(flat.end(), {static_cast<double>(r.step), r.label_change, r.mean_max_q, r.mean_max_p, r.kl});
  return tensor(flat, {static_cast<std::int64_t>(refreshes.size()), kRefreshFields});
}

std::vector<DECRefresh> refreshes_from_tensor(const Tensor& t) {
  CAKE_CHECK(t.dim() == 2 && t.size(1) == kRefreshFields, "fit_dec: the checkpoint's refresh history has shape ",
             t.sizes(), ", expected [R, ", kRefreshFields, "]");
  const Tensor c = t.to(kCPU, kFloat64).contiguous();
  const double* v = c.data_ptr<double>();
  std::vector<DECRefresh> out;
  for (std::int64_t r = 0; r < c.size(0); ++r, v += kRefreshFields)
    out.push_back({static_cast<std::int64_t>(v[0]), v[1], v[2], v[3], v[4]});
  return out;
}

}  // namespace

DECResult fit_dec(const std::shared_ptr<networks::Autoencoder>& autoencoder, const Tensor& images,
                  const DECOptions& options, const std::function<void(const DECRefresh&)>& on_refresh,
                  const std::function<void(const train::EpochStats&)>& on_epoch) {
  CAKE_CHECK(autoencoder != nullptr, "fit_dec: no autoencoder");
  CAKE_CHECK(images.dim() == 4 && images.size(0) >= options.n_clusters, "fit_dec: expected images [N, C, H, W] with N >= ",
             "n_clusters = ", options.n_clusters, ", got shape ", images.sizes());
  CAKE_CHECK(options.update_interval >= 1, "fit_dec: update_interval must be at least 1, got ", options.update_interval);
  CAKE_CHECK(options.max_iter >= 1, "fit_dec: max_iter must be at least 1, got ", options.max_iter);
  CAKE_CHECK(options.batch_size >= 1, "fit_dec: batch_size must be at least 1, got ", options.batch_size);
  CAKE_CHECK(options.tol >= 0.0, "fit_dec: tol must be non-negative, got ", options.tol);
  CAKE_CHECK(options.gamma >= 0.0, "fit_dec: gamma must be non-negative, got ", options.gamma);
  const std::int64_t n = images.size(0);
  const Device device = images.device();
  auto model = std::make_shared<DECModel>(autoencoder, options.n_clusters, options.alpha);
  networks::Autoencoder& ae = *autoencoder;

  DECState state;
  // q over the whole data set in evaluation mode, without a graph.
  const auto soft_assign_all = [&] {
    const bool was_training = model->is_training();
    model->eval();
    Tensor q = networks::map_batches([&](const Tensor& x) { return model->soft_assign(x); }, images, 1000);
    model->train(was_training);
    return q;
  };
  // Section 3.1.3: recompute P from the current Q, and stop once fewer than tol of the labels
  // moved since the last refresh.
  const auto refresh = [&] {
    const Tensor q = soft_assign_all();
    const Tensor p = target_distribution(q);
    const Tensor labels = q.argmax(1).to(kCPU);
    DECRefresh record{.step = state.step};
    if (state.labels.defined()) record.label_change = label_change_fraction(state.labels, labels);
    record.mean_max_q = q.amax(1).to(kFloat64).mean().item<double>();
    record.mean_max_p = p.amax(1).to(kFloat64).mean().item<double>();
    record.kl = kl_clustering_loss(p.to(kFloat64), q.to(kFloat64)).item<double>();
    if (state.labels.defined() && record.label_change < options.tol) state.converged = true;
    state.p = p;
    state.labels = labels;
    state.refreshes.push_back(record);
    if (on_refresh) on_refresh(record);
  };

  if (options.resume_from.empty()) {
    // The first centres: k-means on the pretrained codes (section 3.2; DEC-keras uses n_init 20).
    const Tensor codes = networks::encode_all(ae, images).to(kCPU, kFloat64);
    cluster::KMeans kmeans({.n_clusters = options.n_clusters, .n_init = options.kmeans_n_init, .random_state = options.seed});
    state.initial_labels = kmeans.fit_predict(codes);
    {
      NoGradGuard no_grad;
      model->centres.copy_(kmeans.cluster_centers());
    }
    refresh();
  }

  // The optimiser: DEC trains the encoder and the centres with SGD; IDEC trains the decoder too
  // (its reconstruction term) with Adam.
  std::vector<Tensor> params;
  if (options.reconstruction) {
    params = model->parameters();
  } else {
    params = ae.encoder()->parameters();
    params.push_back(model->centres);
  }
  std::unique_ptr<optim::Optimizer> optimizer;
  if (options.reconstruction)
    optimizer = std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = options.lr > 0.0 ? options.lr : 1e-3});
  else
    optimizer = std::make_unique<optim::SGD>(
        params, optim::SGDOptions{.lr = options.lr > 0.0 ? options.lr : 0.01, .momentum = options.momentum});

  const train::BatchLoss loss = [&, device](const data::Batch& batch) {
    const Tensor x = batch.x.to(device);
    const Tensor z = ae.encode(x);
    const Tensor q = soft_assignment(z, model->centres, options.alpha);
    const Tensor p = index_select(state.p, 0, batch.indices.to(state.p.device()));
    const Tensor clustering = kl_clustering_loss(p, q);
    if (!options.reconstruction) return clustering;
    return F::mse_loss(ae.decode(z), x) + clustering * options.gamma;  // IDEC, eq. (6)
  };

  const std::int64_t batches_per_epoch = (n + options.batch_size - 1) / options.batch_size;
  train::TrainerOptions trainer_options{.epochs = (options.max_iter + batches_per_epoch - 1) / batches_per_epoch,
                                        .batch_size = options.batch_size,
                                        .patience = 0,
                                        .restore_best = false,
                                        .seed = options.seed,
                                        .checkpoint_path = options.checkpoint_path,
                                        .resume_from = options.resume_from};
  if (!options.shuffle) trainer_options.sampler = [n](std::int64_t) { return arange(n); };
  trainer_options.should_stop = [&] {
    return state.converged || state.step >= options.max_iter || (options.should_stop && options.should_stop());
  };
  train::Trainer trainer(*model, *optimizer, loss, trainer_options);
  trainer.add_state(
      "dec",
      [&](train::StateWriter& out) {
        out.tensor("p", state.p);
        out.tensor("labels", state.labels);
        out.tensor("initial_labels", state.initial_labels);
        out.integer("step", state.step);
        out.integer("converged", state.converged ? 1 : 0);
        out.integer("refreshes", static_cast<std::int64_t>(state.refreshes.size()));
        if (!state.refreshes.empty()) out.tensor("history", refreshes_to_tensor(state.refreshes));
      },
      [&](const train::StateReader& in) {
        state.p = in.tensor("p").to(device);
        state.labels = in.tensor("labels");
        state.initial_labels = in.tensor("initial_labels");
        state.step = in.integer("step");
        state.converged = in.integer("converged") != 0;
        state.refreshes = in.integer("refreshes") > 0 ? refreshes_from_tensor(in.tensor("history")) : std::vector<DECRefresh>{};
      });
  trainer.on_batch_end([&](std::int64_t, std::int64_t, double) {
    ++state.step;
    if (state.step % options.update_interval == 0) refresh();
  });
  if (on_epoch) trainer.on_epoch_end(on_epoch);

  DECResult result;
  result.train = trainer.fit(std::make_shared<const data::TensorDataset>(images.cpu()));
  result.steps = state.step;
  result.converged = state.converged;
  result.initial_labels = state.initial_labels;
  result.refreshes = state.refreshes;
  result.centres = model->centres.detach().to(kCPU).clone();
  std::ostringstream message;
  const bool finished = state.converged || state.step >= options.max_iter;
  if (result.train.stop_reason == train::StopReason::Interrupted && !finished) {
    result.message = result.train.message;
    return result;
  }
  if (result.train.stop_reason == train::StopReason::NonFiniteLoss) {
    message << result.train.message;
  } else if (state.converged) {
    message << "converged after " << state.step << " steps: " << state.refreshes.back().label_change * 100.0
            << "% of the labels changed at the last refresh, below tol = " << options.tol * 100.0 << "%";
  } else {
    message << "stopped at max_iter = " << options.max_iter << " steps (" << state.refreshes.back().label_change * 100.0
            << "% of the labels changed at the last refresh)";
  }
  result.message = message.str();
  result.q = soft_assign_all().to(kCPU);
  result.labels = result.q.argmax(1);
  return result;
}

}  // namespace cake::deep_clustering
