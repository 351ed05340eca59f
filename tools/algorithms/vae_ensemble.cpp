// vae_ensemble.cpp: `cake run vae-ensemble`, VAEs on the frozen features of several pretrained
// encoders, their codes combined and clustered (Pastore 2025, "Unsupervised representations"
// (4) and (5): "train a generative model (e.g., a VAE) to compress deep features" of a
// pretrained model, and "ensembling VAEs trained on top of different models").
//
//   cake run vae-ensemble --data fashion-mnist:train --out runs/ens --set classifier_data=mnist:train
//
// Members, each an encoder that Cake trains itself in this command (member_epochs epochs):
//   conv        Bortoletto's (2021) convolutional autoencoder (networks::ConvAutoencoder), code
//               size feature_dim, on the run's images;
//   mlp         a fully connected autoencoder (networks::MLPAutoencoder, mlp_hidden), on the
//               run's images;
//   classifier  the same convolutional encoder trained as a classifier (64-unit head, NLL) on a
//               DIFFERENT labelled data set, classifier_data (a named set such as mnist:train, or
//               an .npy of 28x28 images with classifier_labels): the lecture's "pre-trained
//               model" whose features were learnt for another task. Without classifier_data
//               this member is skipped, and metrics.json says why.
// For each member the encoder is frozen, its features of every image are scaled to [0, 1] per
// dimension (min and max of the training rows), and an MLPVAE (vae_hidden, vae_latent,
// Gaussian likelihood) is trained on them for `epochs`; the member's code of an image is its
// posterior mean.
//
// How the codes are combined: by CONCATENATING each member's standardised codes and clustering
// the concatenation once (k-means or a GMM, `method`). Why this and not a consensus of the
// members' clusterings: the lecture's point is that the representation improves when the views
// of different models are put together; a concatenation lets one clusterer weigh every view's
// dimensions jointly (standardising gives each dimension the same scale, so no member dominates
// by the size of its numbers), whereas an agreement clustering only votes among partitions
// already made in each view, and its co-association matrix is N x N (4.9e9 entries for
// Fashion-MNIST's 70,000 images). Every member is also clustered alone with the same clusterer,
// so metrics.json and comparison.png show each member's NMI / ACC / ARI beside the ensemble's.
#include <algorithm>
#include <filesystem>

#include "cake/algorithms/deep_clustering/latent_clustering.h"
#include "cake/algorithms/networks/vae.h"
#include "cake/algorithms/train/finetune.h"
#include "cake/autograd/ops.h"
#include "cake/data/datasets.h"
#include "cake/data/npy.h"
#include "cake/distributed/data_parallel.h"
#include "cake/nn/functional.h"
#include "cake/optim/adam.h"
#include "cake/tensor/random.h"
#include "tools/algorithms/network_runs.h"
#include "tools/errors.h"
#include "tools/evaluation.h"
#include "tools/figures.h"
#include "tools/output.h"

