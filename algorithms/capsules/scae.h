// scae.h: the Stacked Capsule Autoencoder (Kosiorek, Sabour, Teh & Hinton 2019, NeurIPS,
// "Stacked Capsule Autoencoders"): an image explained by parts (learned templates under affine
// poses), and the parts explained by objects (each object predicting every part's pose).
//
//   cake::manual_seed(0);                                             // the weights' draws
//   cake::capsules::SCAE scae({.image_size = 28, .n_part_caps = 40, .n_obj_caps = 32});
//   cake::capsules::SCAELoss terms = scae.loss(images);               // images [B, 1, 28, 28] in [0, 1]
//   terms.total.backward();                                           // the joint objective
//   cake::Tensor presences = scae.object_presences(images);          // [B, 32]: k-means on these
//
// Part Capsule Autoencoder (PCAE, section 2.1). A CNN gives every part capsule m a pose x_m (an
// affine transform, 6 numbers), a presence d_m and a special feature z_m. Each part owns a
// learned template T_m (11 x 11 here, as the paper); the pose moves it into the image
// (TransformImage, a spatial transformer: autograd/spatial.h), its colour c_m = MLP(z_m), and the
// image is a per-pixel mixture over the transformed templates (eq. 3-4):
//   p_{m,i,j} ∝ d_m T^a_{m,i,j}        (a learned alpha channel moved with the template)
//   p(y) = prod_{i,j} sum_m p_{m,i,j} N(y_{i,j} | c_m T^c_{m,i,j}; sigma_y^2)
// plus one background component of learned constant colour (as the released code). The log of
// this product is computed with log-softmax and log-sum-exp over m, never as a product.
//
// Object Capsule Autoencoder (OCAE, section 2.2). A Set Transformer (Lee et al. 2019) reads the
// part capsules (pose, presence, feature, template) and returns K object capsules; each gives
// an object-viewer relation OV_k, a feature c_k and a presence a_k (eq. 5). From c_k an MLP gives,
// for every part n, a relation OP_{k,n} (a learned static one plus a deformation), a presence
// a_{k,n} and a scale lambda_{k,n}; the candidate pose of part n is V_{k,n} = OV_k OP_{k,n}
// (eq. 6). The part likelihood (eq. 7):
//   p(x_{1:M}, d_{1:M}) = prod_m [ sum_k sum_n  a_k a_{k,n} / (sum_i a_i sum_j a_{i,j}) N(x_m | V_{k,n}, lambda_{k,n}) ]^{d_m}
// By default (tied_candidates, as the released image model) part m is explained only by the
// candidates n = m, so the sums run over k alone; a "dummy" component of fixed small weight and
// density (the released code's 0.01, 0.01) keeps the mixture defined when no object is present.
//
// Training (section 2.3 and the released code, github.com/google-research/google-research,
// stacked_capsule_autoencoders): maximise log p(y) + log p(x, d) jointly; the OCAE's inputs and
// targets stop the gradient into the PCAE (the parts are data for the objects), except the
// special features; sparsity losses on the object presences (section 2.4): the prior presences
// a_k^prior = max_n a_k a_{k,n} are pushed towards a fixed number per image and an equal share
// per batch (l2), the posterior part-to-object assignment towards few objects per image and all
// objects over the batch (entropies); an l2 penalty on the OP deformations. Uniform noise on the
// presence logits while training (the released code, width 4) makes presences nearly binary.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "cake/algorithms/train/trainer.h"
#include "cake/nn/attention.h"
#include "cake/nn/conv.h"
#include "cake/nn/linear.h"
#include "cake/nn/module.h"
#include "cake/nn/normalization.h"
#include "cake/tensor/tensor.h"

