// Tests for the margin, embedding and likelihood losses (nn/loss.h, nn/functional.h:
// TripletMarginLoss, MarginRankingLoss, CosineEmbeddingLoss, HingeEmbeddingLoss, SoftMarginLoss,
// MultiLabelSoftMarginLoss, GaussianNLLLoss, PoissonNLLLoss): known answers computed once with
// PyTorch 1.13 for every reduction and the options (inputs by the formulas of
// nn/pytorch_reference.h; the script follows), the module and F:: spellings, errors. The
// finite-difference rows are in tests/autograd/gradcheck_cases_losses.cpp.
//
// The known answers came from (float64; inputs_of and pattern as in tests/nn/test_rnn.cpp; r runs
// over "none", "mean", "sum" for the names ending in _none, _mean, _sum):
//   an, po, ne = inputs_of((4, 5), 11), inputs_of((4, 5), 12), inputs_of((4, 5), 13)
//   triplet_r = F.triplet_margin_loss(an, po, ne, reduction=r)
//   triplet_swap_r = F.triplet_margin_loss(an, po, ne, margin=0.5, p=1, swap=True, reduction=r)
//   x1, x2, y = inputs_of((6,), 21), inputs_of((6,), 22), torch.tensor([1., -1., 1., 1., -1., -1.])
//   margin_ranking_r = F.margin_ranking_loss(x1, x2, y, margin=0.3, reduction=r)
//   margin_ranking_default = F.margin_ranking_loss(x1, x2, y)
//   e1, e2, ey = inputs_of((4, 5), 31), inputs_of((4, 5), 32), torch.tensor([1., -1., -1., 1.])
//   cosine_embedding_r = F.cosine_embedding_loss(e1, e2, ey, margin=0.2, reduction=r)
//   cosine_embedding_default = F.cosine_embedding_loss(e1, e2, ey)
//   hx, hy = inputs_of((2, 3), 41) * 2, torch.tensor([[1., -1., 1.], [-1., -1., 1.]])
//   hinge_embedding_r = F.hinge_embedding_loss(hx, hy, reduction=r)
//   hinge_embedding_margin = F.hinge_embedding_loss(hx, hy, margin=0.5, reduction="none")
//   gi, gt = inputs_of((4, 3), 51), inputs_of((4, 3), 52)
//   gv = inputs_of((4, 3), 53).abs() + 0.1; gv[0, 0] = 1e-8   # below eps: clamped
//   gaussian_nll_r = F.gaussian_nll_loss(gi, gt, gv, reduction=r)
//   gaussian_nll_full = F.gaussian_nll_loss(gi, gt, gv, full=True, reduction="none")
//   gaussian_nll_var_column = F.gaussian_nll_loss(gi, gt, gv[:, :1])
//   gaussian_nll_var_vector = F.gaussian_nll_loss(gi, gt, gv[:, 1], reduction="sum")
//   gaussian_nll_eps = F.gaussian_nll_loss(gi, gt, gv, eps=0.5, reduction="none")
//   pi, pt = inputs_of((2, 3), 61), torch.tensor([[0., 1., 2.], [3., 4., 5.]])
//   poisson_nll_r = F.poisson_nll_loss(pi, pt, reduction=r)
//   pr = inputs_of((2, 3), 62).abs() + 0.2; pr[1, 2] = 0.0
//   poisson_nll_rates = F.poisson_nll_loss(pr, pt, log_input=False, reduction="none")
//   poisson_nll_rates_eps = F.poisson_nll_loss(pr, pt, log_input=False, eps=0.1)
//   poisson_nll_full = F.poisson_nll_loss(pi, pt, full=True, reduction="none")
//   sx, sy = inputs_of((2, 3), 71) * 2, torch.tensor([[1., -1., -1.], [1., 1., -1.]])
//   soft_margin_r = F.soft_margin_loss(sx, sy, reduction=r)
//   mx, my = inputs_of((3, 4), 81) * 2, torch.tensor([[1., 0., 1., 0.], [0., 0., 1., 1.], [1., 1., 0., 0.]])
//   multilabel_soft_margin_r = F.multilabel_soft_margin_loss(mx, my, reduction=r)
//   multilabel_soft_margin_weight = F.multilabel_soft_margin_loss(mx, my, weight=pattern((4,), 1) + 1,
//                                                                 reduction="none")
#include <string>
#include <vector>

