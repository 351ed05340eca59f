// dbm.cpp: `cake run dbm`, a deep Boltzmann machine (Salakhutdinov & Hinton 2009;
// algorithms/generative/dbm.h): pretrained as a stack of modified RBMs, trained jointly by mean
// field and persistent chains, then clustered and probed on its top layer's mean-field posterior.
//
//   cake run dbm --data fashion-mnist:train --out runs/dbm
//   cake run dbm --data fashion-mnist:train --out runs/dbm --set pretrain_epochs=100 epochs=500   # the paper's
//
// Leaves dbm.safetensors (weight1.., bias0..), embedding.npy (the top layer's mean-field
// posterior), labels.npy with nmi / acc / ari of k-means on it, probe_accuracy (with a test
// split), the mean-field lower bound on the log-likelihood of binarised training and test rows
// with log Z estimated by annealed importance sampling (ais_runs = 0 skips it), the reconstruction error per epoch, filters.png (the first layer's weights) and
// samples.png (images, then Gibbs chains run from them and from noise). The command keeps no
// checkpoint: an interrupted run starts again.
#include <chrono>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/generative/ais.h"
#include "cake/algorithms/generative/dbm.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/safetensors.h"
#include "tools/algorithms/component_images.h"
#include "tools/algorithms/likelihood.h"
#include "tools/errors.h"
#include "tools/evaluation.h"
#include "tools/library_defaults.h"
#include "tools/output.h"
#include "tools/registry.h"

