// Tests for EmbeddingBag (nn/linear.h, F::embedding_bag) and the CTC loss (nn/loss.h,
// F::ctc_loss) against PyTorch 1.13: outputs and gradients for every mode, per-sample weights,
// padding, include_last_offset, 2-D bags, the CTC reductions, a blank other than 0, targets given
// one after another, an impossible target; and the errors. The finite-difference rows are in
// tests/autograd/gradcheck_cases_nn_misc.cpp.
//
// The PyTorch values came from (float64; sine_wave(shape) = sin(0.7 i + 0.3) over the elements in
// row-major order, nn/pytorch_reference.h):
//   W = sine_wave((6, 3)); g = sine_wave((4, 3)) * 0.5 + 0.1
//   y = F.embedding_bag(tensor([4, 1, 0, 5, 1, 3, 2]), W, tensor([0, 2, 2, 5]), mode=...); (y * g).sum().backward()
//   logits = sine_wave((6, 2, 4)) * 2;  F.ctc_loss(F.log_softmax(logits, 2), tensor([[1, 2, 2], [3, 1, 0]]),
//                                                  tensor([6, 5]), tensor([3, 2]), reduction=...)
#include <cmath>
#include <limits>
#include <vector>

#include "helpers.h"
#include "nn/pytorch_reference.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::check_answer;
using cake::testing::contains;
using cake::testing::error_message;
using cake::testing::sine_wave;
using cake::testing::values;

namespace {

Tensor ints(const std::vector<std::int64_t>& v, const Shape& shape = {}) {
  return tensor(v, shape.empty() ? Shape{static_cast<std::int64_t>(v.size())} : shape);
}

struct BagResult {
  Tensor output, weight_grad;
};

// The bags of the PyTorch script: input [4, 1, 0, 5, 1, 3, 2] cut at offsets, table sine_wave((6, 3)).
BagResult bags(const F::EmbeddingBagFuncOptions& options, const Tensor& input = ints({4, 1, 0, 5, 1, 3, 2})) {
  const Tensor weight = sine_wave({6, 3}).requires_grad_();
  const Tensor y = F::embedding_bag(input, weight, options);
  const Tensor g = sine_wave({y.size(0), 3}) * 0.5 + 0.1;
  (y * g).sum().backward();
  return {y.detach(), weight.grad()};
}

const Tensor kOffsets = ints({0, 2, 2, 5});  // bag 1 is empty

}  // namespace