#include "helpers.h"
#include "nn/pytorch_reference.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::check_answer;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::inputs_of;
using cake::testing::pattern;
using cake::testing::contains;

namespace {

// ---- PyTorch 1.13's answers ----------------------------------------------------------------
// triplet_none: shape [4]
const std::vector<double> triplet_none = {0.4014262924136336, 0.552786404500042, 1.0698367318915565, 0.0};
// triplet_swap_none: shape [4]
const std::vector<double> triplet_swap_none = {0.5, 0.5, 2.300002, 0.0};
const double triplet_mean = 0.506012357201308;
const double triplet_swap_mean = 0.8250005;
const double triplet_sum = 2.024049428805232;
const double triplet_swap_sum = 3.300002;
// margin_ranking_none: shape [6]
const std::vector<double> margin_ranking_none = {
    0.0, 0.09999999999999998, 0.49999999999999994, 0.5, 0.09999999999999992, 0.10000000000000003
};
const double margin_ranking_mean = 0.21666666666666665;
const double margin_ranking_sum = 1.2999999999999998;
const double margin_ranking_default = 0.06666666666666667;
// cosine_embedding_none: shape [4]
const std::vector<double> cosine_embedding_none = {0.042912064637551595, 0.0, 0.7443843292992118, 0.0556156707007881};
const double cosine_embedding_mean = 0.21072801615938788;
const double cosine_embedding_sum = 0.8429120646375515;
const double cosine_embedding_default = 0.2977929963213768;
// hinge_embedding_none: shape [2, 3]
const std::vector<double> hinge_embedding_none = {1.2, 2.2, 0.8, 2.6, 0.6, -2.0};
const double hinge_embedding_mean = 0.9;
const double hinge_embedding_sum = 5.4;
// hinge_embedding_margin: shape [2, 3]
const std::vector<double> hinge_embedding_margin = {1.2, 1.7, 0.8, 2.1, 0.09999999999999998, -2.0};
// gaussian_nll_none: shape [4, 3]
const std::vector<double> gaussian_nll_none = {
    19993.09224472101, -0.3065735902799726, -0.14976604339793764, -0.14976604339793767, -0.30657359027997266,
    2.1695419643933094, -0.5353197354963013, 0.06583690808398064, -0.9512925464970227, 0.06583690808398067,
    -0.5353197354963013, -0.03045803560669093
};
const double gaussian_nll_mean = 1666.0356992650932;
const double gaussian_nll_sum = 19992.428391181118;
// gaussian_nll_full: shape [4, 3]
const std::vector<double> gaussian_nll_full = {
    19994.011183254213, 0.6123649429247, 0.769172489806735, 0.769172489806735, 0.6123649429247, 3.088480497597982,
    0.3836187977083714, 0.9847754412886534, -0.03235401329234999, 0.9847754412886534, 0.3836187977083714,
    0.8884804975979818
};
const double gaussian_nll_var_column = 4998.353963248267;
const double gaussian_nll_var_vector = 0.7121099760832017;
// gaussian_nll_eps: shape [4, 3]
const std::vector<double> gaussian_nll_eps = {
    -0.30657359027997266, -0.3065735902799726, -0.14976604339793764, -0.14976604339793767, -0.30657359027997266,
    2.1695419643933094, -0.30657359027997266, 0.06583690808398064, -0.30657359027997266, 0.06583690808398067,
    -0.30657359027997266, -0.03045803560669093
};
// poisson_nll_none: shape [2, 3]
const std::vector<double> poisson_nll_none = {
    1.2214027581601699, 1.3678794411714423, 1.0, -0.2817181715409549, 1.618730753077982, -1.7744590715075321
};
const double poisson_nll_mean = 0.5253059515601846;
const double poisson_nll_sum = 3.1518357093611074;
// poisson_nll_rates: shape [2, 3]
const std::vector<double> poisson_nll_rates = {
    0.6000000000000001, 0.9999999900000001, 2.232581413748311, 0.6530353046181364, 6.637751449736407,
    92.10340371976184
};
const double poisson_nll_rates_eps = 3.3721180116978435;
// poisson_nll_full: shape [2, 3]
const std::vector<double> poisson_nll_full = {
    1.2214027581601699, 1.3678794411714423, 1.651806484604536, 1.4823633720021019, 4.775993911322162,
    2.9963879800846924
};
// soft_margin_none: shape [2, 3]
const std::vector<double> soft_margin_none = {
    0.6931471805599453, 2.1269280110429727, 0.5130152523999525, 0.18390074088833888, 1.1711006659477778,
    1.4632824673380311
};
const double soft_margin_mean = 1.025229053029503;
const double soft_margin_sum = 6.151374318177018;
// multilabel_soft_margin_none: shape [3]
const std::vector<double> multilabel_soft_margin_none = {1.332824781643525, 0.9328247816435251, 1.3650046137614609};
const double multilabel_soft_margin_mean = 1.2102180590161702;
const double multilabel_soft_margin_sum = 3.630654177048511;
// multilabel_soft_margin_weight: shape [3]
const std::vector<double> multilabel_soft_margin_weight = {1.1849577494542336, 0.7608443793397595, 1.030294800825977};

Tensor scalar(double v) { return tensor({v}, {}, kFloat64); }
void check_scalar(const Tensor& got, double expected) {
  CHECK(got.dim() == 0);
  check_close(got, scalar(expected), 1e-12, 1e-12);
}

}  // namespace