namespace cake::capsules {

// Defaults: the released MNIST run (run_mnist.sh, configs/model_config.py) where it names one.
struct SCAEOptions {
  std::int64_t image_size = 28;      // images are [B, channels, image_size, image_size]
  std::int64_t channels = 1;
  std::int64_t n_part_caps = 40;     // M
  std::int64_t n_part_features = 16; // special features z_m
  std::int64_t template_size = 11;
  std::int64_t encoder_width = 128;  // channels of the 4 conv layers (3x3, strides 2, 2, 1, 1)
  std::int64_t n_obj_caps = 32;      // K
  std::int64_t n_obj_features = 32;  // c_k
  std::int64_t set_layers = 3, set_heads = 1, set_dims = 16, set_output_dims = 256;
  std::int64_t obj_hidden = 128;
  bool tied_candidates = true;       // part m explained by candidates n = m only (see above)
  bool position_bias = true;         // the part encoder's learned bias per position (PartEncoder)
  // The part likelihood's mixing weights a_k a_{k,n}: normalised over the candidates as the
  // paper's eq. 7 (true), or the released code's raw log weights (false; part_log_likelihood).
  bool normalised_part_mixture = true;
  double presence_noise = 4.0;       // width of the uniform noise on presence logits (training)
  double pixel_std = 1.0;            // sigma_y (the released code fixes it at 1)
  // The loss weights of the released MNIST run.
  double part_ll_weight = 1.0;
  double dynamic_l2_weight = 10.0;
  double prior_within_weight = 2.0, prior_between_weight = 0.35;
  double prior_within_constant = 4.3;  // target sum_k a_k per image (0: K / n_classes)
  double posterior_within_weight = 0.7, posterior_between_weight = 0.2;
  std::int64_t n_classes = 10;         // the between-example target: B / n_classes per object
};

// ---- the maths, as free functions (each tested against a direct computation) ----------------

// Six pose parameters [..., 6] -> the affine transform [..., 6] = rows (a, b, t_x, c, d, t_y) of
// [[a, b, t_x], [c, d, t_y]]. Scales s = sigmoid(.) + 0.01, rotation 2 pi (.), shear and
// translation tanh(5 (.)) (the released code's geometric_transform):
//   a = s_x cos r + h s_y sin r,  b = -s_x sin r + h s_y cos r,  c = s_y sin r,  d = s_y cos r.
// Its determinant is s_x s_y > 0, so it is always invertible.
Tensor pose_to_affine(const Tensor& params);
// The inverse of affine transforms [..., 6], and the composition p o q (apply q, then p).
Tensor invert_affine(const Tensor& affine);
Tensor compose_affine(const Tensor& p, const Tensor& q);

// log p(y) per image [B] of the pixel mixture (eq. 3-4): image [B, C, H, W], component means
// [B, M, C, H, W], unnormalised log mixing weights [B, M, 1, H, W] (normalised here over m,
// per pixel), sigma the pixel standard deviation. The channels of a pixel share its component.
Tensor image_log_likelihood(const Tensor& image, const Tensor& means, const Tensor& log_weights, double sigma);

struct PartLikelihood {
  Tensor log_prob;   // [B]: sum_m d_m log sum_{k,n} pi_{k,n} N(x_m | V_{k,n}, lambda_{k,n})
  Tensor posterior;  // [B, K, M]: responsibility of object k for part m (the dummy left out)
};
// Eq. 7. parts x [B, M, P], part presences d [B, M], votes [B, K, N, P], scales [B, K, N],
// log_vote_presence log(a_k a_{k,n}) [B, K, N]. tied: N = M and part m uses candidates n = m.
// normalised: the mixing weights pi_{k,n} = a_k a_{k,n} / (sum of all, the dummy's 0.01 among
// them), as eq. 7; otherwise pi_{k,n} = a_k a_{k,n} and the dummy's 0.01 unnormalised, as the
// released code's CapsuleLikelihood computes log p (so its gradient raises every presence that
// explains a part, and only the sparsity terms hold the presences back). The posterior is the
// same either way (a normaliser cancels in it).
PartLikelihood part_log_likelihood(const Tensor& parts, const Tensor& part_presence, const Tensor& votes,
                                   const Tensor& scales, const Tensor& log_vote_presence, bool tied = true,
                                   bool normalised = true);

struct SparsityTerms {
  Tensor within, between;  // scalars
};
// Prior (l2) sparsity on presences [B, K]: within = sum_b (sum_k a_bk - within_constant)^2 / B,
// between = sum_k (sum_b a_bk - B / n_classes)^2 / K (both minimised).
SparsityTerms prior_sparsity(const Tensor& presence, double within_constant, std::int64_t n_classes);
// Posterior (entropy) sparsity on the mass each object explains [B, K]: within = the mean over
// images of the entropy of the normalised mass (minimised), between = the entropy of the mass
// summed over the batch, normalised (maximised).
SparsityTerms posterior_sparsity(const Tensor& mass);

// ---- the modules ----------------------------------------------------------------------------

struct PartCapsules {
  Tensor pose;            // [B, M, 6] affine transforms (template frame -> image frame)
  Tensor presence_logit;  // [B, M], with the training noise
  Tensor feature;         // [B, M, F]
};

// The PCAE encoder: 4 conv layers (3x3, no padding, strides 2, 2, 1, 1, ReLU), a learned bias per
// position and channel of their feature map (the released code's AddBias over [H, W, C]; zeros at
// the start), then per capsule an attention-weighted average over positions of a 1x1 conv's
// output (the released "conv_att"). Convolutions respond to what is in a window, not to where
// the window is; the position bias lets a capsule's pose depend on where its evidence lies.
class PartEncoder : public nn::Module {
 public:
  explicit PartEncoder(const SCAEOptions& options);
  PartCapsules encode(const Tensor& images);
  std::string name() const override { return "PartEncoder"; }

