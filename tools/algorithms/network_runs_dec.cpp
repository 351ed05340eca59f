// network_runs_dec.cpp: the runs of DEC and IDEC (network_runs.h): pretrain (or load) the
// autoencoder, cluster its codes with k-means, then sharpen the clusters (dec.h).
#include <algorithm>
#include <filesystem>
#include <string>

#include "cake/algorithms/deep_clustering/dec.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/data/npy.h"
#include "cake/distributed/process_group.h"
#include "cake/nn/checkpoint.h"
#include "tools/algorithms/network_runs.h"
#include "tools/errors.h"
#include "tools/output.h"

namespace cake::cli::networks {

std::vector<ParamSpec> dec_params(bool idec) {
  // The autoencoder and its pretraining: DEC's network and DEC-keras' recipe (SGD lr 1, momentum
  // 0.9, batch 256, 300 epochs, no weight decay).
  std::vector<ParamSpec> p = autoencoder_params("dec", 10, "500,500,2000");
  set_default(p, "optimizer", "sgd");
  p.push_back(pretrained_param());
  p.push_back({"n_clusters", ParamType::Int, "10", "number of clusters"});
  p.push_back({"kmeans_n_init", ParamType::Int, "20", "k-means restarts for the first centres (DEC-keras: 20)"});
  p.push_back({"update_interval", ParamType::Int, "140", "optimiser steps between refreshes of the target distribution P"});
  p.push_back({"tol", ParamType::Float, "0.001", "stop when fewer than this fraction of the labels change between refreshes"});
  p.push_back({"max_iter", ParamType::Int, "20000", "the most optimiser steps of the clustering phase"});
  p.push_back({"cluster_shuffle", ParamType::Bool, "true",
               "shuffle the rows every epoch of the clustering phase (false: the stored order, as DEC-keras and IDEC's code)"});
  p.push_back({"alpha", ParamType::Float, "1", "degrees of freedom of the Student's t kernel (eq. 1)"});
  p.push_back({"cluster_lr", ParamType::Float, idec ? "0.001" : "0.01",
               idec ? "Adam's learning rate in the clustering phase (IDEC)" : "SGD's learning rate in the clustering phase (DEC-keras: 0.01, momentum 0.9)"});
  if (idec) p.push_back({"gamma", ParamType::Float, "0.1", "weight of the clustering loss: L = L_r + gamma L_c (IDEC)"});
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 300, .batch_size = 256, .lr = 1.0, .weight_decay = 0.0, .patience = 10});
}