TEST_CASE("TripletMarginLoss: PyTorch's answers for every reduction, with margin, p = 1 and swap") {
  const Tensor an = inputs_of({4, 5}, 11), po = inputs_of({4, 5}, 12), ne = inputs_of({4, 5}, 13);
  check_answer(F::triplet_margin_loss(an, po, ne, cake::kNone), {4}, triplet_none);
  check_scalar(nn::TripletMarginLoss()(an, po, ne), triplet_mean);
  check_scalar(F::triplet_margin_loss(an, po, ne, cake::kSum), triplet_sum);
  const auto swapped = nn::TripletMarginLossOptions().margin(0.5).p(1).swap(true);
  check_answer(nn::TripletMarginLoss(nn::TripletMarginLossOptions(swapped).reduction(cake::kNone))(an, po, ne), {4},
               triplet_swap_none);
  check_scalar(nn::TripletMarginLoss(swapped)(an, po, ne), triplet_swap_mean);
  check_scalar(F::triplet_margin_loss(an, po, ne, cake::kSum, 0.5, 1.0, 1e-6, true), triplet_swap_sum);
  CHECK(contains(error_message([&] { F::triplet_margin_loss(an, po, ne.flatten()); }),
                 "anchor of shape [4, 5], positive of shape [4, 5] and negative of shape [20]"));
}