  SCAEOptions options;
  std::vector<std::shared_ptr<nn::Conv2d>> convs;
  Tensor position_bias;               // [1, encoder_width, h, w] (undefined without position_bias)
  std::shared_ptr<nn::Conv2d> head;  // M (6 + F + 1) capsule numbers + M attention logits
};

struct Rendering {
  Tensor means;        // [B, M + 1, C, H, W]: coloured transformed templates, then the background
  Tensor log_weights;  // [B, M + 1, 1, H, W]: log d_m + moved alpha; the background's constant
  Tensor transformed;  // [B, M, C, H, W]: the transformed templates before colouring
};

// The PCAE decoder: M learned templates with an alpha channel, their colours from the special
// features, moved into the image by the poses.
class TemplateDecoder : public nn::Module {
 public:
  explicit TemplateDecoder(const SCAEOptions& options);
  Tensor templates() const;  // [M, C, T, T] in (0, 1)
  Tensor colours(const Tensor& feature);  // [B, M, C] in (0, 1)
  Rendering render(const Tensor& pose, const Tensor& log_presence, const Tensor& feature);
  std::string name() const override { return "TemplateDecoder"; }

  SCAEOptions options;
  Tensor template_logits;  // [M, C, T, T]
  Tensor alpha;            // [M, 1, T, T], starts at 0
  Tensor background_logit, background_mixing;  // [1] each
  std::shared_ptr<nn::Linear> colour_hidden, colour_out;
};

// One Set Transformer block (Lee et al. 2019, ICML, "Set Transformer", SAB, with the released
// code's presence masking): h = LN(y + MLP(y)), y = LN(d * (x + MHA(x, x, x))).
class SetAttentionBlock : public nn::Module {
 public:
  SetAttentionBlock(std::int64_t dims, std::int64_t heads);
  Tensor forward(const Tensor& x, const Tensor& presence);  // x [B, M, dims], presence [B, M]
  std::string name() const override { return "SetAttentionBlock"; }

  std::shared_ptr<nn::MultiheadAttention> attention;
  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<nn::Linear> mlp1, mlp2;
};

// The OCAE encoder: linear -> set_layers SABs -> linear -> K learned seeds attending over the
// parts (pooling by multi-head attention, PMA): [B, M, in] -> [B, K, set_output_dims].
class SetTransformer : public nn::Module {
 public:
  SetTransformer(std::int64_t in_dims, const SCAEOptions& options);
  Tensor forward(const Tensor& parts, const Tensor& presence);
  std::string name() const override { return "SetTransformer"; }

  std::shared_ptr<nn::Linear> input, output;
  std::vector<std::shared_ptr<SetAttentionBlock>> blocks;
  Tensor seeds;  // [K, set_output_dims]
  std::shared_ptr<nn::MultiheadAttention> pool;
};

struct ObjectCapsules {
  Tensor feature;            // [B, K, n_obj_features]: c_k
  Tensor votes;              // [B, K, N, 6]: V_{k,n} = OV_k OP_{k,n}
  Tensor scales;             // [B, K, N]: lambda_{k,n}
  Tensor log_vote_presence;  // [B, K, N]: log a_k + log a_{k,n}
  Tensor presence;           // [B, K]: max_n a_k a_{k,n} (the prior presences)
  Tensor dynamic_l2;         // scalar: |OP deformations|^2 / (2 B)
};

// The OCAE decoder: per object capsule its own MLPs (the released BatchMLP: weights per capsule).
class ObjectDecoder : public nn::Module {
 public:
  ObjectDecoder(const SCAEOptions& options);
  ObjectCapsules decode(const Tensor& h);  // h [B, K, set_output_dims]
  std::string name() const override { return "ObjectDecoder"; }

  SCAEOptions options;
  Tensor w1, b1, w2, b2;  // c_k = W2 relu(W1 h_k + b1) + b2, per capsule
  Tensor w3, w4;          // the capsule's outputs = W4 relu(W3 [c_k, 1]), per capsule, no bias
  Tensor ov_bias, presence_bias, vote_presence_bias, scale_bias;
  Tensor op_static;       // [K, N, 6]: the learned static object-part relations
};

// The terms of the joint objective for one batch (means over the batch).
struct SCAELoss {
  Tensor total;                     // what training lowers
  Tensor image_ll, part_ll;         // mean log-likelihoods per image
  Tensor prior_within, prior_between, posterior_within, posterior_between, dynamic_l2;
  Tensor presences;                 // [B, K] prior object presences (detached)
  Tensor posterior_mass;            // [B, K] mass of the parts each object explains / M (detached)
};

class SCAE : public nn::Module {
 public:
  explicit SCAE(const SCAEOptions& options = {});
  SCAELoss loss(const Tensor& images);
  // The OCAE on encoded parts: the Set Transformer over the (gradient-stopped) part set, then
  // the object decoder.
  ObjectCapsules object_capsules(const PartCapsules& parts);
  // Object presences [N, K] of images, in evaluation mode without a graph, in batches: the
  // prior ones (a_k max_n a_kn, what the object capsules predict from the parts) ...
  Tensor object_presences(const Tensor& images, std::int64_t batch_size = 256);
  // ... and both kinds the released evaluation scores (its eval_mnist_model.py clusters each).
  struct Presences {
    Tensor prior;      // [N, K] as object_presences
    Tensor posterior;  // [N, K] the share of the parts each object explains, sum_m p(k | part m) / M
  };
  Presences presences(const Tensor& images, std::int64_t batch_size = 256);
  // The expected image under the part mixture, sum_m p_m mean_m, for figures: [B, C, H, W].
  Tensor reconstruct(const Tensor& images);
  std::string name() const override { return "SCAE"; }

  SCAEOptions options;
  std::shared_ptr<PartEncoder> part_encoder;
  std::shared_ptr<TemplateDecoder> template_decoder;
  std::shared_ptr<SetTransformer> set_transformer;
  std::shared_ptr<ObjectDecoder> object_decoder;
};

// ---- training and evaluation ------------------------------------------------------------------

// RMSProp with momentum, as the released run (run_mnist.sh: lr 3e-5, momentum 0.9; TensorFlow's
// decay 0.9). TensorFlow adds its epsilon 1e-2 / batch^2 under the square root; Cake's RMSprop
// adds it after, so eps = 0 here means 0.1 / batch_size, the same floor on the denominator.
struct SCAETrainOptions {
  double lr = 3e-5;
  // The lr is multiplied by lr_decay every decay_every epochs (train::StepDecay); 1: constant, as
  // the released run trains (its exponential schedule is computed but never handed to the
  // optimiser, model_config.py).
  double lr_decay = 1.0;
  std::int64_t decay_every = 10;
  double momentum = 0.9;
  double rmsprop_alpha = 0.9;
  double eps = 0.0;
  // > 0: every training image is placed on a black canvas x canvas canvas at a random position,
  // drawn anew at every step (random_canvas); the model's image_size must then be canvas. The
  // released MNIST run places the 28 x 28 digits on a 40 x 40 canvas, so that parts must move
  // with the object rather than sit as fixed blobs (on Fashion-MNIST it has not helped in a few
  // thousand steps: docs/algorithms/scae.md). 0: the images as they are.
  std::int64_t canvas = 0;
  // With canvas: false places every training image in the canvas's middle instead (the released
  // run's input size, and so its 5 x 5 encoder feature map for 28 x 28 images on 40 x 40, without
  // the shifts).
  bool canvas_shift = true;
};

// The released code's pad_and_shift (its data/preprocess.py): images [N, C, S, S] on a black
// canvas [N, C, canvas, canvas], each at an offset drawn uniformly from 0..canvas-S in each axis
// (from the global generator, so a checkpointed run resumes bit for bit) ...
Tensor random_canvas(const Tensor& images, std::int64_t canvas);
// ... or in the middle (evaluation: presences, reconstructions; the (canvas-S)/2 offset is
// rounded down when canvas-S is odd).
Tensor centred_canvas(const Tensor& images, std::int64_t canvas);

// One epoch's means over its training batches (a row of the CLI's log.jsonl).
struct SCAEEpoch {
  std::int64_t epoch = 0;
  double loss = 0.0, image_ll = 0.0, part_ll = 0.0;
  double prior_within = 0.0, prior_between = 0.0, posterior_within = 0.0, posterior_between = 0.0;
  double mean_presence = 0.0;  // mean prior object presence
  double seconds = 0.0;
};

// Trains on images [N, C, S, S] in [0, 1] (S = the model's image_size, or at most options.canvas
// when that is set) through the Trainer (train::TrainerOptions: epochs,
// batch_size, seed, checkpoint_path, resume_from, should_stop; no validation, so patience and
// restore_best are unused). The presence noise draws from the global generator, which the
// checkpoint saves, so a resumed run continues bit for bit. on_epoch_end runs after each
// epoch's checkpoint and gets the Trainer too (to move its checkpoints, say).
using SCAEEpochCallback = std::function<void(const SCAEEpoch&, train::Trainer&)>;
train::TrainResult fit(SCAE& model, const Tensor& images, const SCAETrainOptions& options,
                       const train::TrainerOptions& trainer, const SCAEEpochCallback& on_epoch_end = {});

// Unsupervised classification from object presences [N, K] (the paper's section 3.2): k-means
// with n_clusters, scored against labels [N] by NMI, ACC (Hungarian-matched) and ARI.
struct PresenceClustering {
  Tensor clusters;  // [N] int64
  double nmi = 0.0, acc = 0.0, ari = 0.0;
};
PresenceClustering cluster_presences(const Tensor& presences, const Tensor& labels, std::int64_t n_clusters,
                                     std::uint64_t seed);

}  // namespace cake::capsules
