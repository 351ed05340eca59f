// Tests for L-BFGS (optim/lbfgs.h): trajectories against PyTorch 1.13's torch.optim.LBFGS, with
// and without the strong Wolfe line search, on the 2-D Rosenbrock function and on a small
// least-squares problem with two parameters (one flat vector of 8); a checkpoint taken mid-run
// continues bit for bit; errors.
//
// Tolerances: Cake's dot products and PyTorch's (OpenBLAS ddot) sum in different orders, and
// Rosenbrock's curved valley amplifies those last-bit differences: 1e-10 relative over the 30
// fixed-step iterations (3e-12 seen in the unoptimised build), 1e-12 elsewhere (the
// least-squares runs agree to 1e-15).
//
// The expected rows (loss returned by step(), PyTorch's state n_iter and func_evals, then every
// parameter, flattened) come from this script, run once with /usr/bin/python3 (torch 1.13):
//
//   import torch
//   torch.set_default_dtype(torch.float64)
//   X = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-0.2, 0.8, 0.1], [1.0, 1.0, -1.0],
//                     [0.3, -0.6, 0.9], [-1.2, 0.4, 0.5]])
//   Y = torch.tensor([[1.0, -0.5], [0.2, 0.7], [-0.3, 0.4], [0.8, 0.1], [0.5, -1.0], [-0.6, 0.9]])
//   def rosenbrock(x): return (1 - x[0])**2 + 100 * (x[1] - x[0]**2)**2
//   def least_squares(W, b): return ((X @ W.t() + b - Y)**2).mean()
//   def rosenbrock_start(): return [torch.tensor([-1.5, 2.0], requires_grad=True)]
//   def least_squares_start(): return [torch.tensor([[0.1, -0.2, 0.3], [0.0, 0.4, -0.1]], requires_grad=True),
//                                      torch.tensor([0.05, -0.05], requires_grad=True)]
//   def run(start, f, **options):
//       params = start()
//       opt = torch.optim.LBFGS(params, **options)
//       def closure():
//           opt.zero_grad()
//           loss = f(*params)
//           loss.backward()
//           return loss
//       for _ in range(3):
//           loss = opt.step(closure).item()
//           state = opt.state[params[0]]
//           flat = torch.cat([p.detach().flatten() for p in params]).tolist()
//           print("{%r, %d, %d, {%s}}," % (loss, state['n_iter'], state['func_evals'],
//                                          ", ".join(repr(v) for v in flat)))
//   run(rosenbrock_start, rosenbrock, lr=1, max_iter=10)
//   run(rosenbrock_start, rosenbrock, lr=1, line_search_fn="strong_wolfe")
//   run(least_squares_start, least_squares, lr=0.5, max_iter=4, history_size=2)
//   run(least_squares_start, least_squares, lr=1, max_iter=5, history_size=3, line_search_fn="strong_wolfe")
#include <cmath>
#include <filesystem>

#include "helpers.h"

using namespace cake;
using cake::testing::values;

