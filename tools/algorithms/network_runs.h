// network_runs.h: what the command-line wrappers of the trained networks (autoencoders, VAEs,
// the fine-tuned classifier) share: their common parameters, the train/validation/test images
// of a run, the training loop with its log and progress, and the figures.
//
//   CAKE_REGISTER_ALGORITHM({
//       .name = "conv-autoencoder", ...,
//       .params = with_training_params({{"latent_dim", ParamType::Int, "16", "code size"}}, {.epochs = 10}),
//       .run = [](RunContext& ctx) {
//         const RunImages images = run_images(ctx);                   // split by ctx.seed
//         auto model = std::make_shared<algorithms::ConvAutoencoder>(ctx.params.get_int("latent_dim"));
//         ... Trainer trainer(*model, adam, loss, trainer_options(ctx));
//         train_and_log(ctx, trainer, images);                         // log.jsonl, loss_curve.png, metrics
//       },
//   });
//
// Every file a run leaves is listed in docs/algorithms/autoencoders.md. The plumbing is in
// network_runs.cpp; the families in network_runs_autoencoders.cpp, network_runs_vaes.cpp and
// network_runs_probes.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/algorithms/train/trainer.h"
#include "cake/data/dataloader.h"
#include "cake/data/image.h"
#include "tools/algorithms/device_training.h"
#include "tools/registry.h"

namespace cake::distributed {
class DistributedDataParallel;
}