TEST_CASE("embedding_bag: sum, mean and max of each bag, with their gradients, as PyTorch") {
  const auto sum = bags(F::EmbeddingBagFuncOptions().offsets(kOffsets).mode(cake::kSum));
  check_answer(sum.output, {4, 3}, {1.3384324106333345, 0.06635608788664871, -1.236928539835601, 0.0, 0.0, 0.0,
                                    -0.009952842854000776, 0.007599472552758932, 0.021577637272920946,
                                    -0.6659887541517191, -0.03301803509158918, 0.615481581793145});
  check_answer(sum.weight_grad, {6, 3},
               {-0.3887650588325484, -0.34172732786007676, -0.08693833241511842, -0.14100495550187864,
                0.17900816454387147, 0.5088940728111159, 0.25577068175668893, 0.5252183103142822, 0.5946791233116909,
                0.25577068175668893, 0.5252183103142822, 0.5946791233116909, 0.24776010333066978, 0.5207354924039482,
                0.5958324052262343, -0.3887650588325484, -0.34172732786007676, -0.08693833241511842});
  const auto mean = bags(F::EmbeddingBagFuncOptions().offsets(kOffsets));  // mean is the default
  check_answer(mean.output, {4, 3}, {0.6692162053166673, 0.033178043943324353, -0.6184642699178005, 0.0, 0.0, 0.0,
                                     -0.0033176142846669254, 0.0025331575175863105, 0.007192545757640316,
                                     -0.33299437707585955, -0.01650901754579459, 0.3077407908965725});
  check_answer(mean.weight_grad, {6, 3},
               {-0.1295883529441828, -0.11390910928669225, -0.028979444138372806, -0.005708301278847909,
                0.14645863691528188, 0.26893675847474435, 0.12788534087834447, 0.2626091551571411, 0.29733956165584546,
                0.12788534087834447, 0.2626091551571411, 0.29733956165584546, 0.12388005166533489, 0.2603677462019741,
                0.29791620261311713, -0.1295883529441828, -0.11390910928669225, -0.028979444138372806});
  const auto max = bags(F::EmbeddingBagFuncOptions().offsets(kOffsets).mode(cake::kMax));
  const std::vector<double> max_output = {0.6754631805511513, 0.041580662433290935, -0.6118578909427189, 0.0, 0.0, 0.0,
                                          0.6754631805511513, 0.8414709848078965, 0.9916648104524686,
                                          0.31154136351337786, 0.8504366206285644, 0.9893582466233819};
  const std::vector<double> max_grad = {0.0, -0.34172732786007676, -0.08693833241511842, -0.14100495550187864,
                                        0.5207354924039482, 0.5958324052262343, 0.0, 0.0, 0.0, 0.25577068175668893,
                                        0.5252183103142822, 0.5946791233116909, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  check_answer(max.output, {4, 3}, max_output);
  check_answer(max.weight_grad, {6, 3}, max_grad);
  // include_last_offset: the same bags with the end as a fifth offset.
  const auto last = bags(F::EmbeddingBagFuncOptions().offsets(ints({0, 2, 2, 5, 7})).mode(cake::kMax).include_last_offset(true));
  check_answer(last.output, {4, 3}, max_output);
  check_answer(last.weight_grad, {6, 3}, max_grad);
}

TEST_CASE("embedding_bag: per-sample weights, padding_idx, 2-D bags") {
  const auto weighted = bags(F::EmbeddingBagFuncOptions().offsets(kOffsets).mode(cake::kSum).per_sample_weights(
      tensor({0.5, 2.0, -1.0, 1.5, 0.25, 3.0, -0.5}, {7}, kFloat64)));
  check_answer(weighted.output, {4, 3}, {1.6824109761433943, 0.09554903759326075, -1.536251106331879, 0.0, 0.0, 0.0,
                                         -1.5980587566232891, -2.1442540812322166, -1.6819732065433914,
                                         1.423389149372682, 2.99303718974577, 3.1550130722852643});
  check_answer(weighted.weight_grad, {6, 3},
               {0.3887650588325484, 0.34172732786007676, 0.08693833241511842, 0.39832894195320245, 0.9560391528428773,
                1.169930227348689, -0.12788534087834447, -0.2626091551571411, -0.29733956165584546, 0.7673120452700668,
                1.5756549309428467, 1.784037369935073, 0.12388005166533489, 0.2603677462019741, 0.29791620261311713,
                -0.5831475882488226, -0.5125909917901151, -0.13040749862267764});
  // The padding entries (index 1) neither count in the mean nor receive a gradient.
  const auto padded = bags(F::EmbeddingBagFuncOptions().offsets(kOffsets).padding_idx(1));
  check_answer(padded.output, {4, 3}, {0.6629692300821833, 0.024775425453357765, -0.6250706488928821, 0.0, 0.0, 0.0,
                                       -0.34270801170257603, -0.016990594940266, 0.31671776410781993,
                                       -0.33299437707585955, -0.01650901754579459, 0.3077407908965725});
  check_answer(padded.weight_grad, {6, 3},
               {-0.1943825294162742, -0.17086366393003838, -0.04346916620755921, 0.0, 0.0, 0.0, 0.12788534087834447,
                0.2626091551571411, 0.29733956165584546, 0.12788534087834447, 0.2626091551571411, 0.29733956165584546,
                0.24776010333066978, 0.5207354924039482, 0.5958324052262343, -0.1943825294162742,
                -0.17086366393003838, -0.04346916620755921});
  const auto rows = bags(F::EmbeddingBagFuncOptions(), ints({0, 5, 2, 1, 1, 4}, {2, 3}));
  check_answer(rows.output, {2, 3}, {-0.5543153803567497, -0.30581194853356186, 0.08651962112846767,
                                     0.6712985303948287, 0.03597891677331321, -0.6162621435927733});
  check_answer(rows.weight_grad, {6, 3},
               {0.08258670111022326, 0.17357849746798273, 0.19861080174207807, 0.29182106018371706,
                0.08052688747776365, -0.13728596364757295, 0.08258670111022326, 0.17357849746798273,
                0.19861080174207807, 0.0, 0.0, 0.0, 0.14591053009185853, 0.04026344373888183, -0.06864298182378648,
                0.08258670111022326, 0.17357849746798273, 0.19861080174207807});
}

TEST_CASE("nn::EmbeddingBag: the module, from_pretrained, its repr and its errors") {
  nn::EmbeddingBag bag(nn::EmbeddingBagOptions(10, 4).mode(cake::kSum).padding_idx(-1));
  CHECK(bag->weight.sizes() == Shape{10, 4});
  CHECK(values(bag->weight.select(0, 9)) == std::vector<double>(4, 0.0));  // the padding row starts at zero
  CHECK(bag(ints({1, 2, 3, 4}, {2, 2})).sizes() == Shape{2, 4});
  CHECK(contains(bag->extra_repr(), "mode='sum'"));
  auto frozen = nn::EmbeddingBag::from_pretrained(sine_wave({6, 3}), nn::EmbeddingBagFromPretrainedOptions().mode(cake::kMax));
  CHECK_FALSE(frozen->weight.requires_grad());
  check_answer(frozen(ints({4, 1, 0, 5, 1, 3, 2}), kOffsets).select(0, 0), {3},
               {0.6754631805511513, 0.041580662433290935, -0.6118578909427189});
  CHECK(contains(error_message([&] { bag(ints({1, 2, 3})); }), "offsets"));
  CHECK(contains(error_message([&] { bag(ints({1, 2, 3}), ints({1, 2})); }), "first offset must be 0"));
  CHECK(contains(error_message([&] { bag(ints({1, 2, 3}), ints({0, 2, 1})); }), "must not decrease"));
  CHECK(contains(error_message([] {
                   F::embedding_bag(ints({1, 2}), sine_wave({6, 3}), ints({0}), cake::kMean, tensor({1.0, 2.0}, {2}, kFloat64));
                 }),
                 "mode sum"));
  CHECK(contains(error_message([] { nn::EmbeddingBagOptions(3, 2).mode(cake::kNone); }), "kSum, cake::kMean or cake::kMax"));
}

TEST_CASE("ctc_loss: PyTorch's losses for every reduction, and its gradient") {
  const Tensor logits = (sine_wave({6, 2, 4}) * 2.0).requires_grad_();
  const Tensor targets = ints({1, 2, 2, 3, 1, 0}, {2, 3});
  const Tensor input_lengths = ints({6, 5}), target_lengths = ints({3, 2});
  const Tensor log_probs = F::log_softmax(logits, 2);
  check_answer(F::ctc_loss(log_probs, targets, input_lengths, target_lengths, 0, nn::Reduction::None), {2},
               {7.4891027129197845, 3.4798985615962286});
  check_answer(F::ctc_loss(log_probs, targets, input_lengths, target_lengths, 0, nn::Reduction::Sum).reshape({1}), {1},
               {10.969001274516014});
  const Tensor mean = nn::CTCLoss()(log_probs, targets, input_lengths, target_lengths);
  check_answer(mean.reshape({1}), {1}, {2.118158425885688});
  mean.backward();
  check_answer(logits.grad(), {6, 2, 4},
               {0.005812727207548103, -0.10707599284556826, 0.0661283750744831, 0.035134890563537066,
                0.06331945894843341, 0.04342713392349452, 0.020899808534758656, -0.1276464014066866,
                -0.0021936235433293065, -0.020748599224954405, -0.05716097569234927, 0.08010319846063298,
                -0.018635748948635643, 0.036121913204970095, 0.01365787017176916, -0.031144034428103616,
                -0.034897996355127886, 0.006323984068583137, -0.08526572577448009, 0.11383973806102485,
                -0.017524377400921443, 0.017268090188238376, 0.02088464612261053, -0.020628358909927463,
                -0.07504380210602338, 0.010478796012275455, -0.0533999979501634, 0.11796500404391132,
                0.013561588237410712, -0.038406613378441985, 0.05145103969290519, -0.026606014551873915,
                -0.042022370152837794, 0.020844329241461974, -0.056894842760753295, 0.07807288367212913,
                -0.022772504065718825, -0.12110735152789837, 0.09654531548113117, 0.047334540112486036,
                0.011447583470239215, 0.028774730181104945, -0.06004500391288564, 0.01982269026154149, 0.0, 0.0, 0.0,
                0.0});
}

TEST_CASE("ctc_loss: another blank, targets one after another, impossible targets, zero_infinity, errors") {
  const Tensor log_probs = F::log_softmax(sine_wave({6, 2, 4}) * 2.0, 2);
  const Tensor input_lengths = ints({6, 5});
  check_answer(F::ctc_loss(log_probs, ints({1, 2, 0, 1}), input_lengths, ints({2, 2}), 3, nn::Reduction::None), {2},
               {3.9992365651705484, 1.890181525490104});
  // [2, 2, 2] needs 5 frames (a blank between repeats); sample 0 has 4.
  const Tensor repeats = ints({2, 2, 2, 1, 1, 1}, {2, 3});
  const Tensor loss = F::ctc_loss(log_probs, repeats, ints({4, 6}), ints({3, 3}), 0, nn::Reduction::None);
  CHECK(values(loss)[0] == std::numeric_limits<double>::infinity());
  CHECK(values(loss)[1] == doctest::Approx(6.148237412779048).epsilon(1e-12));
  const Tensor logits = (sine_wave({6, 2, 4}) * 2.0).requires_grad_();
  const Tensor zeroed = F::ctc_loss(F::log_softmax(logits, 2), repeats, ints({4, 6}), ints({3, 3}),
                                    F::CTCLossFuncOptions().reduction(cake::kSum).zero_infinity(true));
  CHECK(zeroed.item<double>() == doctest::Approx(6.148237412779048).epsilon(1e-12));
  zeroed.backward();
  for (double g : values(logits.grad())) CHECK(std::isfinite(g));
  CHECK(values(logits.grad().select(1, 0)) == std::vector<double>(24, 0.0));  // the impossible sample adds nothing
  // Unbatched: [T, C] with a 1-D target.
  CHECK(F::ctc_loss(log_probs.select(1, 1), ints({3, 1}), ints({5}), ints({2}), 0, nn::Reduction::None).item<double>() ==
        doctest::Approx(3.4798985615962286).epsilon(1e-12));
  CHECK(contains(error_message([&] { F::ctc_loss(log_probs, ints({1, 0, 3, 1}, {2, 2}), input_lengths, ints({2, 2})); }),
                 "is the blank"));
  CHECK(contains(error_message([&] { F::ctc_loss(log_probs, repeats, ints({7, 6}), ints({3, 3})); }), "outside [0, 6]"));
  CHECK(contains(error_message([&] { F::ctc_loss(log_probs, repeats, ints({6}), ints({3, 3})); }), "one integer per sample"));
}