TEST_CASE("MarginRankingLoss, CosineEmbeddingLoss, HingeEmbeddingLoss, SoftMarginLoss: PyTorch's answers") {
  const Tensor x1 = inputs_of({6}, 21), x2 = inputs_of({6}, 22);
  const Tensor y = tensor({1.0, -1.0, 1.0, 1.0, -1.0, -1.0}, {6}, kFloat64);
  const auto ranking = F::MarginRankingLossFuncOptions().margin(0.3);
  check_answer(F::margin_ranking_loss(x1, x2, y, F::MarginRankingLossFuncOptions(ranking).reduction(cake::kNone)), {6},
               margin_ranking_none);
  check_scalar(nn::MarginRankingLoss(ranking)(x1, x2, y), margin_ranking_mean);
  check_scalar(F::margin_ranking_loss(x1, x2, y, cake::kSum, 0.3), margin_ranking_sum);
  check_scalar(nn::MarginRankingLoss()(x1, x2, y), margin_ranking_default);

  const Tensor e1 = inputs_of({4, 5}, 31), e2 = inputs_of({4, 5}, 32);
  const Tensor ey = tensor({1.0, -1.0, -1.0, 1.0}, {4}, kFloat64);
  check_answer(F::cosine_embedding_loss(e1, e2, ey, cake::kNone, 0.2), {4}, cosine_embedding_none);
  nn::CosineEmbeddingLoss embedding(nn::CosineEmbeddingLossOptions().margin(0.2));
  check_scalar(embedding(e1, e2, ey), cosine_embedding_mean);
  check_scalar(F::cosine_embedding_loss(e1, e2, ey, cake::kSum, 0.2), cosine_embedding_sum);
  check_scalar(F::cosine_embedding_loss(e1, e2, ey), cosine_embedding_default);
  CHECK(contains(error_message([&] { F::cosine_embedding_loss(e1, e2, ey.narrow(0, 0, 3)); }),
                 "target of shape [3] does not match inputs of shape [4, 5] (expected target shape [4])"));

  const Tensor hx = inputs_of({2, 3}, 41) * 2.0;
  const Tensor hy = tensor({1.0, -1.0, 1.0, -1.0, -1.0, 1.0}, {2, 3}, kFloat64);
  check_answer(F::hinge_embedding_loss(hx, hy, cake::kNone), {2, 3}, hinge_embedding_none);
  check_scalar(nn::HingeEmbeddingLoss()(hx, hy), hinge_embedding_mean);
  check_scalar(F::hinge_embedding_loss(hx, hy, F::HingeEmbeddingLossFuncOptions().reduction(cake::kSum)),
               hinge_embedding_sum);
  check_answer(nn::HingeEmbeddingLoss(nn::HingeEmbeddingLossOptions().margin(0.5).reduction(cake::kNone))(hx, hy),
               {2, 3}, hinge_embedding_margin);

  const Tensor sx = inputs_of({2, 3}, 71) * 2.0;
  const Tensor sy = tensor({1.0, -1.0, -1.0, 1.0, 1.0, -1.0}, {2, 3}, kFloat64);
  check_answer(nn::SoftMarginLoss(nn::SoftMarginLossOptions(cake::kNone))(sx, sy), {2, 3}, soft_margin_none);
  check_scalar(F::soft_margin_loss(sx, sy), soft_margin_mean);
  check_scalar(F::soft_margin_loss(sx, sy, F::SoftMarginLossFuncOptions(cake::kSum)), soft_margin_sum);
  check_close(F::soft_margin_loss(scalar(-1000.0), scalar(1.0)), scalar(1000.0));  // no overflow
}

TEST_CASE("MultiLabelSoftMarginLoss: PyTorch's answers, class weights") {
  const Tensor mx = inputs_of({3, 4}, 81) * 2.0;
  const Tensor my = tensor({1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0}, {3, 4}, kFloat64);
  check_answer(F::multilabel_soft_margin_loss(mx, my, cake::kNone), {3}, multilabel_soft_margin_none);
  check_scalar(nn::MultiLabelSoftMarginLoss()(mx, my), multilabel_soft_margin_mean);
  check_scalar(F::multilabel_soft_margin_loss(mx, my, cake::kSum), multilabel_soft_margin_sum);
  const Tensor weight = pattern({4}, 1) + 1.0;
  nn::MultiLabelSoftMarginLoss weighted(nn::MultiLabelSoftMarginLossOptions().weight(weight).reduction(cake::kNone));
  check_answer(weighted(mx, my), {3}, multilabel_soft_margin_weight);
  check_answer(F::multilabel_soft_margin_loss(mx, my, F::MultilabelSoftMarginLossFuncOptions(weight, cake::kNone)), {3},
               multilabel_soft_margin_weight);
  CHECK(contains(error_message([&] { F::multilabel_soft_margin_loss(mx, my, cake::kMean, pattern({3}, 1)); }),
                 "weight of shape [3] must have one entry per class of the input of shape [3, 4]"));
}