void run_dec(RunContext& ctx, bool idec) {
  const std::string method = idec ? "IDEC" : "DEC";
  // 1. The autoencoder: pretrained here (with every file an autoencoder run leaves) or loaded.
  std::shared_ptr<algorithms::Autoencoder> autoencoder;
  RunImages images;
  const std::string& pretrained = ctx.params.get_string("pretrained");
  AutoencoderRun run = pretrained.empty() ? run_autoencoder(ctx, {.model = ctx.params.get_string("model")})
                                          : load_pretrained_autoencoder(ctx, pretrained);
  autoencoder = run.model;
  images = std::move(run.images);
  // The clustering checkpoints go straight into --out (tools/output.h).
  if (!pretrained.empty() && ctx.publish) ctx.publish();

  // 2. The clustering phase on every training row, resumed from the run's own checkpoint.
  const std::filesystem::path checkpoint = ctx.path("dec_checkpoint.safetensors");
  std::string resume_from;
  if (!ctx.resume_checkpoint.empty()) {
    const std::filesystem::path own = ctx.resume_checkpoint.parent_path() / "dec_checkpoint.safetensors";
    if (std::filesystem::exists(own)) resume_from = own.string();
  }
  deep_clustering::DECOptions options{.n_clusters = ctx.params.get_int("n_clusters"),
                                      .alpha = ctx.params.get_float("alpha"),
                                      .update_interval = ctx.params.get_int("update_interval"),
                                      .tol = ctx.params.get_float("tol"),
                                      .max_iter = ctx.params.get_int("max_iter"),
                                      .batch_size = ctx.params.get_int("batch_size"),
                                      .shuffle = ctx.params.get_bool("cluster_shuffle"),
                                      .lr = ctx.params.get_float("cluster_lr"),
                                      .reconstruction = idec,
                                      .gamma = idec ? ctx.params.get_float("gamma") : 0.1,
                                      .kmeans_n_init = ctx.params.get_int("kmeans_n_init"),
                                      .seed = ctx.seed,
                                      .checkpoint_path = checkpoint.string(),
                                      .resume_from = resume_from,
                                      .should_stop = ctx.stop_requested};
  if (options.n_clusters < 1 || options.n_clusters > images.all.size(0))
    throw UsageError(ctx.algorithm + ": n_clusters must be in [1, " + std::to_string(images.all.size(0)) + "]");
  if (options.update_interval < 1 || options.max_iter < 1 || options.tol < 0.0 || options.alpha <= 0.0)
    throw UsageError(ctx.algorithm + ": update_interval and max_iter must be at least 1, tol non-negative, alpha positive");
  ctx.progress->message(method + ": k-means on " + std::to_string(images.all.size(0)) + " codes, then up to " +
                        std::to_string(options.max_iter) + " steps" + (resume_from.empty() ? "" : ", resumed from " + resume_from));
  ctx.progress->start("step", options.max_iter);
  const auto on_refresh = [&](const deep_clustering::DECRefresh& r) {
    ctx.log({{"event", "refresh"}, {"step", r.step}, {"label_change", r.label_change}, {"mean_max_q", r.mean_max_q},
             {"mean_max_p", r.mean_max_p}, {"kl", r.kl}});
    ctx.progress->update(std::max<std::int64_t>(r.step, 1), {{"changed", r.label_change}, {"max q", r.mean_max_q}, {"KL", r.kl}});
  };
  const deep_clustering::DECResult result = deep_clustering::fit_dec(autoencoder, images.all, options, on_refresh);
  ctx.progress->finish();
  if (result.train.stop_reason == algorithms::StopReason::Interrupted && !result.labels.defined())
    throw RunInterrupted(result.message);
  if (result.train.stop_reason == algorithms::StopReason::NonFiniteLoss) CAKE_FAIL(ctx.algorithm, ": ", result.message);
  ctx.progress->message(method + ": " + result.message);
  ctx.log({{"event", "clustering_stopped"}, {"steps", result.steps}, {"converged", result.converged}, {"message", result.message}});

  // 3. Metrics, files and figures.
  nlohmann::json& m = ctx.metrics;
  m["dec_steps"] = result.steps;
  m["dec_converged"] = result.converged;
  m["dec_refreshes"] = result.refreshes.size();
  m["dec_message"] = result.message;
  if (ctx.labels.defined()) {
    const Tensor truth = ctx.labels.to(kCPU, kInt64);
    m["ae_kmeans"] = {{"nmi", metrics::nmi(truth, result.initial_labels)},
                      {"acc", metrics::acc(truth, result.initial_labels)},
                      {"ari", metrics::ari(truth, result.initial_labels)}};
  }
  save(*autoencoder, ctx.path("dec_autoencoder.safetensors").string());
  data::write_npy(ctx.path("soft_assignments.npy"), result.q);
  std::vector<double> max_q, max_p, changed;
  for (const deep_clustering::DECRefresh& r : result.refreshes) {
    max_q.push_back(r.mean_max_q);
    max_p.push_back(r.mean_max_p);
    changed.push_back(r.label_change);
  }
  ctx.save_curve("dec_sharpening.png",
                 ctx.algorithm + ": the target's sharpening (every " + std::to_string(options.update_interval) + " steps)",
                 {{"mean max q", max_q}, {"mean max p (target)", max_p}, {"fraction of labels changed", changed}}, "refresh");
  ctx.save_labels(result.labels);
}

}  // namespace cake::cli::networks