namespace {

struct ExpectedStep {
  double loss;
  std::int64_t n_iter, func_evals;
  std::vector<double> params;  // all parameters, flattened, in order
};

// A problem: its parameters at the start and its loss.
struct Problem {
  std::vector<Tensor> params;
  std::function<Tensor()> loss;
};

Problem rosenbrock() {
  Tensor x = tensor({-1.5, 2.0}, {2}, kFloat64).requires_grad_();
  return {{x}, [x] {
            const Tensor a = x.select(0, 0), b = x.select(0, 1);
            return (1.0 - a).square() + (b - a.square()).square() * 100.0;
          }};
}

Problem least_squares() {
  const Tensor X = tensor({0.5, -1.0, 2.0, 1.5, 0.3, -0.7, -0.2, 0.8, 0.1, 1.0, 1.0, -1.0, 0.3, -0.6, 0.9, -1.2, 0.4, 0.5},
                          {6, 3}, kFloat64);
  const Tensor Y = tensor({1.0, -0.5, 0.2, 0.7, -0.3, 0.4, 0.8, 0.1, 0.5, -1.0, -0.6, 0.9}, {6, 2}, kFloat64);
  Tensor W = tensor({0.1, -0.2, 0.3, 0.0, 0.4, -0.1}, {2, 3}, kFloat64).requires_grad_();
  Tensor b = tensor({0.05, -0.05}, {2}, kFloat64).requires_grad_();
  return {{W, b}, [=] { return (X.matmul(W.t()) + b - Y).square().mean(); }};
}

// The closure of libtorch's LBFGS examples: clear the gradients, evaluate, backward.
optim::Optimizer::LossClosure closure_for(optim::Optimizer& opt, const Problem& problem) {
  return [&opt, &problem] {
    opt.zero_grad();
    Tensor loss = problem.loss();
    loss.backward();
    return loss;
  };
}

std::vector<double> flat_values(const std::vector<Tensor>& params) {
  std::vector<double> out;
  for (const Tensor& p : params)
    for (double v : values(p)) out.push_back(v);
  return out;
}

void close_to(double got, double want, double tolerance, const std::string& what) {
  CHECK_MESSAGE(std::abs(got - want) <= tolerance * (1.0 + std::abs(want)), what, ": got ", got, ", PyTorch ", want);
}

// Three step() calls; after each, the returned loss, the counters and the parameters.
void check_trajectory(const Problem& problem, const optim::LBFGSOptions& options,
                      const std::vector<ExpectedStep>& expected, double tolerance) {
  optim::LBFGS opt(problem.params, options);
  const auto closure = closure_for(opt, problem);
  for (std::size_t s = 0; s < expected.size(); ++s) {
    INFO("step ", s + 1);
    const Tensor loss = opt.step(closure);
    close_to(loss.item<double>(), expected[s].loss, tolerance, "loss");
    CHECK(opt.lbfgs_state().n_iter == expected[s].n_iter);
    CHECK(opt.lbfgs_state().func_evals == expected[s].func_evals);
    const auto got = flat_values(problem.params);
    REQUIRE(got.size() == expected[s].params.size());
    for (std::size_t i = 0; i < got.size(); ++i)
      close_to(got[i], expected[s].params[i], tolerance, "parameter entry " + std::to_string(i));
  }
}

}  // namespace

TEST_CASE("LBFGS on Rosenbrock with a fixed step follows PyTorch") {
  check_trajectory(rosenbrock(), optim::LBFGSOptions(1).max_iter(10),
                   {{12.5, 10, 10, {-1.357517417154352, 1.8132625820382686}},
                    {5.645450838933606, 20, 20, {-0.7811227298316471, 0.6131352916809734}},
                    {3.1732877526670884, 30, 30, {-0.2841813516856627, 0.07319765884477505}}},
                   1e-10);
}

TEST_CASE("LBFGS on Rosenbrock with the strong Wolfe line search follows PyTorch to the minimum") {
  // The third step stops early (3 iterations): the loss stopped changing by tolerance_change.
  check_trajectory(rosenbrock(), optim::LBFGSOptions(1).line_search_fn("strong_wolfe"),
                   {{12.5, 19, 25, {-0.08511855589862088, -0.028757058413776328}},
                    {1.3070983150501583, 38, 50, {0.9995835472530445, 0.9991550319579069}},
                    {1.8840481372787713e-07, 41, 53, {0.9999979943196414, 0.9999973438921667}}},
                   1e-12);
}