TEST_CASE("GaussianNLLLoss: PyTorch's answers with the eps floor, full, and broadcast variances") {
  const Tensor gi = inputs_of({4, 3}, 51), gt = inputs_of({4, 3}, 52);
  Tensor gv = inputs_of({4, 3}, 53).abs() + 0.1;
  {
    NoGradGuard no_grad;
    gv.narrow(0, 0, 1).narrow(1, 0, 1).fill_(1e-8);  // below eps: clamped to it
  }
  check_answer(F::gaussian_nll_loss(gi, gt, gv, cake::kNone), {4, 3}, gaussian_nll_none);
  check_scalar(nn::GaussianNLLLoss()(gi, gt, gv), gaussian_nll_mean);
  check_scalar(F::gaussian_nll_loss(gi, gt, gv, cake::kSum), gaussian_nll_sum);
  check_answer(nn::GaussianNLLLoss(nn::GaussianNLLLossOptions().full(true).reduction(cake::kNone))(gi, gt, gv), {4, 3},
               gaussian_nll_full);
  check_scalar(F::gaussian_nll_loss(gi, gt, gv.narrow(1, 0, 1)), gaussian_nll_var_column);  // [4, 1]
  check_scalar(F::gaussian_nll_loss(gi, gt, gv.select(1, 1), F::GaussianNLLLossFuncOptions().reduction(cake::kSum)),
               gaussian_nll_var_vector);  // [4]
  check_answer(F::gaussian_nll_loss(gi, gt, gv, cake::kNone, false, 0.5), {4, 3}, gaussian_nll_eps);
  // The floor does not stop the gradient: var = 1e-8 still receives d/dvar at var = eps.
  const Tensor v = gv.clone().requires_grad_();
  F::gaussian_nll_loss(gi, gt, v, cake::kSum).backward();
  const double d = gi.select(0, 0).select(0, 0).item<double>() - gt.select(0, 0).select(0, 0).item<double>();
  CHECK(v.grad().select(0, 0).select(0, 0).item<double>() == doctest::Approx(0.5 * (1e6 - d * d * 1e12)));
  CHECK(contains(error_message([&] { F::gaussian_nll_loss(gi, gt, gv.narrow(1, 0, 2)); }),
                 "var of shape [4, 2] does not fit input of shape [4, 3]"));
  CHECK(contains(error_message([&] { F::gaussian_nll_loss(gi, gt, -gv); }), "var has a negative entry"));
}

TEST_CASE("PoissonNLLLoss: PyTorch's answers with log rates, rates, eps and Stirling's term") {
  const Tensor pi = inputs_of({2, 3}, 61);
  const Tensor pt = tensor({0.0, 1.0, 2.0, 3.0, 4.0, 5.0}, {2, 3}, kFloat64);
  check_answer(F::poisson_nll_loss(pi, pt, cake::kNone), {2, 3}, poisson_nll_none);
  check_scalar(nn::PoissonNLLLoss()(pi, pt), poisson_nll_mean);
  check_scalar(F::poisson_nll_loss(pi, pt, cake::kSum), poisson_nll_sum);
  Tensor rates = inputs_of({2, 3}, 62).abs() + 0.2;
  {
    NoGradGuard no_grad;
    rates.narrow(0, 1, 1).narrow(1, 2, 1).fill_(0.0);  // a zero rate: log(0 + eps) stays finite
  }
  check_answer(nn::PoissonNLLLoss(nn::PoissonNLLLossOptions().log_input(false).reduction(cake::kNone))(rates, pt),
               {2, 3}, poisson_nll_rates);
  check_scalar(F::poisson_nll_loss(rates, pt, F::PoissonNLLLossFuncOptions().log_input(false).eps(0.1)),
               poisson_nll_rates_eps);
  check_answer(F::poisson_nll_loss(pi, pt, cake::kNone, true, /*full=*/true), {2, 3}, poisson_nll_full);
  CHECK(contains(error_message([&] { F::poisson_nll_loss(pi, pt.flatten()); }),
                 "input of shape [2, 3] and target of shape [6]"));
}