namespace cake::cli::networks {

// Per-algorithm defaults of the shared training parameters.
struct TrainingDefaults {
  std::int64_t epochs = 10;
  std::int64_t batch_size = 256;
  double lr = 1e-3;
  double weight_decay = 1e-5;
  std::int64_t patience = 10;
  double min_delta = 0.0;
};

// `own` followed by epochs, batch_size, lr, weight_decay, patience, min_delta, val_fraction and
// resume.
std::vector<ParamSpec> with_training_params(std::vector<ParamSpec> own, const TrainingDefaults& defaults);
// `sync_bn` (default false), for the commands that train data-parallel under mpirun (data_parallel()).
ParamSpec sync_bn_param();
// The parameters of the figures and the probe that follow training (tsne_samples, probe).
std::vector<ParamSpec> analysis_params();

// The images of a run as [N, C, H, W] tensors on the run's device.
struct RunImages {
  Tensor all, all_labels;          // ctx.data (every training row), its labels (may be undefined)
  Tensor train, train_labels;      // the part trained on
  Tensor val, val_labels;          // the validation part (val_fraction of the rows)
  Tensor test, test_labels;        // the data set's test split, when there is one
  Shape image_shape;               // {C, H, W}
};
// Splits ctx.data by the val_fraction parameter and ctx.seed. Errors when the data are not images.
RunImages run_images(const RunContext& ctx);
// Images (and labels, when defined) as a data set for the Trainer.
std::shared_ptr<const data::TensorDataset> dataset(const Tensor& images, const Tensor& labels = {});

// Trainer options from the shared parameters; checkpoints go to <out>/checkpoint.safetensors.
// Resumes from the run's own checkpoint (--resume) or from the `resume` parameter's; stops at
// a safe point when ctx.stop_requested. Refuses epochs < 1 and a negative min_delta (UsageError).
algorithms::TrainerOptions trainer_options(const RunContext& ctx);
// Under `mpirun -np P`: wraps `model` for data-parallel training (cake/distributed/data_parallel.h)
// and sets `options` up for it, each rank taking options.batch_size / P samples of every batch
// (so P ranks take the same steps as one process with options.batch_size). Returns null when
// the run has one rank. The caller includes cake/distributed/data_parallel.h.
// With the sync_bn parameter (sync_bn_param()) true, the model's BatchNorm layers are first made
// synchronised over the ranks (cake/distributed/sync_batchnorm.h); a command without the
// parameter (a network without batch norm) keeps per-rank batch norm.
std::unique_ptr<distributed::DistributedDataParallel> data_parallel(RunContext& ctx, nn::Module& model,
                                                                    algorithms::TrainerOptions& options,
                                                                    std::int64_t train_size);

// Runs trainer.fit with a progress bar, one log.jsonl line per epoch and the loss curve
// (loss_curve.png); records train_loss, val_loss, best_epoch, epochs_run, stop_reason and
// epoch_time_s in ctx.metrics. Once the first checkpoint exists the run folder is moved into its
// place (ctx.publish, tools/output.h), so that an interrupted run can be resumed from --out. On
// a resume, the settings that differ from the checkpoint's are logged ("resumed" event) and
// listed in metrics.json (resume_changes). A non-finite loss is reported and then thrown as
// cake::Error (the last good checkpoint stays in the output directory); an interruption is
// thrown as RunInterrupted.
// plateau_baseline > 0 (an autoencoder's mean_image_mse): each epoch's log line gets
// loss_vs_mean_image, and a loss still at kPlateauRatio of it or more is reported as the
// mean-image plateau (a progress message, "plateau": true in the log, and mean_image_mse,
// loss_vs_mean_image and plateau in metrics.json; algorithms/networks/autoencoder.h).
algorithms::TrainResult train_and_log(RunContext& ctx, algorithms::Trainer& trainer, const RunImages& images,
                                      const std::string& loss_name, double plateau_baseline = 0.0);

// ---- figures -------------------------------------------------------------------------------------

// Rows of images stacked top to bottom (e.g. inputs above reconstructions), each row
// [columns, C, H, W], written as one grid.
void save_image_rows(RunContext& ctx, const std::string& file, const std::vector<Tensor>& rows);
// `count` images spread evenly through a set (one per class when labels are given and count
// is the number of classes): the same picks every run.
Tensor pick_examples(const Tensor& images, const Tensor& labels, std::int64_t count);
// The codes of every training row (embedding.npy, and its PCA scatter embedding.png through
// ctx.save_embedding), and a t-SNE scatter of up to tsne_samples test codes (embedding_tsne.png).
void save_latent_space(RunContext& ctx, const Tensor& train_codes, const Tensor& test_codes, const Tensor& test_labels);
// Linear probe (Alain & Bengio 2016, "Understanding intermediate layers using linear classifier
// probes"): logistic regression from codes to classes, fitted on (up to 10000)
// training codes and scored on the test codes; records probe_accuracy.
void linear_probe_metric(RunContext& ctx, const Tensor& train_codes, const Tensor& train_labels,
                         const Tensor& test_codes, const Tensor& test_labels);
// A classifier's confusion matrix on the test set as a figure, with class names on both axes.
void save_confusion_matrix(RunContext& ctx, const std::string& file, const std::string& title,
                           const Tensor& true_labels, const Tensor& predicted, std::int64_t num_classes);

// Writes a PNG through the image module, or nothing in a build without stb_image_write.
void write_figure(const RunContext& ctx, const std::string& file, const image::Canvas& canvas);

// ---- autoencoders ----------------------------------------------------------------------------------

// How an autoencoder is trained: plain reconstruction (squared error or cross-entropy per
// pixel), denoising or masking.
enum class Objective { Reconstruction, CrossEntropy, Denoising, Masked };
struct ObjectiveOptions {
  std::string model = "conv";  // "conv" | "mlp" | "dec" | "n2d", see make_autoencoder
  Objective objective = Objective::Reconstruction;
  algorithms::DenoisingOptions denoising = {};
  algorithms::MaskingOptions masking = {};
  // When set, builds the network instead of make_autoencoder (e.g. `dbn`: an autoencoder whose
  // weights a deep belief network's pretraining has set), given the run's images.
  std::function<std::shared_ptr<algorithms::Autoencoder>(const RunImages&)> make_model = {};
};

// The parameters make_autoencoder reads: latent_dim, and (when not empty) a `model` choice
// with that default and the `hidden` sizes with that default.
std::vector<ParamSpec> autoencoder_params(const std::string& model, std::int64_t latent_dim, const std::string& hidden);
// Gives the parameter `name` of `params` the default `value` (a command's own recipe, e.g.
// DEC's optimizer=sgd); a name that is not there is a bug in the command.
void set_default(std::vector<ParamSpec>& params, const std::string& name, const std::string& value);
// A ConvAutoencoder (model "conv") or an MLPAutoencoder (model "mlp", sizes from the `hidden`
// parameter; "dec" and "n2d": networks::dec_autoencoder / n2d_autoencoder), with the latent_dim
// parameter.
std::shared_ptr<algorithms::Autoencoder> make_autoencoder(const RunContext& ctx, const std::string& model,
                                                          const Shape& image_shape);

struct AutoencoderRun {
  std::shared_ptr<algorithms::Autoencoder> model;
  RunImages images;
  algorithms::TrainResult result;
  Tensor train_codes, test_codes;  // codes of every training row and of the test split
};
// The whole run of an autoencoder algorithm: trains with the objective (Adam with lr and
// weight_decay, early stopping on the validation loss), saves model.safetensors, measures
// test_loss (the objective on the test split) and test_mse (plain reconstruction error per
// pixel), draws reconstructions.png (inputs above outputs; for denoising: clean, noisy, output;
// for masking: original, masked, output), and the latent space and linear probe.
AutoencoderRun run_autoencoder(RunContext& ctx, const ObjectiveOptions& objective);

// `pretrained`: an autoencoder file to start from instead of pretraining one (the clustering
// commands: ae-kmeans, ae-gmm, n2d, dec, idec), so that one pretrained network serves them all,
// as the DEC, IDEC and N2D papers compare their methods on the same autoencoder.
ParamSpec pretrained_param();
// The autoencoder of a clustering command: run_autoencoder (training and everything it leaves)
// when `pretrained` is empty; else the network loaded from that file (load_autoencoder: an
// autoencoder, ae-*, n2d or dec run's model.safetensors or checkpoint.safetensors), in one process
// only, with the codes, latent-space figures and linear probe of run_autoencoder's end.
AutoencoderRun trained_or_pretrained_autoencoder(RunContext& ctx, const ObjectiveOptions& objective);
// The pretrained autoencoder alone (no codes, no figures): the images split as run_autoencoder
// splits them and the network from `path`, moved to the run's device. Refuses several ranks.
AutoencoderRun load_pretrained_autoencoder(RunContext& ctx, const std::string& path);

// ae-kmeans / ae-gmm: trained_or_pretrained_autoencoder, then cluster_autoencoder_codes.
void run_autoencoder_clustering(RunContext& ctx, const std::string& method);
// cluster_codes (algorithms/deep_clustering/latent_clustering.h) on the codes of every training
// row with `method` and the clustering_params; ctx.save_labels adds nmi/ari/acc and figures.
void cluster_autoencoder_codes(RunContext& ctx, const AutoencoderRun& run, const std::string& method);
// The parameters of run_autoencoder_clustering beyond the autoencoder's.
// (pretrained_param() comes beside them: these go to the clusterer by name.)
// n_init: the default number of restarts (ae-gmm uses 3: each EM run is costly).
std::vector<ParamSpec> clustering_params(const std::string& method, std::int64_t n_init = 10);

// ---- DEC and IDEC ----------------------------------------------------------------------------------

// The parameters of run_dec: the autoencoder's (model dec, latent_dim 10) and its pretraining
// (DEC's recipe: SGD lr 1, momentum 0.9, batch 256), then the clustering phase's.
std::vector<ParamSpec> dec_params(bool idec);
// `cake run dec` / `cake run idec` (algorithms/deep_clustering/dec.h): pretrains the autoencoder
// (run_autoencoder, everything it leaves) or loads the `pretrained` one, then runs DEC (IDEC with
// idec) on every training row. metrics.json: nmi/ari/acc of the final clusters (save_labels) and
// under "ae_kmeans" those of the k-means that placed the first centres; log.jsonl: one "refresh"
// line per refresh of the target; dec_sharpening.png; dec_checkpoint.safetensors (exact resume
// with --resume), dec_autoencoder.safetensors and soft_assignments.npy (q, [N, K]).
void run_dec(RunContext& ctx, bool idec);

// ---- VAEs --------------------------------------------------------------------------------------------

// The parameters of run_vae: latent_dim, hidden (mlp), beta, likelihood.
std::vector<ParamSpec> vae_params(const std::string& model, std::int64_t latent_dim, const std::string& likelihood);
// The whole run of a VAE algorithm (model "conv": ConvVAE, "mlp": MLPVAE): trains on the
// negative ELBO, saves model.safetensors, measures test_loss (negative ELBO per image) with its
// test_reconstruction and test_kl terms and test_mse (per pixel, decoding the posterior means),
// draws reconstructions.png, samples.png (decoded prior draws) and interpolation.png (rows of
// decoded straight lines between the posterior means of two test images), the latent space of
// the posterior means and the linear probe.
void run_vae(RunContext& ctx, const std::string& model);

}  // namespace cake::cli::networks