TEST_CASE("LBFGS on least squares with two parameters and a short history follows PyTorch") {
  SUBCASE("fixed step, history of 2") {
    check_trajectory(least_squares(), optim::LBFGSOptions(0.5).max_iter(4).history_size(2),
                     {{0.28120833333333334, 4, 4,
                       {0.48006895353886214, -0.1576731440764794, 0.17356840840826637, -0.16376878620546925,
                        0.5118130988363198, -0.09239665046016263, 0.0933364685060449, 0.0902173103856542}},
                      {0.1552614828650736, 8, 8,
                       {0.5870113000795336, -0.042071620471977544, 0.2787878604798426, -0.22015602051846006,
                        0.5029990827277713, -0.12213396439715526, 0.006083852521035715, 0.13687570918141717}},
                      {0.15180184978642264, 12, 12,
                       {0.6928651882999097, 0.28749157536024056, 0.5246544904353247, -0.2374132596728914,
                        0.40305440703167744, -0.18973436835606913, -0.15166605548237463, 0.17163903013033008}}},
                     1e-12);
  }
  SUBCASE("strong Wolfe, history of 3") {
    check_trajectory(least_squares(),
                     optim::LBFGSOptions(1).max_iter(5).history_size(3).line_search_fn("strong_wolfe"),
                     {{0.28120833333333334, 5, 6,
                       {0.5533666507601791, -0.09350337838375797, 0.24346216277769592, -0.19833110541317786,
                        0.5094732054267408, -0.11060882292274614, 0.05544603254107525, 0.12072713252975929}},
                      {0.15283413116776856, 10, 12,
                       {0.6953224658656002, 0.2962340639531281, 0.5278213474318727, -0.2377143730974606,
                        0.40054115741910284, -0.19102268544647355, -0.1561392044367779, 0.1723290499080255}},
                      {0.14854554789112115, 14, 16,
                       {0.6958390505274821, 0.29608709825470086, 0.5279363087682157, -0.238177419088459,
                        0.4008124872558639, -0.19105784521356872, -0.1564772391058128, 0.1726175415029789}}},
                     1e-12);
  }
}

TEST_CASE("LBFGS: max_eval defaults to max_iter * 5 / 4, and the history never exceeds history_size") {
  const Problem problem = least_squares();
  optim::LBFGS opt(problem.params, optim::LBFGSOptions(0.5).max_iter(8).history_size(2));
  CHECK(opt.options.max_eval() == std::optional<std::int64_t>(10));
  opt.step(closure_for(opt, problem));
  CHECK(opt.lbfgs_state().old_dirs.size() == 2);
  CHECK(opt.lbfgs_state().ro.size() == 2);

  // One group with options of its own: those train, their max_eval resolved the same way.
  const Problem by_group = rosenbrock(), plain = rosenbrock();
  optim::LBFGS grouped({optim::OptimizerParamGroup(by_group.params, std::make_unique<optim::LBFGSOptions>(
                                                                        optim::LBFGSOptions(0.25).max_iter(4)))});
  CHECK(grouped.group_lr(0) == 0.25);
  CHECK(grouped.param_groups()[0].options().as<optim::LBFGSOptions>().max_eval() == std::optional<std::int64_t>(5));
  optim::LBFGS reference(plain.params, optim::LBFGSOptions(0.25).max_iter(4));
  grouped.step(closure_for(grouped, by_group));
  reference.step(closure_for(reference, plain));
  CHECK(values(by_group.params[0]) == values(plain.params[0]));
  CHECK(grouped.lbfgs_state().n_iter == 4);
}

TEST_CASE("LBFGS returns at once when the gradient is already below tolerance_grad") {
  const Problem at_minimum = rosenbrock();
  at_minimum.params[0].detach().copy_(tensor({1.0, 1.0}, {2}, kFloat64));  // the minimum
  optim::LBFGS opt(at_minimum.params);
  const Tensor loss = opt.step(closure_for(opt, at_minimum));
  CHECK(loss.item<double>() == 0.0);
  CHECK(opt.lbfgs_state().n_iter == 0);
  CHECK(opt.lbfgs_state().func_evals == 1);
  CHECK(values(at_minimum.params[0]) == std::vector<double>{1.0, 1.0});
}