// PyTorch 1.13's answers for the class-margin losses and the triplet loss with a distance function
// (float64; sine_wave as in nn/pytorch_reference.h):
//   x, y, w = sine_wave((3, 4)) * 2, torch.tensor([1, 0, 3]), torch.tensor([0.5, 1.0, 2.0, 1.5])
//   F.multi_margin_loss(x, y, reduction="none"); F.multi_margin_loss(x, y)
//   F.multi_margin_loss(x, y, p=2, margin=0.7, weight=w, reduction="none")
//   F.multilabel_margin_loss(x, torch.tensor([[3, 0, -1, 1], [1, 2, 3, -1], [2, -1, 0, 0]]), reduction="none")
//   a = sine_wave((3, 5)); p = a * 0.5 + 0.3; n = a * 0.9 + 0.05
//   F.triplet_margin_with_distance_loss(a, p, n, reduction="none")
//   F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v),
//                                       margin=0.5, swap=True, reduction="none")
TEST_CASE("MultiMarginLoss, MultiLabelMarginLoss, TripletMarginWithDistanceLoss: PyTorch's answers") {
  using cake::testing::sine_wave;
  const auto expect = [](const Tensor& got, const std::vector<double>& want) {
    check_close(got.reshape({-1}), tensor(want, {static_cast<std::int64_t>(want.size())}), 1e-12, 1e-14);
  };
  const Tensor x = sine_wave({3, 4}) * 2.0;
  const Tensor y = tensor(std::vector<std::int64_t>{1, 0, 3}, {3});
  const Tensor w = tensor(std::vector<double>{0.5, 1.0, 2.0, 1.5}, {4});
  expect(nn::MultiMarginLoss(nn::MultiMarginLossOptions().reduction(nn::Reduction::None))(x, y),
         {0.4920930106939134, 0.0, 0.18053918700259125});
  expect(F::multi_margin_loss(x, y), {0.22421073256550153});
  expect(F::multi_margin_loss(x, y, F::MultiMarginLossFuncOptions().p(2).margin(0.7).weight(w).reduction(nn::Reduction::None)),
         {0.28404699130737676, 0.0, 0.06683111995900755});
  expect(F::multi_margin_loss(x[0], y[0], nn::Reduction::None), {0.4920930106939134});  // unbatched
  const Tensor listed = tensor(std::vector<std::int64_t>{3, 0, -1, 1, 1, 2, 3, -1, 2, -1, 0, 0}, {3, 4});
  expect(nn::MultiLabelMarginLoss(nn::MultiLabelMarginLossOptions(nn::Reduction::None))(x, listed),
         {1.8621524080478742, 2.048792325813921, 0.31946081299740875});
  expect(F::multilabel_margin_loss(x[1], listed[1], nn::Reduction::None), {2.048792325813921});

  const Tensor a = sine_wave({3, 5}), p = a * 0.5 + 0.3, n = a * 0.9 + 0.05;
  expect(nn::TripletMarginWithDistanceLoss(nn::TripletMarginWithDistanceLossOptions().reduction(nn::Reduction::None))(a, p, n),
         {1.3142488742722072, 2.093022722223192, 1.578754772999179});
  const auto cosine_distance = [](const Tensor& u, const Tensor& v) { return 1.0 - F::cosine_similarity(u, v); };
  expect(F::triplet_margin_with_distance_loss(a, p, n,
                                              F::TripletMarginWithDistanceLossFuncOptions()
                                                  .distance_function(cosine_distance)
                                                  .margin(0.5)
                                                  .swap(true)
                                                  .reduction(nn::Reduction::None)),
         {0.5330711884130048, 0.9853513504153947, 0.6004029548640765});

  CHECK(contains(error_message([&] { F::multi_margin_loss(x, tensor(std::vector<std::int64_t>{1, 4, 0}, {3})); }),
                 "target holds a class outside [0, 4)"));
  CHECK(contains(error_message([&] { F::multi_margin_loss(x, y, nn::Reduction::Mean, 3); }), "p must be 1 or 2"));
  CHECK(contains(error_message([&] { F::multilabel_margin_loss(x, y); }), "target must be int64 of the scores' shape"));
}