namespace cake::cli::dbm_command {
namespace {

using generative::DBMOptions;

DBMOptions options_from(RunContext& ctx) {
  DBMOptions options;
  options.layer_sizes = ctx.params.get_int_list("hidden");
  options.pretraining.n_iter = ctx.params.get_int("pretrain_epochs");
  options.pretraining.learning_rate = ctx.params.get_float("pretrain_learning_rate");
  options.n_iter = ctx.params.get_int("epochs");
  options.batch_size = ctx.params.get_int("batch_size");
  options.n_particles = ctx.params.get_int("n_particles");
  options.gibbs_steps = ctx.params.get_int("gibbs_steps");
  options.mean_field_steps = ctx.params.get_int("mean_field_steps");
  options.learning_rate = ctx.params.get_float("learning_rate");
  options.final_learning_rate = ctx.params.get_float("final_learning_rate");
  options.weight_decay = ctx.params.get_float("weight_decay");
  options.random_state = ctx.seed;
  return options;
}

void run_dbm(RunContext& ctx) {
  if (ctx.params.get_int_list("hidden").empty()) throw UsageError("dbm: hidden must name at least one layer size");
  check_likelihood_params(ctx, "dbm");
  const Tensor x = ctx.data.cpu();
  DBMOptions options = options_from(ctx);
  const std::int64_t layers = static_cast<std::int64_t>(options.layer_sizes.size());
  std::vector<double> errors;
  std::int64_t done = 0;
  options.on_epoch = [&](int layer, std::int64_t epoch, double error) {
    ctx.progress->update(++done, {{"layer", static_cast<std::int64_t>(layer)}, {"reconstruction_error", error}});
    if (layer < 0) {
      errors.push_back(error);
      ctx.log({{"epoch", epoch}, {"reconstruction_error", error}});
    } else {
      ctx.log({{"event", "rbm_epoch"}, {"layer", layer}, {"epoch", epoch}, {"reconstruction_error", error}});
    }
    if (ctx.stop_requested && ctx.stop_requested())
      throw RunInterrupted("dbm: interrupted (the command keeps no checkpoint: run it again)");
  };
  generative::DeepBoltzmannMachine dbm(options);
  ctx.progress->start("epoch (pretraining, then joint)", layers * options.pretraining.n_iter + options.n_iter);
  const auto started = std::chrono::steady_clock::now();
  dbm.fit(x);
  ctx.metrics["fit_time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ctx.progress->finish();
  save_safetensors(ctx.path("dbm.safetensors").string(), dbm.state_dict(), {{"cake.module", "DeepBoltzmannMachine"}});
  if (!errors.empty()) ctx.metrics["reconstruction_error"] = errors.back();
  ctx.save_curve("reconstruction_error.png", "DBM: mean-field reconstruction error per epoch",
                 {{"mean squared error per value", errors}}, "epoch");

  add_likelihood_scores(ctx, dbm, x);

  const Tensor features = dbm.transform(x);
  ctx.save_embedding(features);
  const bool has_test = ctx.test_data.defined();
  if (ctx.params.get_bool("probe") && ctx.labels.defined() && has_test && ctx.test_labels.defined())
    ctx.metrics.update(linear_probe_scores(features, ctx.labels, dbm.transform(ctx.test_data.cpu()), ctx.test_labels));
  save_component_images(ctx, "filters.png", dbm.weights().front());
  if (ctx.image_shape) {
    const Tensor& shown_from = has_test ? ctx.test_data : x;
    const Tensor shown = shown_from.cpu().narrow(0, 0, std::min<std::int64_t>(10, shown_from.size(0)));
    const std::int64_t steps = ctx.params.get_int("sample_steps");
    const Tensor noise = rand({shown.size(0), shown.size(1)}).bernoulli();
    ctx.save_image_grid("samples.png", cat({shown, dbm.sample(shown, steps), dbm.sample(noise, steps)}, 0).to(kFloat32),
                        shown.size(0));
  }
  ctx.progress->message("dbm: k-means on the top layer's mean-field posterior");
  cluster::KMeans kmeans({.n_clusters = ctx.params.get_int("n_clusters"), .n_init = ctx.params.get_int("n_init"),
                          .random_state = ctx.seed});
  ctx.save_labels(kmeans.fit_predict(features));
}

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "dbm",
    .summary = "deep Boltzmann machine: modified-RBM pretraining, mean-field and persistent-chain learning",
    .reference = "Salakhutdinov & Hinton 2009 (AISTATS); Salakhutdinov & Hinton 2012; Tieleman 2008",
    .params = {{"hidden", ParamType::IntList, "500,1000", "hidden layer sizes, bottom up (the paper's MNIST DBM)"},
               {"pretrain_epochs", ParamType::Int, "20", "epochs of each pretraining RBM (the paper: 100)"},
               {"pretrain_learning_rate", ParamType::Float, "0.05", "the pretraining RBMs' learning rate"},
               {"epochs", ParamType::Int, "10", "epochs of joint training (the paper: 500)"},
               {"batch_size", ParamType::Int, "100", "rows per update"},
               {"n_particles", ParamType::Int, "100", "persistent chains (fantasy particles)"},
               {"gibbs_steps", ParamType::Int, "5", "Gibbs sweeps of the persistent chains per update"},
               {"mean_field_steps", ParamType::Int, "10", "most mean-field sweeps per batch (they stop at a change below 1e-7)"},
               {"learning_rate", ParamType::Float, "0.001", "joint training's first learning rate"},
               {"final_learning_rate", ParamType::Float, "1e-05", "its last: a geometric decay over the epochs"},
               {"weight_decay", ParamType::Float, "0.0002", "L2 penalty on the weights"},
               {"n_clusters", ParamType::Int, "10", "clusters of k-means on the top layer's posterior"},
               {"n_init", ParamType::Int, "10", "k-means restarts"},
               {"sample_steps", ParamType::Int, "1000", "Gibbs sweeps of the chains shown in samples.png"},
               {"ais_runs", ParamType::Int, library_default(&generative::AISOptions::n_runs),
                "annealed importance sampling runs that estimate log Z for the likelihood bound (0: skip it)"},
               {"ais_steps", ParamType::Int, kAisSteps,
                "intermediate distributions of each run (the authors' schedule, denser towards the model)"},
               {"likelihood_rows", ParamType::Int, "10000",
                "rows of each split whose log-likelihood bound is averaged, binarised by sampling (the first ones; 0: all)"},
               {"probe", ParamType::Bool, "true",
                "a linear probe (logistic regression) on the top layer's posterior, scored on the test split of a "
                "named data set"}},
    .run = run_dbm,
});

}  // namespace cake::cli::dbm_command
