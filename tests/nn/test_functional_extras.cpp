// Tests for F::pdist, F::channel_shuffle (nn::ChannelShuffle), F::dropout1d (nn::Dropout1d) and
// F::gumbel_softmax against PyTorch 1.13 where the result is deterministic, by their statistics
// where it is random. The finite-difference rows are in tests/autograd/gradcheck_cases_nn_misc.cpp.
//
// The PyTorch values came from (float64; sine_wave(shape) = sin(0.7 i + 0.3), nn/pytorch_reference.h):
//   F.pdist(sine_wave((5, 3)), p) for p = 2, 1, 3, and the gradient of F.pdist(x).sum();
//   F.channel_shuffle(torch.arange(24.).reshape(2, 6, 2), 3)
#include <cmath>
#include <vector>

#include "helpers.h"
#include "nn/pytorch_reference.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::check_close;
using cake::testing::contains;
using cake::testing::error_message;
using cake::testing::sine_wave;
using cake::testing::values;

TEST_CASE("pdist: the upper triangle of the distances, as PyTorch, and its gradient") {
  const Tensor x = sine_wave({5, 3});
  // p = 2 goes through one GEMM (cdist), which costs a few digits on the closest pair (0.0185).
  check_close(F::pdist(x), tensor({1.8317931774975318, 2.5417964344801525, 0.018503522076731994, 1.8482001966743151,
                                   1.9091129478794788, 1.830459005065716, 0.02476068983131, 2.5547003083711814,
                                   1.891882239447519, 1.8470513293617794}, {10}, kFloat64),
              1e-10, 1e-12);
  check_close(F::pdist(x, 1.0), tensor({2.783355997659605, 4.363517440137192, 0.027293356501792876, 2.800880042120733,
                                        2.816009842482175, 2.7739939127991473, 0.04251194539906431, 4.386197668980811,
                                        2.799923412983437, 2.791517957260276}, {10}, kFloat64),
              1e-12, 1e-14);
  check_close(F::pdist(x, 3.0), tensor({1.6738501892494664, 2.1357300828664885, 0.016921463306350165, 1.6892305363841504,
                                        1.7458830033144772, 1.6730153218900636, 0.020803150391774078, 2.1463785978108727,
                                        1.7302549931061804, 1.6885136749108862}, {10}, kFloat64),
              1e-12, 1e-14);
  const Tensor tracked = x.clone().requires_grad_();
  F::pdist(tracked).sum().backward();
  check_close(tracked.grad(), tensor({-0.771227332397312, 1.0726455133312836, 2.412036413591692, 1.7766621615166076,
                                      0.28468543935837914, -1.3411832932628467, -2.73840397399818, -2.321934589426926,
                                      -0.813423086219422, 0.9813529983190923, 2.0521458409923508, 2.1577824289836207,
                                      0.751616146559792, -1.0875422042550873, -2.4152124630930443}, {5, 3}, kFloat64),
              1e-8, 1e-10);
  CHECK(F::pdist(zeros({1, 4}, kFloat64)).sizes() == Shape{0});
  CHECK(contains(error_message([] { F::pdist(zeros({2, 3, 4})); }), "rows [N, M]"));
}

TEST_CASE("channel_shuffle and nn::ChannelShuffle: PyTorch's order") {
  const Tensor c = arange(0.0, 24.0, 1.0, kFloat64).reshape({2, 6, 2});
  const std::vector<double> expected = {0.0,  1.0,  4.0,  5.0,  8.0,  9.0,  2.0,  3.0,  6.0,  7.0,  10.0, 11.0,
                                        12.0, 13.0, 16.0, 17.0, 20.0, 21.0, 14.0, 15.0, 18.0, 19.0, 22.0, 23.0};
  CHECK(values(F::channel_shuffle(c, 3)) == expected);
  nn::ChannelShuffle shuffle(3);
  CHECK(values(shuffle(c)) == expected);
  CHECK(shuffle->extra_repr() == "groups=3");
  CHECK(contains(error_message([&] { F::channel_shuffle(c, 4); }), "divide into 4 groups"));
}

TEST_CASE("dropout1d and nn::Dropout1d drop whole channels of a sequence") {
  manual_seed(5);
  const Tensor x = ones({8, 16, 10}, kFloat64);
  const Tensor y = F::dropout1d(x, 0.5, true);
  const Tensor per_channel = y.amax({2}), smallest = y.amin({2});
  CHECK(equal(per_channel, smallest));  // every channel all kept (2.0) or all dropped (0.0)
  const double kept = values(per_channel.gt(0.0).to(kFloat64).mean())[0];
  CHECK(kept == doctest::Approx(0.5).epsilon(0.25));
  CHECK(y.max().item<double>() == 2.0);
  nn::Dropout1d layer(0.3);
  layer->eval();
  CHECK(equal(layer(x), x));
  CHECK(F::dropout1d(ones({4, 10}), 0.5, true).sizes() == Shape{4, 10});  // unbatched [C, L]
  CHECK(contains(error_message([&] { F::dropout1d(ones({2, 3, 4, 5}), 0.5, true); }), "[N, C, L]"));
}

TEST_CASE("gumbel_softmax: soft draws on the simplex, hard one-hot draws with the soft gradient, the right frequencies") {
  manual_seed(11);
  const Tensor logits = tensor({std::log(0.1), std::log(0.2), std::log(0.7)}, {1, 3}, kFloat64).expand({20000, 3}).contiguous();
  const Tensor soft = F::gumbel_softmax(logits, F::GumbelSoftmaxFuncOptions().tau(0.5));
  check_close(soft.sum(1), ones({20000}, kFloat64), 1e-12, 1e-12);
  // The argmax of logits + Gumbel noise is a draw from softmax(logits) (the Gumbel-max trick).
  const std::vector<double> frequency = values(one_hot(soft.argmax(1), 3).to(kFloat64).mean({0}));
  CHECK(frequency[0] == doctest::Approx(0.1).epsilon(0.1));
  CHECK(frequency[1] == doctest::Approx(0.2).epsilon(0.1));
  CHECK(frequency[2] == doctest::Approx(0.7).epsilon(0.05));
  // hard: one-hot values; the gradient is the soft draw's (same seed, same noise).
  const Tensor a = logits.narrow(0, 0, 4).clone().requires_grad_(), b = a.detach().clone().requires_grad_();
  const Tensor weights = tensor({1.0, -2.0, 0.5}, {1, 3}, kFloat64);
  manual_seed(3);
  const Tensor hard = F::gumbel_softmax(a, 0.7, true);
  manual_seed(3);
  const Tensor relaxed = F::gumbel_softmax(b, 0.7, false);
  for (double v : values(hard)) CHECK((v == 0.0 || v == 1.0));
  check_close(hard.sum(1), ones({4}, kFloat64), 0, 0);
  CHECK(equal(hard.argmax(1), relaxed.argmax(1)));
  (hard * weights).sum().backward();
  (relaxed * weights).sum().backward();
  check_close(a.grad(), b.grad(), 1e-12, 1e-12);
  CHECK(contains(error_message([&] { F::gumbel_softmax(logits, 0.0); }), "tau must be positive"));
}