namespace cake::cli {
namespace {

using namespace networks;
namespace fs = std::filesystem;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p{
      {"members", ParamType::String, "conv,mlp,classifier", "comma-separated members: conv, mlp, classifier"},
      {"feature_dim", ParamType::Int, "32", "size of the features the conv encoders (conv, classifier) give"},
      {"mlp_hidden", ParamType::IntList, "500,500,2000", "hidden sizes of the mlp member's autoencoder"},
      {"member_epochs", ParamType::Int, "10", "epochs of each member's encoder training (at least 1)"},
      {"classifier_data", ParamType::String, "",
       "labelled data for the classifier member, other than --data: a named set (mnist:train) or an .npy of images"},
      {"classifier_labels", ParamType::String, "", "labels (.npy) of classifier_data when it is an .npy file"},
      {"vae_hidden", ParamType::IntList, "256", "hidden sizes of each member's VAE"},
      {"vae_latent", ParamType::Int, "10", "code size of each member's VAE"},
      {"n_clusters", ParamType::Int, "10", "number of clusters"},
      {"method", ParamType::String, "kmeans", "the clusterer of each member and of the ensemble", {"kmeans", "gmm"}},
      {"n_init", ParamType::Int, "10", "restarts of the clusterer"}};
  return with_training_params(p, {.epochs = 20, .batch_size = 256, .lr = 1e-3, .weight_decay = 0.0, .patience = 0});
}

std::vector<std::string> split_members(const std::string& text) {
  std::vector<std::string> members;
  std::string current;
  for (char c : text + ",") {
    if (c == ',') {
      if (!current.empty()) members.push_back(current);
      current.clear();
    } else if (c != ' ') {
      current += c;
    }
  }
  for (const std::string& m : members)
    if (m != "conv" && m != "mlp" && m != "classifier")
      throw UsageError("vae-ensemble: unknown member '" + m + "' (members are conv, mlp, classifier)");
  if (members.empty()) throw UsageError("vae-ensemble: members is empty");
  return members;
}

// Trains `model` with its own checkpoint (<name>_checkpoint.safetensors), a log line per epoch
// tagged with the phase, and a progress bar; a NaN stops the run, an interruption throws.
void train_phase(RunContext& ctx, const std::string& name, nn::Module& model, optim::Optimizer& optimizer,
                 const algorithms::BatchLoss& loss, std::shared_ptr<const data::Dataset> train,
                 std::shared_ptr<const data::Dataset> validation, std::int64_t epochs, const std::string& resume_dir) {
  const std::string checkpoint = name + "_checkpoint.safetensors";
  std::string resume;
  if (!resume_dir.empty() && fs::exists(fs::path(resume_dir) / checkpoint)) resume = (fs::path(resume_dir) / checkpoint).string();
  algorithms::TrainerOptions options{.epochs = epochs,
                                     .batch_size = ctx.params.get_int("batch_size"),
                                     .patience = 0,
                                     .seed = ctx.seed,
                                     .checkpoint_path = ctx.path(checkpoint).string(),
                                     .resume_from = resume,
                                     .should_stop = ctx.stop_requested};
  apply_device_training_params(ctx, options);
  const auto ddp = data_parallel(ctx, model, options, train->size());  // under mpirun
  algorithms::Trainer trainer(model, optimizer, loss, options);
  ctx.progress->start(name + " epoch", epochs);
  trainer.on_epoch_end([&](const algorithms::EpochStats& s) {
    if (ctx.publish) {
      ctx.publish();
      // (Under mpirun only rank 0 writes checkpoints: the others have no path to follow.)
      if (!trainer.options().checkpoint_path.empty()) trainer.set_checkpoint_path(ctx.path(checkpoint).string());
    }
    ctx.log({{"phase", name}, {"phase_epoch", s.epoch}, {"train_loss", s.train_loss}, {"epoch_time_s", s.seconds}});
    ctx.progress->update(s.epoch, {{"train", s.train_loss}});
  });
  const algorithms::TrainResult result = trainer.fit(std::move(train), std::move(validation));
  ctx.progress->finish();
  if (result.stop_reason == algorithms::StopReason::Interrupted) throw RunInterrupted(result.message);
  CAKE_CHECK(result.stop_reason != algorithms::StopReason::NonFiniteLoss, "vae-ensemble: ", name, ": ", result.message);
  ctx.metrics[name + "_train_loss"] = result.history.back().train_loss;
}

// The labelled images of classifier_data: a named set, or an .npy of images with its labels.
data::LabeledData classifier_data(const RunContext& ctx) {
  const std::string& spec = ctx.params.get_string("classifier_data");
  if (data::is_named_dataset(spec)) return data::load_named(spec);
  const std::string& labels = ctx.params.get_string("classifier_labels");
  if (labels.empty()) throw UsageError("vae-ensemble: classifier_data=" + spec + " is a file: give its labels as classifier_labels=<.npy>");
  data::LabeledData d;
  d.images = data::read_npy(spec).to(kFloat32);
  d.labels = data::read_npy(labels).to(kInt64);
  if (d.images.dim() == 3) d.images = d.images.unsqueeze(1);
  CAKE_CHECK(d.images.size(0) == d.labels.size(0), "vae-ensemble: ", spec, " holds ", d.images.size(0), " images but ",
             labels, " holds ", d.labels.size(0), " labels");
  return d;
}

void run(RunContext& ctx) {
  const RunImages images = run_images(ctx);
  const std::vector<std::string> members = split_members(ctx.params.get_string("members"));
  const std::int64_t member_epochs = ctx.params.get_int("member_epochs");
  if (member_epochs < 1) throw UsageError("vae-ensemble: member_epochs must be at least 1, got " + std::to_string(member_epochs));
  const std::int64_t feature_dim = ctx.params.get_int("feature_dim");
  const Device device = ctx.device;
  const algorithms::TrainerOptions vae_options = trainer_options(ctx);  // checks epochs, resume
  const std::string resume_dir =
      vae_options.resume_from.empty() ? "" : fs::path(vae_options.resume_from).parent_path().string();
  const double lr = ctx.params.get_float("lr");

  // The classifier member's data first: a missing file fails before any training.
  const bool wants_classifier = std::find(members.begin(), members.end(), "classifier") != members.end();
  const data::LabeledData other = wants_classifier && !ctx.params.get_string("classifier_data").empty()
                                      ? classifier_data(ctx) : data::LabeledData{};

  std::vector<std::string> used;
  std::vector<Tensor> member_codes;  // the VAE codes of every training row, per member
  nlohmann::json skipped = nlohmann::json::object();
  for (std::size_t index = 0; index < members.size(); ++index) {
    const std::string& member = members[index];
    // Each member draws from a stream of its own, so its weights and batches do not depend on
    // how many epochs the members before it trained: a run resumed with more `epochs` ends
    // where an uninterrupted one does.
    manual_seed(ctx.seed ^ (0x9E3779B97F4A7C15ULL * (index + 1)));
    // ---- 1. the member's encoder, trained here ------------------------------------------------
    std::shared_ptr<nn::Module> encoder;
    if (member == "classifier") {
      if (!other.images.defined()) {
        const std::string why = "no classifier_data given (e.g. --set classifier_data=mnist:train, a labelled set other than --data)";
        ctx.progress->message("vae-ensemble: member 'classifier' skipped: " + why);
        skipped[member] = why;
        continue;
      }
      const Shape other_shape = other.images.sizes();
      CAKE_CHECK(other.images.dim() == 4 && Shape(other_shape.begin() + 1, other_shape.end()) == images.image_shape,
                 "vae-ensemble: classifier_data has images of shape ", other.images.sizes(), ", the run's are [N, ",
                 images.image_shape, "]");
      const std::int64_t classes = other.labels.max().item<std::int64_t>() + 1;
      auto conv = std::make_shared<algorithms::ConvAutoencoder>(feature_dim, images.image_shape);
      auto classifier = std::make_shared<algorithms::EncoderClassifier>(conv->encoder(), feature_dim, classes, 64, false);
      classifier->to(device);
      optim::Adam adam(classifier->parameters(), {.lr = lr});
      train_phase(ctx, "classifier", *classifier, adam,
                  [&](const data::Batch& b) {
                    return nn::functional::nll_loss(classifier->forward(b.x.to(device)), b.y.to(device));
                  },
                  dataset(other.images, other.labels), nullptr, member_epochs, resume_dir);
      encoder = conv->encoder();
    } else {
      std::shared_ptr<algorithms::Autoencoder> ae;
      if (member == "conv") ae = std::make_shared<algorithms::ConvAutoencoder>(feature_dim, images.image_shape);
      else ae = std::make_shared<algorithms::MLPAutoencoder>(ctx.params.get_int_list("mlp_hidden"), feature_dim, images.image_shape);
      ae->to(device);
      optim::Adam adam(ae->parameters(), {.lr = lr});
      train_phase(ctx, member, *ae, adam,
                  [&](const data::Batch& b) { return algorithms::reconstruction_loss(*ae, b.x.to(device)); },
                  dataset(images.train), nullptr, member_epochs, resume_dir);
      encoder = ae->encoder();
    }

    // ---- 2. frozen features, scaled to [0, 1] per dimension by the training rows -----------------
    encoder->eval();
    const Tensor features = algorithms::map_batches([&](const Tensor& x) { return encoder->forward(x); }, images.all);
    const std::int64_t d = features.size(1);
    const Tensor lo = std::get<0>(features.min(0, true)), hi = std::get<0>(features.max(0, true));
    const Tensor scaled = ((features - lo) / (hi - lo + 1e-8)).reshape({features.size(0), 1, 1, d});
    const Tensor train_rows = index_select(scaled, 0, algorithms::train_validation_split(
                                                          scaled.size(0), ctx.params.get_float("val_fraction"), ctx.seed)
                                                          .first.to(device));

    // ---- 3. a VAE on them --------------------------------------------------------------------------
    auto vae = std::make_shared<algorithms::MLPVAE>(ctx.params.get_int_list("vae_hidden"), ctx.params.get_int("vae_latent"),
                                                    Shape{1, 1, d});
    vae->to(device);
    optim::Adam adam(vae->parameters(), {.lr = lr, .weight_decay = ctx.params.get_float("weight_decay")});
    const algorithms::VAELossOptions gaussian{.likelihood = algorithms::Likelihood::Gaussian};
    train_phase(ctx, member + "_vae", *vae, adam,
                [&](const data::Batch& b) { return algorithms::vae_loss(*vae, b.x.to(device), gaussian).total; },
                dataset(train_rows), nullptr, vae_options.epochs, resume_dir);
    member_codes.push_back(algorithms::encode_mean_all(*vae, scaled).cpu());
    used.push_back(member);
  }
  CAKE_CHECK(!used.empty(), "vae-ensemble: every member was skipped (", skipped.dump(), ")");
  if (!skipped.empty()) ctx.metrics["members_skipped"] = skipped;
  ctx.metrics["members"] = used;

  // ---- 4. cluster each member, then the concatenation of the standardised codes ---------------------
  const deep_clustering::LatentClusteringOptions clustering{.method = ctx.params.get_string("method"),
                                                            .n_clusters = ctx.params.get_int("n_clusters"),
                                                            .n_init = ctx.params.get_int("n_init"),
                                                            .covariance_type = "diag",
                                                            .seed = ctx.seed};
  std::vector<std::string> categories;
  figures::Series bars{{"NMI", {}}, {"ACC", {}}, {"ARI", {}}};
  std::vector<Tensor> standardised;
  for (std::size_t m = 0; m < used.size(); ++m) {
    ctx.progress->message("clustering the codes of member " + used[m] + " ...");
    const Tensor labels = deep_clustering::cluster_codes(member_codes[m], clustering);
    standardised.push_back(deep_clustering::standardize_columns(member_codes[m]));
    if (!ctx.labels.defined()) continue;
    const nlohmann::json scores = clustering_scores(ctx.labels, labels);
    for (const char* key : {"nmi", "acc", "ari"}) ctx.metrics["member_" + used[m] + "_" + key] = scores[key];
    categories.push_back(used[m]);
    bars[0].second.push_back(scores["nmi"].get<double>());
    bars[1].second.push_back(scores["acc"].get<double>());
    bars[2].second.push_back(scores["ari"].get<double>());
  }
  ctx.progress->message("clustering the concatenated codes of " + std::to_string(used.size()) + " members ...");
  const Tensor combined = cat(standardised, 1);
  ctx.save_embedding(combined, "embedding");
  ctx.save_labels(deep_clustering::cluster_codes(combined, clustering));  // nmi / acc / ari of the ensemble
  if (ctx.labels.defined()) {
    categories.push_back("ensemble");
    bars[0].second.push_back(ctx.metrics["nmi"].get<double>());
    bars[1].second.push_back(ctx.metrics["acc"].get<double>());
    bars[2].second.push_back(ctx.metrics["ari"].get<double>());
    write_figure(ctx, "comparison.png", figures::bar_plot("vae-ensemble: each member and the ensemble", "score", categories, bars));
  }
}

CAKE_REGISTER_ALGORITHM({
    .name = "vae-ensemble",
    .summary = "VAEs on the frozen features of several pretrained encoders, codes concatenated and clustered",
    .reference = "Pastore 2025 (unsupervised representations 4-5); Kingma & Welling 2014",
    .params = params(),
    .run = run,
    .example = "cake run vae-ensemble --data fashion-mnist:train:2000 --out runs/ens --set members=conv,mlp member_epochs=1 epochs=1",
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli
