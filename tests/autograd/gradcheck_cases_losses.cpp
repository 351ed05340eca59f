// Gradient-check rows for nn::functional: every loss, the similarity functions, softplus and
// linear. Class targets are int64 constants captured by the row; float targets are inputs, except
// the +-1 and 0/1 labels of the margin losses (constants: the losses are not smooth in them).
#include "gradcheck_table.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::inputs;
using cake::testing::positive_inputs;
using cake::testing::TensorList;
using Reduction = cake::nn::Reduction;

namespace {

// Probabilities kept inside (0.1, 0.9), so that log(p) and log(1 - p) are smooth.
TensorList probabilities(const std::vector<Shape>& shapes) {
  TensorList out;
  for (const Shape& s : shapes) out.push_back(rand(s, kFloat64) * 0.8 + 0.1);
  return out;
}

Tensor labels(std::vector<std::int64_t> v) { return tensor(v, {static_cast<std::int64_t>(v.size())}); }

// A constant float64 label tensor: +-1 signs or 0/1 memberships.
Tensor signs(std::vector<double> v, const Shape& shape) { return tensor(v, shape, kFloat64); }

}  // namespace

CAKE_GRADCHECK_CASES(losses) {
  return {
      // regression losses, with a non-contiguous input and each reduction
      {"mse_loss mean", [] { return inputs({{3, 4}, {3, 4}}); }, [](const TensorList& x) { return F::mse_loss(x[0], x[1]); }},
      {"mse_loss sum transposed", [] { return inputs({{4, 3}, {3, 4}}); },
       [](const TensorList& x) { return F::mse_loss(x[0].t(), x[1], Reduction::Sum); }},
      {"mse_loss none", [] { return inputs({{5}, {5}}); },
       [](const TensorList& x) { return F::mse_loss(x[0], x[1], Reduction::None); }},
      {"l1_loss", [] {
         TensorList x = inputs({{3, 4}});
         x.push_back(x[0] + (rand({3, 4}, kFloat64) * 0.8 + 0.2) * ((rand({3, 4}, kFloat64) > 0.5).to(kFloat64) * 2.0 - 1.0));
         return x;
       },  // |input - target| >= 0.2: differences never straddle the kink at 0
       [](const TensorList& x) { return F::l1_loss(x[0], x[1]); }},
      // differences spread over [-3, 3]: both pieces of each curve (and the seam at beta / delta,
      // where value and slope agree) are exercised
      {"smooth_l1_loss beta 0.5", [] { return TensorList{randn({3, 4}, kFloat64), randn({3, 4}, kFloat64)}; },
       [](const TensorList& x) { return F::smooth_l1_loss(x[0], x[1], Reduction::Mean, 0.5); }},
      {"smooth_l1_loss sum, options", [] { return TensorList{randn({6}, kFloat64), randn({6}, kFloat64)}; },
       [](const TensorList& x) { return F::smooth_l1_loss(x[0], x[1], F::SmoothL1LossFuncOptions(Reduction::Sum).beta(2.0)); }},
      {"huber_loss delta 0.7 none", [] { return TensorList{randn({5}, kFloat64), randn({5}, kFloat64)}; },
       [](const TensorList& x) { return F::huber_loss(x[0], x[1], Reduction::None, 0.7); }},
      // binary classification
      {"binary_cross_entropy", [] { return probabilities({{3, 4}, {3, 4}}); },
       [](const TensorList& x) { return F::binary_cross_entropy(x[0], x[1]); }},
      {"binary_cross_entropy weighted sum", [] { return probabilities({{6}, {6}, {6}}); },
       [](const TensorList& x) { return F::binary_cross_entropy(x[0], x[1], Reduction::Sum, x[2]); }},
      {"bce_with_logits", [] {
         TensorList x = inputs({{3, 4}});
         x.push_back(probabilities({{3, 4}})[0]);
         return x;
       },
       [](const TensorList& x) { return F::binary_cross_entropy_with_logits(x[0], x[1]); }},
      {"bce_with_logits pos_weight broadcast", [] {
         TensorList x = inputs({{3, 4}});
         TensorList p = probabilities({{3, 4}, {4}});
         x.insert(x.end(), p.begin(), p.end());
         return x;
       },
       [](const TensorList& x) {
         return F::binary_cross_entropy_with_logits(x[0], x[1], Reduction::None, {}, x[2] * 3.0);
       }},
      // multi-class classification
      {"cross_entropy", [] { return inputs({{4, 5}}); },
       [](const TensorList& x) { return F::cross_entropy(x[0], labels({0, 4, 2, 2})); }},
      {"cross_entropy weighted ignore_index", [] {
         TensorList x = inputs({{4, 3}});
         x.push_back(probabilities({{3}})[0]);
         return x;
       },
       [](const TensorList& x) { return F::cross_entropy(x[0], labels({1, -100, 2, 0}), Reduction::Mean, x[1]); }},
      {"cross_entropy non-contiguous, spatial", [] { return inputs({{2, 2, 3}}); },
       [](const TensorList& x) {
         return F::cross_entropy(x[0].transpose(1, 2), tensor(std::vector<std::int64_t>{0, 2, 1, 1}, {2, 2}), Reduction::Sum);
       }},
      {"cross_entropy probabilities", [] {
         TensorList x = inputs({{3, 4}});
         x.push_back(F::softmax(randn({3, 4}, kFloat64), 1));
         return x;
       },
       [](const TensorList& x) { return F::cross_entropy(x[0], x[1], Reduction::None); }},
      {"nll_loss", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) { return F::nll_loss(F::log_softmax(x[0], 1), labels({3, 0, 1}), Reduction::None); }},
      // divergences
      {"kl_div", [] {
         TensorList x = inputs({{3, 4}});
         x.push_back(F::softmax(randn({3, 4}, kFloat64), 1));
         return x;
       },
       [](const TensorList& x) { return F::kl_div(F::log_softmax(x[0], 1), x[1], Reduction::BatchMean); }},
      {"kl_div log_target", [] { return inputs({{3, 4}, {3, 4}}); },
       [](const TensorList& x) {
         return F::kl_div(F::log_softmax(x[0], 1), F::log_softmax(x[1], 1), Reduction::Sum, /*log_target=*/true);
       }},
      {"gaussian_kl", [] { return inputs({{4, 3}, {4, 3}}); },
       [](const TensorList& x) { return F::gaussian_kl(x[0], x[1], Reduction::None); }},
      {"gaussian_kl 4-d mean", [] { return inputs({{2, 2, 1, 3}, {2, 2, 1, 3}}); },
       [](const TensorList& x) { return F::gaussian_kl(x[0], x[1]); }},
      // margin and embedding losses
      {"triplet_margin_loss", [] { return inputs({{4, 3}, {4, 3}, {4, 3}}); },
       [](const TensorList& x) { return F::triplet_margin_loss(x[0], x[1], x[2], Reduction::None, 2.0); }},
      {"triplet_margin_loss p=1 swap", [] { return inputs({{4, 3}, {4, 3}, {4, 3}}); },
       [](const TensorList& x) {
         return F::triplet_margin_loss(x[0], x[1], x[2], F::TripletMarginLossFuncOptions().margin(1.5).p(1).swap(true));
       }},
      {"margin_ranking_loss", [] { return inputs({{6}, {6}}); },
       [](const TensorList& x) {
         return F::margin_ranking_loss(x[0], x[1], signs({1, -1, 1, 1, -1, -1}, {6}), Reduction::Sum, 0.5);
       }},
      {"cosine_embedding_loss", [] { return inputs({{4, 3}, {4, 3}}); },
       [](const TensorList& x) {
         return F::cosine_embedding_loss(x[0], x[1], signs({1, -1, -1, 1}, {4}), Reduction::None, -0.5);
       }},
      {"hinge_embedding_loss", [] { return inputs({{2, 4}}); },
       [](const TensorList& x) {
         return F::hinge_embedding_loss(x[0] * 2.0, signs({1, -1, -1, 1, -1, 1, -1, -1}, {2, 4}), Reduction::Mean, 1.5);
       }},
      {"soft_margin_loss", [] { return inputs({{2, 3}}); },
       [](const TensorList& x) { return F::soft_margin_loss(x[0] * 3.0, signs({1, -1, 1, -1, -1, 1}, {2, 3})); }},
      {"multilabel_soft_margin_loss weighted", [] { return inputs({{3, 4}, {4}}); },
       [](const TensorList& x) {
         return F::multilabel_soft_margin_loss(x[0], signs({1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0}, {3, 4}),
                                               Reduction::None, x[1]);
       }},
      // likelihood losses (variances and rates kept positive, above the eps floor)
      {"gaussian_nll_loss", [] {
         TensorList x = inputs({{4, 3}, {4, 3}});
         x.push_back(positive_inputs({{4, 3}})[0]);
         return x;
       },
       [](const TensorList& x) { return F::gaussian_nll_loss(x[0], x[1], x[2]); }},
      {"gaussian_nll_loss full, one variance per sample", [] {
         TensorList x = inputs({{4, 3}, {4, 3}});
         x.push_back(positive_inputs({{4}})[0]);
         return x;
       },
       [](const TensorList& x) { return F::gaussian_nll_loss(x[0], x[1], x[2], Reduction::Sum, /*full=*/true); }},
      {"poisson_nll_loss log_input full", [] { return inputs({{2, 3}}); },
       [](const TensorList& x) {
         return F::poisson_nll_loss(x[0], signs({0, 1, 2, 3, 4, 5}, {2, 3}), Reduction::None, true, /*full=*/true);
       }},
      {"poisson_nll_loss rates", [] { return positive_inputs({{2, 3}}); },
       [](const TensorList& x) {
         return F::poisson_nll_loss(x[0], signs({0, 1, 2, 3, 4, 5}, {2, 3}), Reduction::Mean, /*log_input=*/false);
       }},
      // similarities and contrastive losses
      {"normalize", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return F::normalize(x[0]); }},
      {"normalize p=3 dim 0", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return F::normalize(x[0], 3.0, 0); }},
      {"cosine_similarity broadcast", [] { return inputs({{3, 4}, {4}}); },
       [](const TensorList& x) { return F::cosine_similarity(x[0], x[1].unsqueeze(0)); }},
      {"info_nce queue", [] { return inputs({{3, 4}, {3, 4}, {5, 4}}); },
       [](const TensorList& x) { return F::info_nce(x[0], x[1], x[2], 0.5); }},
      {"info_nce per-query negatives", [] { return inputs({{2, 3}, {2, 3}, {2, 4, 3}}); },
       [](const TensorList& x) { return F::info_nce(x[0], x[1], x[2], 0.2, Reduction::None); }},
      {"info_nce in-batch", [] { return inputs({{4, 3}, {4, 3}}); },
       [](const TensorList& x) { return F::info_nce(x[0], x[1], {}, 0.3, Reduction::Sum); }},
      {"nt_xent", [] { return inputs({{3, 4}, {3, 4}}); },
       [](const TensorList& x) { return F::nt_xent(x[0], x[1], 0.5); }},
      // activations and layers defined in nn::functional
      {"softplus", [] { return inputs({{8}}); }, [](const TensorList& x) { return F::softplus(x[0] * 3.0); }},
      {"logsigmoid", [] { return inputs({{8}}); }, [](const TensorList& x) { return F::logsigmoid(x[0] * 3.0); }},
      {"linear", [] { return inputs({{5, 3}, {2, 3}, {2}}); },
       [](const TensorList& x) { return F::linear(x[0], x[1], x[2]); }},
      {"linear batched, no bias", [] { return inputs({{2, 4, 3}, {2, 3}}); },
       [](const TensorList& x) { return F::linear(x[0], x[1]); }},
      {"multi_margin_loss p=2 margin weight", [] { return inputs({{3, 4}, {4}}); },
       [](const TensorList& x) {
         const Tensor classes = tensor(std::vector<std::int64_t>{1, 0, 3}, {3});
         return F::multi_margin_loss(x[0] * 2.0, classes, nn::Reduction::Sum, 2, 0.7, x[1]);
       }},
      {"multilabel_margin_loss", [] { return inputs({{3, 4}}); },
       [](const TensorList& x) {
         const Tensor listed = tensor(std::vector<std::int64_t>{3, 0, -1, 1, 1, 2, 3, -1, 2, -1, 0, 0}, {3, 4});
         return F::multilabel_margin_loss(x[0] * 2.0, listed, nn::Reduction::None);
       }},
      {"triplet_margin_with_distance_loss, cosine distance, swap", [] { return inputs({{3, 5}, {3, 5}, {3, 5}}); },
       [](const TensorList& x) {
         const auto cosine = [](const Tensor& u, const Tensor& v) { return 1.0 - F::cosine_similarity(u, v); };
         return F::triplet_margin_with_distance_loss(x[0], x[1], x[2], cosine, 1.5, true, nn::Reduction::None);
       }},
  };
}
