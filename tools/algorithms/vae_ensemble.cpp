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
// and, through feature_members, any number of members whose frozen features were computed
// elsewhere: name=file.npy pairs, one row per image of --data in its order, such as the
// features.npy that `cake run deepcluster` and `cake run moco` write for their --data (the
// lecture's "different models": DeepCluster's and MoCo's backbones take hours to train, so
// they are trained once by their own commands and their features reused here).
// For each member the encoder is frozen, its features of every image are put on the unit sphere
// (feature_norm=l2) and scaled to [0, 1] per dimension (min and max over the images), and an
// MLPVAE (vae_hidden, vae_latent, Gaussian likelihood) is trained on them for `epochs`; the
// member's code of an image is its posterior mean. The KL term's weight vae_beta is 0.01: the
// Gaussian likelihood -log N(x; x_hat, sigma^2 I) is sum (x - x_hat)^2 / (2 sigma^2) + const,
// so weighting the KL by beta = 2 sigma^2 assumes a noise of sigma ~ 0.07 on features in [0, 1];
// at beta = 1 (sigma ~ 0.7, the scale of the features themselves) the KL term outweighs what
// most code dimensions save, and the codes keep little of the features (measured in
// docs/algorithms/vae_ensemble.md).
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
// n2d=true clusters the concatenation once more as N2D does (UMAP, then a GMM: n2d_nmi, ...).
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
#include "tools/algorithms/deep_clustering_runs.h"
#include "tools/algorithms/network_runs.h"
#include "tools/errors.h"
#include "tools/evaluation.h"
#include "tools/figures.h"
#include "tools/output.h"

namespace cake::cli::vae_ensemble_command {
namespace {

using namespace networks;
namespace fs = std::filesystem;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p{
      {"members", ParamType::String, "conv,mlp,classifier",
       "comma-separated members trained in this command: conv, mlp, classifier (none: only feature_members)"},
      {"feature_members", ParamType::String, "",
       "members whose frozen features come from files: comma-separated name=features.npy pairs, one row per image "
       "of --data in its order (e.g. deepcluster=runs/dc/features.npy, the features.npy of `cake run deepcluster` "
       "or `cake run moco` on the same --data)"},
      {"feature_dim", ParamType::Int, "32", "size of the features the conv encoders (conv, classifier) give"},
      {"mlp_hidden", ParamType::IntList, "500,500,2000", "hidden sizes of the mlp member's autoencoder"},
      {"member_epochs", ParamType::Int, "10", "epochs of each member's encoder training (at least 1)"},
      {"classifier_data", ParamType::String, "",
       "labelled data for the classifier member, other than --data: a named set (mnist:train) or an .npy of images"},
      {"classifier_labels", ParamType::String, "", "labels (.npy) of classifier_data when it is an .npy file"},
      {"vae_hidden", ParamType::IntList, "256", "hidden sizes of each member's VAE"},
      {"vae_latent", ParamType::Int, "10", "code size of each member's VAE"},
      {"vae_beta", ParamType::Float, "0.01",
       "weight of each VAE's KL term: 2 sigma^2 of the Gaussian likelihood on features scaled to [0, 1] (1 lets the "
       "KL term erase most of the features; docs/algorithms/vae_ensemble.md)"},
      {"feature_norm", ParamType::String, "l2",
       "each member's features before the [0, 1] scaling: l2 (every row to unit length, the cosine geometry the "
       "features are compared in) or none",
       {"l2", "none"}},
      {"n_clusters", ParamType::Int, "10", "number of clusters"},
      {"method", ParamType::String, "kmeans", "the clusterer of each member and of the ensemble", {"kmeans", "gmm"}},
      {"n_init", ParamType::Int, "10", "restarts of the clusterer"}};
  // N2D's UMAP + GMM on the concatenated codes too (n2d=true); no pixels' view by default.
  for (ParamSpec& spec : deep_runs::n2d_params(0)) p.push_back(spec);
  return with_training_params(p, {.epochs = 20, .batch_size = 256, .lr = 1e-3, .weight_decay = 0.0, .patience = 0});
}

// Splits "a,b, c" into its non-empty, space-free items.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string current;
  for (char c : text + ",") {
    if (c == ',') {
      if (!current.empty()) items.push_back(current);
      current.clear();
    } else if (c != ' ') {
      current += c;
    }
  }
  return items;
}

const std::vector<std::string> kTrainedMembers{"conv", "mlp", "classifier"};

bool is_trained_member(const std::string& name) {
  return std::find(kTrainedMembers.begin(), kTrainedMembers.end(), name) != kTrainedMembers.end();
}

std::vector<std::string> split_members(const std::string& text) {
  if (text == "none") return {};
  std::vector<std::string> members = split_list(text);
  for (const std::string& m : members)
    if (!is_trained_member(m))
      throw UsageError("vae-ensemble: unknown member '" + m + "' (members are conv, mlp, classifier, or none; " +
                       "features computed elsewhere join through feature_members=name=file.npy)");
  return members;
}

// A member whose frozen features were computed by another command (feature_members).
struct FeatureMember {
  std::string name;
  std::string path;
};

