// deep_semi_nmf.cpp: `cake run deep-semi-nmf`, Deep Semi-NMF (algorithms/decomposition/deep_semi_nmf.h)
// and k-means on its last layer's codes, the clustering of the paper (the JULE talk's "NMF-D").
//
//   cake run deep-semi-nmf --data fashion-mnist:test --set layers=256,10 n_clusters=10
//
// The run leaves embedding.npy (the last layer's codes H_m), labels.npy (k-means on them),
// bases.png (the columns of Z_1 ... Z_m as images: what each code adds to an image), the reconstruction error and
// sweeps in metrics.json, the loss after each fine-tuning sweep in log.jsonl, and the usual scores
// and figures when labels are known; progress counts the sweeps of pre-training and fine-tuning.
#include <string>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/decomposition/deep_semi_nmf.h"
#include "tools/algorithms/sample_count.h"
#include "tools/algorithms/component_images.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/output.h"
#include "tools/registry.h"

namespace cake::cli::deep_semi_nmf_command {
namespace {

void run_deep_semi_nmf(RunContext& ctx) {
  using namespace cake::decomposition;
  const std::vector<std::int64_t> layers = ctx.params.get_int_list("layers");
  if (layers.empty()) throw UsageError("deep-semi-nmf: layers must name at least one layer size");
  const std::int64_t k = count_up_to_samples(ctx, "deep-semi-nmf", "n_clusters");
  const std::int64_t pretrain_iter = ctx.params.get_int("pretrain_iter");
  const std::int64_t max_iter = ctx.params.get_int("max_iter");
  const auto m = static_cast<std::int64_t>(layers.size());
  ctx.progress->start("sweep (pre-training layer by layer, then fine-tuning)", m * pretrain_iter + max_iter);
  std::int64_t done = 0;
  DeepSemiNMF model({.layers = layers,
                     .pretrain_iter = pretrain_iter,
                     .max_iter = max_iter,
                     .tol = ctx.params.get_float("tol"),
                     .random_state = ctx.seed,
                     .on_sweep = [&](std::int64_t stage, std::int64_t sweep, double loss) {
                       if (stage == m) ctx.log({{"sweep", sweep}, {"reconstruction_err", loss}});
                       // A stage that stops early skips the rest of its sweeps on the bar.
                       done = stage < m ? stage * pretrain_iter + sweep : m * pretrain_iter + sweep;
                       ctx.progress->update(done, {{stage < m ? "layer " + std::to_string(stage + 1) : "fine-tuning", loss}});
                       if (ctx.stop_requested && ctx.stop_requested())
                         throw RunInterrupted("deep-semi-nmf: interrupted (no checkpoint: run it again)");
                     }});
  const Tensor codes = model.fit_transform(ctx.data.cpu());
  ctx.progress->finish();
  ctx.metrics["reconstruction_err"] = model.reconstruction_err();
  ctx.metrics["pretrained_reconstruction_err"] = model.loss_history().front();
  ctx.metrics["n_iter"] = model.n_iter();
  ctx.save_embedding(codes);
  save_component_images(ctx, "bases.png", model.basis().t());

  cluster::KMeans kmeans({.n_clusters = k, .n_init = ctx.params.get_int("n_init")});
  ctx.progress->message("deep-semi-nmf: k-means on the " + std::to_string(layers.back()) + "-dimensional codes");
  ctx.save_labels(kmeans.fit_predict(codes));
}

using O = decomposition::DeepSemiNMFOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "deep-semi-nmf",
    .summary = "Deep Semi-NMF (X^T ~ Z_1 ... Z_m H_m, H_m >= 0), then k-means on the last layer's codes (NMF-D)",
    .reference = "Trigeorgis, Bousmalis, Zafeiriou & Schuller 2014; Ding, Li & Jordan 2010 (Semi-NMF)",
    // layers is the command line's own (the library has no default depth); 256,10 ends in one code per cluster.
    .params = {{"layers", ParamType::IntList, "256,10", "components of each layer, bottom up (one entry: Semi-NMF)"},
               {"n_clusters", ParamType::Int, "10", "clusters of the k-means on the last layer's codes"},
               {"pretrain_iter", ParamType::Int, library_default(&O::pretrain_iter), "Semi-NMF sweeps per layer"},
               {"max_iter", ParamType::Int, library_default(&O::max_iter), "fine-tuning sweeps over all layers"},
               {"tol", ParamType::Float, library_default(&O::tol), "stop a stage when a sweep lowers the loss by less than this share"},
               {"n_init", ParamType::Int, "10", "k-means restarts"}},
    .run = run_deep_semi_nmf,
});

}  // namespace cake::cli::deep_semi_nmf_command
