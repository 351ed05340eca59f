// rbm.cpp: `cake run rbm`, a restricted Boltzmann machine (algorithms/generative/rbm.h) fitted by
// contrastive divergence.
//
//   cake run rbm --data fashion-mnist:train --out runs/rbm --set n_components=256 n_iter=20
//
// Saves the hidden units' probabilities as the embedding (and, with labels and a test split, a
// linear probe on them), the model (rbm.safetensors: components, intercept_hidden,
// intercept_visible, as scikit-learn names them), the mean log pseudo-likelihood of training
// and test rows, the log-likelihood of binarised training and test rows with log Z estimated by
// annealed importance sampling (ais_runs = 0 skips it), and the figures: the filters (each hidden
// unit's weights as an image),
// samples.png (test images, their one-step reconstructions, and Gibbs chains run from those
// images and from noise) and the reconstruction error per epoch.
#include <chrono>

#include "cake/algorithms/generative/ais.h"
#include "cake/algorithms/generative/rbm.h"
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

namespace cake::cli::rbm_command {
namespace {

using generative::RBMOptions;

RBMOptions options_from(const RunContext& ctx) {
  return {.n_components = ctx.params.get_int("n_components"),
          .learning_rate = ctx.params.get_float("learning_rate"),
          .batch_size = ctx.params.get_int("batch_size"),
          .n_iter = ctx.params.get_int("n_iter"),
          .cd_k = ctx.params.get_int("cd_k"),
          .persistent = ctx.params.get_bool("persistent"),
          .sample_visible = ctx.params.get_bool("sample_visible"),
          .momentum = ctx.params.get_float("momentum"),
          .final_momentum = ctx.params.get_float("final_momentum"),
          .momentum_epochs = ctx.params.get_int("momentum_epochs"),
          .weight_decay = ctx.params.get_float("weight_decay"),
          .init_std = ctx.params.get_float("init_std"),
          .shuffle = ctx.params.get_bool("shuffle"),
          .hidden_units = generative::parse_hidden_units(ctx.params.get_string("hidden_units")),
          .random_state = ctx.seed};
}

// The mean log pseudo-likelihood of up to `rows` rows (the first ones: the same rows every run).
double mean_pseudo_likelihood(const generative::RBM& rbm, const Tensor& x, std::int64_t rows) {
  return rbm.score_samples(x.narrow(0, 0, std::min(rows, x.size(0)))).mean().item<double>();
}

void save_samples(RunContext& ctx, const generative::RBM& rbm, const Tensor& shown, std::int64_t steps) {
  if (!ctx.image_shape) return;
  const std::int64_t count = shown.size(0);
  const Tensor noise = rand({count, shown.size(1)}).bernoulli();
  ctx.save_image_grid("samples.png",
                      cat({shown, rbm.reconstruct(shown), rbm.sample(shown, steps), rbm.sample(noise, steps)}, 0).to(kFloat32),
                      count);
}

void run_rbm(RunContext& ctx) {
  if (ctx.params.get_int("score_rows") < 1)
    throw UsageError("rbm: score_rows must be at least 1, got " + std::to_string(ctx.params.get_int("score_rows")));
  check_likelihood_params(ctx, "rbm");
  const Tensor x = ctx.data.cpu();
  RBMOptions options = options_from(ctx);
  std::vector<double> errors;
  options.on_epoch = [&](std::int64_t epoch, double error) {
    errors.push_back(error);
    ctx.progress->update(epoch, {{"reconstruction_error", error}});
    ctx.log({{"epoch", epoch}, {"reconstruction_error", error}});
    if (ctx.stop_requested && ctx.stop_requested())
      throw RunInterrupted("rbm: interrupted after epoch " + std::to_string(epoch) + " (an RBM fit keeps no checkpoint)");
  };
  generative::RBM rbm(options);
  ctx.progress->start("epoch", options.n_iter);
  const auto started = std::chrono::steady_clock::now();
  rbm.fit(x);
  ctx.metrics["fit_time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ctx.progress->finish();

  save_safetensors(ctx.path("rbm.safetensors").string(), {{"components", rbm.components()},
                                                          {"intercept_hidden", rbm.intercept_hidden()},
                                                          {"intercept_visible", rbm.intercept_visible()}},
                   {{"cake.module", "BernoulliRBM"}, {"hidden_units", ctx.params.get_string("hidden_units")}});
  if (!errors.empty()) ctx.metrics["reconstruction_error"] = errors.back();
  const std::int64_t scored = ctx.params.get_int("score_rows");
  ctx.progress->message("rbm: log pseudo-likelihood of " + std::to_string(std::min(scored, x.size(0))) + " rows");
  ctx.metrics["pseudo_log_likelihood"] = mean_pseudo_likelihood(rbm, x, scored);
  const bool has_test = ctx.test_data.defined();
  if (has_test) ctx.metrics["test_pseudo_log_likelihood"] = mean_pseudo_likelihood(rbm, ctx.test_data.cpu(), scored);

  add_likelihood_scores(ctx, rbm, x);

  const Tensor codes = rbm.transform(x);
  ctx.save_embedding(codes);
  if (ctx.params.get_bool("probe") && ctx.labels.defined() && has_test && ctx.test_labels.defined())
    ctx.metrics.update(linear_probe_scores(codes, ctx.labels, rbm.transform(ctx.test_data.cpu()), ctx.test_labels));
  save_component_images(ctx, "filters.png", rbm.components());
  const Tensor& shown_from = has_test ? ctx.test_data : x;
  save_samples(ctx, rbm, shown_from.cpu().narrow(0, 0, std::min<std::int64_t>(10, shown_from.size(0))),
               ctx.params.get_int("gibbs_steps"));
  ctx.save_curve("reconstruction_error.png", "RBM: one-step reconstruction error per epoch",
                 {{"mean squared error per value", errors}}, "epoch");
}

using O = RBMOptions;
using A = generative::AISOptions;
const std::vector<std::string> kHiddenUnits = {"bernoulli", "gaussian"};

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "rbm",
    .summary = "restricted Boltzmann machine trained by (persistent) contrastive divergence",
    .reference = "Smolensky 1986; Hinton 2002 (CD); Tieleman 2008 (PCD); Hinton 2010 (practical guide)",
    .params = {{"n_components", ParamType::Int, library_default(&O::n_components), "hidden units"},
               {"learning_rate", ParamType::Float, library_default(&O::learning_rate), "step size of the updates"},
               {"batch_size", ParamType::Int, library_default(&O::batch_size), "rows per update"},
               {"n_iter", ParamType::Int, library_default(&O::n_iter), "epochs over the data"},
               {"cd_k", ParamType::Int, library_default(&O::cd_k), "Gibbs steps in each negative phase"},
               {"persistent", ParamType::Bool, library_default(&O::persistent),
                "true: persistent chains (Tieleman 2008, scikit-learn); false: CD-k from the data (Hinton 2002)"},
               {"sample_visible", ParamType::Bool, library_default(&O::sample_visible),
                "the negative phase's last visible states: samples (true) or their probabilities (false, Hinton's code)"},
               {"momentum", ParamType::Float, library_default(&O::momentum), "momentum of the first momentum_epochs epochs"},
               {"final_momentum", ParamType::Float, library_default(&O::final_momentum), "momentum after them"},
               {"momentum_epochs", ParamType::Int, library_default(&O::momentum_epochs), "epochs at the first momentum"},
               {"weight_decay", ParamType::Float, library_default(&O::weight_decay), "L2 penalty on the weights"},
               {"init_std", ParamType::Float, library_default(&O::init_std), "standard deviation of the initial weights"},
               {"shuffle", ParamType::Bool, library_default(&O::shuffle),
                "a new row order every epoch (false: batches in row order, as scikit-learn)"},
               {"hidden_units", ParamType::String, library_choice(&O::hidden_units, generative::parse_hidden_units, kHiddenUnits),
                "bernoulli: binary hidden units; gaussian: linear units with unit-variance noise", kHiddenUnits},
               {"score_rows", ParamType::Int, "1000", "rows whose log pseudo-likelihood is averaged (the first ones)"},
               {"gibbs_steps", ParamType::Int, "1000", "steps of the Gibbs chains shown in samples.png"},
               {"ais_runs", ParamType::Int, library_default(&A::n_runs),
                "annealed importance sampling runs that estimate log Z for the log-likelihood (0: skip it)"},
               {"ais_steps", ParamType::Int, kAisSteps,
                "intermediate distributions of each run (the authors' schedule, denser towards the model)"},
               {"likelihood_rows", ParamType::Int, "10000",
                "rows of each split whose log-likelihood is averaged, binarised by sampling (the first ones; 0: all)"},
               {"probe", ParamType::Bool, "true",
                "a linear probe (logistic regression) on the hidden probabilities, trained on the data and scored on the "
                "test split of a named data set"}},
    .run = run_rbm,
});

}  // namespace cake::cli::rbm_command