// Parses feature_members ("name=file.npy,name=file.npy"). A name is letters, digits and '_'
// (it names the member's checkpoint and metrics), and is neither a trained member's nor repeated.
std::vector<FeatureMember> split_feature_members(const std::string& text) {
  std::vector<FeatureMember> members;
  for (const std::string& item : split_list(text)) {
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw UsageError("vae-ensemble: feature_members takes name=file.npy pairs, got '" + item + "'");
    FeatureMember m{item.substr(0, eq), item.substr(eq + 1)};
    const bool plain = std::all_of(m.name.begin(), m.name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!plain) throw UsageError("vae-ensemble: a feature member's name is letters, digits and '_', got '" + m.name + "'");
    const bool taken = is_trained_member(m.name) || std::any_of(members.begin(), members.end(),
                                                                [&](const FeatureMember& o) { return o.name == m.name; });
    if (taken)
      throw UsageError("vae-ensemble: feature_members: the name '" + m.name +
                       "' is taken (by a trained member or an earlier feature member); give each member its own name");
    members.push_back(std::move(m));
  }
  return members;
}

// The frozen features in a feature member's file, as float32 rows [N, d] on the run's device:
// one row per image of --data, checked before any training.
Tensor read_member_features(const RunContext& ctx, const FeatureMember& member, std::int64_t rows) {
  const Tensor features = data::read_npy(member.path);
  if (features.dim() < 2 || features.size(0) != rows)
    throw UsageError("vae-ensemble: feature member '" + member.name + "': " + member.path + " has shape " +
                     shape_str(features.sizes()) + ", but --data has " + std::to_string(rows) +
                     " images: it needs one row of features per image, in the same order");
  return features.reshape({rows, -1}).to(kFloat32).to(ctx.device);
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

// What every member's phases share.
struct EnsembleRun {
  RunImages images;
  data::LabeledData other;          // classifier_data, when given
  std::int64_t member_epochs = 0;
  std::int64_t vae_epochs = 0;
  double vae_beta = 1.0;            // the KL term's weight
  bool l2_rows = false;             // feature_norm=l2
  std::string resume_dir;           // the folder of a run being resumed ("" for a new run)
};

// ---- 1. a trained member's encoder, trained here; its frozen features of every image ------------
// Returns no tensor when the member is skipped (the classifier without classifier_data), with
// the reason in `why_skipped`.
Tensor trained_member_features(RunContext& ctx, const EnsembleRun& run, const std::string& member,
                               std::string& why_skipped) {
  const Device device = ctx.device;
  const std::int64_t feature_dim = ctx.params.get_int("feature_dim");
  const double lr = ctx.params.get_float("lr");
  const Shape& image_shape = run.images.image_shape;
  std::shared_ptr<nn::Module> encoder;
  if (member == "classifier") {
    const data::LabeledData& other = run.other;
    if (!other.images.defined()) {
      why_skipped = "no classifier_data given (e.g. --set classifier_data=mnist:train, a labelled set other than --data)";
      return {};
    }
    const Shape other_shape = other.images.sizes();
    CAKE_CHECK(other.images.dim() == 4 && Shape(other_shape.begin() + 1, other_shape.end()) == image_shape,
               "vae-ensemble: classifier_data has images of shape ", other.images.sizes(), ", the run's are [N, ",
               image_shape, "]");
    const std::int64_t classes = other.labels.max().item<std::int64_t>() + 1;
    auto conv = std::make_shared<algorithms::ConvAutoencoder>(feature_dim, image_shape);
    auto classifier = std::make_shared<algorithms::EncoderClassifier>(conv->encoder(), feature_dim, classes, 64, false);
    classifier->to(device);
    optim::Adam adam(classifier->parameters(), {.lr = lr});
    train_phase(ctx, "classifier", *classifier, adam,
                [&](const data::Batch& b) {
                  return nn::functional::nll_loss(classifier->forward(b.x.to(device)), b.y.to(device));
                },
                dataset(other.images, other.labels), nullptr, run.member_epochs, run.resume_dir);
    encoder = conv->encoder();
  } else {
    std::shared_ptr<algorithms::Autoencoder> ae;
    if (member == "conv") ae = std::make_shared<algorithms::ConvAutoencoder>(feature_dim, image_shape);
    else ae = std::make_shared<algorithms::MLPAutoencoder>(ctx.params.get_int_list("mlp_hidden"), feature_dim, image_shape);
    ae->to(device);
    optim::Adam adam(ae->parameters(), {.lr = lr});
    train_phase(ctx, member, *ae, adam,
                [&](const data::Batch& b) { return algorithms::reconstruction_loss(*ae, b.x.to(device)); },
                dataset(run.images.train), nullptr, run.member_epochs, run.resume_dir);
    encoder = ae->encoder();
  }
  encoder->eval();
  return algorithms::map_batches([&](const Tensor& x) { return encoder->forward(x); }, run.images.all);
}

// ---- 2. frozen features scaled to [0, 1] per dimension; 3. a VAE on them -------------------------
// Returns the VAE's posterior means of every image: the member's codes.
Tensor vae_codes(RunContext& ctx, const EnsembleRun& run, const std::string& member, const Tensor& frozen) {
  const Tensor features = run.l2_rows ? nn::functional::normalize(frozen, 2.0, 1) : frozen;
  const std::int64_t d = features.size(1);
  const Tensor lo = std::get<0>(features.min(0, true)), hi = std::get<0>(features.max(0, true));
  const Tensor scaled = ((features - lo) / (hi - lo + 1e-8)).reshape({features.size(0), 1, 1, d});
  const Tensor train_rows = index_select(scaled, 0, algorithms::train_validation_split(
                                                        scaled.size(0), ctx.params.get_float("val_fraction"), ctx.seed)
                                                        .first.to(ctx.device));
  auto vae = std::make_shared<algorithms::MLPVAE>(ctx.params.get_int_list("vae_hidden"), ctx.params.get_int("vae_latent"),
                                                  Shape{1, 1, d});
  vae->to(ctx.device);
  optim::Adam adam(vae->parameters(), {.lr = ctx.params.get_float("lr"), .weight_decay = ctx.params.get_float("weight_decay")});
  const algorithms::VAELossOptions gaussian{.beta = run.vae_beta, .likelihood = algorithms::Likelihood::Gaussian};
  train_phase(ctx, member + "_vae", *vae, adam,
              [&](const data::Batch& b) { return algorithms::vae_loss(*vae, b.x.to(ctx.device), gaussian).total; },
              dataset(train_rows), nullptr, run.vae_epochs, run.resume_dir);
  return algorithms::encode_mean_all(*vae, scaled).cpu();
}

void run(RunContext& ctx) {
  EnsembleRun run;
  run.images = run_images(ctx);
  const std::vector<std::string> members = split_members(ctx.params.get_string("members"));
  const std::vector<FeatureMember> feature_members = split_feature_members(ctx.params.get_string("feature_members"));
  if (members.empty() && feature_members.empty())
    throw UsageError("vae-ensemble: no members: give members (conv, mlp, classifier) and/or feature_members");
  run.member_epochs = ctx.params.get_int("member_epochs");
  if (run.member_epochs < 1)
    throw UsageError("vae-ensemble: member_epochs must be at least 1, got " + std::to_string(run.member_epochs));
  const algorithms::TrainerOptions vae_options = trainer_options(ctx);  // checks epochs, resume
  run.vae_epochs = vae_options.epochs;
  run.vae_beta = ctx.params.get_float("vae_beta");
  if (!(run.vae_beta > 0.0)) throw UsageError("vae-ensemble: vae_beta must be positive, got " + std::to_string(run.vae_beta));
  run.l2_rows = ctx.params.get_string("feature_norm") == "l2";
  deep_runs::check_n2d_params(ctx);
  run.resume_dir = vae_options.resume_from.empty() ? "" : fs::path(vae_options.resume_from).parent_path().string();

  // The files first (the classifier's data, the feature members' rows): a missing or mismatched
  // file fails before any training.
  const bool wants_classifier = std::find(members.begin(), members.end(), "classifier") != members.end();
  if (wants_classifier && !ctx.params.get_string("classifier_data").empty()) run.other = classifier_data(ctx);
  std::vector<Tensor> file_features;
  for (const FeatureMember& m : feature_members)
    file_features.push_back(read_member_features(ctx, m, run.images.all.size(0)));

  std::vector<std::string> used;
  std::vector<Tensor> member_codes;  // the VAE codes of every image, per member
  nlohmann::json skipped = nlohmann::json::object();
  // Each member draws from a stream of its own, so its weights and batches do not depend on how
  // many epochs the members before it trained: a run resumed with more `epochs` ends where an
  // uninterrupted one does.
  auto member_stream = [&](std::size_t index) { manual_seed(ctx.seed ^ (0x9E3779B97F4A7C15ULL * (index + 1))); };
  for (std::size_t index = 0; index < members.size(); ++index) {
    const std::string& member = members[index];
    member_stream(index);
    std::string why_skipped;
    const Tensor features = trained_member_features(ctx, run, member, why_skipped);
    if (!features.defined()) {
      ctx.progress->message("vae-ensemble: member '" + member + "' skipped: " + why_skipped);
      skipped[member] = why_skipped;
      continue;
    }
    member_codes.push_back(vae_codes(ctx, run, member, features));
    used.push_back(member);
  }
  for (std::size_t j = 0; j < feature_members.size(); ++j) {
    member_stream(members.size() + j);
    ctx.progress->message("vae-ensemble: member '" + feature_members[j].name + "': features of " + feature_members[j].path);
    member_codes.push_back(vae_codes(ctx, run, feature_members[j].name, file_features[j]));
    file_features[j] = Tensor();  // the VAE's codes replace the (possibly wide) features
    used.push_back(feature_members[j].name);
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
  if (ctx.params.get_bool("n2d"))
    deep_runs::n2d_scores(ctx, combined.to(kFloat64), Tensor(), ctx.params.get_int("n_clusters"));
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
}  // namespace cake::cli::vae_ensemble_command