TEST_CASE("an LBFGS checkpoint taken mid-run continues bit for bit") {
  for (const bool wolfe : {false, true}) {
    INFO("strong Wolfe: ", wolfe);
    optim::LBFGSOptions options = optim::LBFGSOptions(wolfe ? 1.0 : 0.5).max_iter(4).history_size(3);
    if (wolfe) options.line_search_fn("strong_wolfe");
    const Problem first = least_squares();
    optim::LBFGS opt(first.params, options);
    const auto closure = closure_for(opt, first);
    opt.step(closure);
    opt.step(closure);
    const std::string path =
        (std::filesystem::temp_directory_path() / ("cake_lbfgs_" + std::to_string(wolfe) + ".safetensors")).string();
    cake::save(opt, path);

    // A fresh optimiser over a copy of the parameters, with default options: load restores both.
    const Problem second = least_squares();
    for (std::size_t i = 0; i < first.params.size(); ++i) second.params[i].detach().copy_(first.params[i].detach());
    optim::LBFGS resumed(second.params);
    cake::load(resumed, path);
    std::filesystem::remove(path);
    CHECK(resumed.options.max_iter() == 4);
    CHECK(resumed.options.line_search_fn().has_value() == wolfe);
    CHECK(resumed.lbfgs_state().old_dirs.size() == opt.lbfgs_state().old_dirs.size());

    const auto resumed_closure = closure_for(resumed, second);
    for (int s = 0; s < 2; ++s) {
      const double a = opt.step(closure).item<double>();
      const double b = resumed.step(resumed_closure).item<double>();
      CHECK(a == b);
      CHECK(flat_values(first.params) == flat_values(second.params));
    }
    CHECK(resumed.lbfgs_state().n_iter == opt.lbfgs_state().n_iter);
    CHECK(resumed.lbfgs_state().func_evals == opt.lbfgs_state().func_evals);
    CHECK(resumed.lbfgs_state().t == opt.lbfgs_state().t);
    CHECK(resumed.lbfgs_state().H_diag == opt.lbfgs_state().H_diag);
  }
}

TEST_CASE("LBFGS errors") {
  Tensor a = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor b = tensor({3.0}, {1}, kFloat64).requires_grad_();
  CHECK_THROWS_WITH_AS(optim::LBFGS({optim::OptimizerParamGroup({a}), optim::OptimizerParamGroup({b})}),
                       doctest::Contains("doesn't support per-parameter options (parameter groups)"), Error);
  optim::LBFGS opt({a});
  CHECK_THROWS_WITH_AS(opt.step(), doctest::Contains("needs a closure"), Error);
  CHECK_THROWS_WITH_AS(opt.step(optim::Optimizer::LossClosure()), doctest::Contains("closure is empty"), Error);
  opt.add_param_group(optim::OptimizerParamGroup({b}));
  CHECK_THROWS_WITH_AS(opt.step([&] { return (a * b).sum(); }), doctest::Contains("parameter groups"), Error);

  CHECK_THROWS_WITH_AS(optim::LBFGS({a}, optim::LBFGSOptions(-1.0)), doctest::Contains("lr must be non-negative"), Error);
  CHECK_THROWS_WITH_AS(optim::LBFGS({a}, optim::LBFGSOptions(1).line_search_fn("backtracking")),
                       doctest::Contains("\"strong_wolfe\" or unset"), Error);
  CHECK_THROWS_WITH_AS(optim::LBFGS({a}, optim::LBFGSOptions(1).history_size(0)), doctest::Contains("history_size"),
                       Error);
  CHECK_THROWS_WITH_AS(optim::LBFGS({a}, optim::LBFGSOptions(1).max_iter(0)), doctest::Contains("max_iter"), Error);
  CHECK_THROWS_WITH_AS(optim::LBFGS({a}, optim::LBFGSOptions(1).tolerance_grad(-1e-3)),
                       doctest::Contains("tolerance_grad"), Error);
  CHECK_THROWS_WITH_AS(optim::LBFGS({a, tensor({1.0}, {1}, kFloat32).requires_grad_()}),
                       doctest::Contains("must share a dtype and device"), Error);
  CHECK_THROWS_WITH_AS(optim::LBFGS(std::vector<Tensor>{}), doctest::Contains("no parameters"), Error);

  // Another optimiser's checkpoint, and one over a different number of elements.
  Tensor c = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  optim::Adam adam({c});
  optim::LBFGS lbfgs({tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_()});
  CHECK_THROWS_WITH_AS(lbfgs.load_state_dict(adam.state_dict()), doctest::Contains("a Adam optimiser"), Error);
  const Problem problem = least_squares();
  optim::LBFGS bigger(problem.params);
  bigger.step(closure_for(bigger, problem));
  SafetensorsFile saved = bigger.state_dict();
  saved.tensors["lbfgs.d"] = zeros({3}, kFloat64);
  optim::LBFGS other(least_squares().params);
  CHECK_THROWS_WITH_AS(other.load_state_dict(saved), doctest::Contains("'lbfgs.d' has shape [3]"), Error);
}
