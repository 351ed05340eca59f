// Tests for the optimisers: each update rule against values worked out from PyTorch's
// documented algorithm (Adamax, NAdam, RAdam and Adadelta against PyTorch 1.13 itself, below),
// in-place updates, skipped parameters, options checks, checkpoints, clip_grad_*.
//
// Every hand-worked case starts from p = [1, -2] (float64) and feeds the gradients
// g1 = [0.5, -1], g2 = [0.1, 0.3], g3 = [-0.2, 0.4] by hand (set_grad), so the expected numbers
// depend on the update rule alone. They were computed in double precision from the documented formulas of
// torch.optim (the form written in each optimiser's header), e.g. for Adam step 1 with lr 0.1:
//   m = 0.1 g1 = [0.05, -0.1], v = 0.001 g1^2 = [2.5e-4, 1e-3],
//   m_hat = m / 0.1 = g1, v_hat = v / 0.001 = g1^2,
//   p = p - 0.1 m_hat / (|g1| + 1e-8) = [0.900000002, -1.900000001].
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>

#include "helpers.h"

using namespace cake;
using cake::testing::values;

namespace {

const std::vector<std::vector<double>> kGradients{{0.5, -1.0}, {0.1, 0.3}, {-0.2, 0.4}};

Tensor start_param() { return tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_(); }

// SGD, Adam and AdamW have two paths (optim/fused.h): their hand-worked cases run on both.
constexpr bool kBothPaths[] = {false, true};

// Runs the optimiser for as many steps as `expected` has rows and checks p after each.
void check_steps(optim::Optimizer& opt, Tensor& p, const std::vector<std::vector<double>>& expected) {
  for (std::size_t t = 0; t < expected.size(); ++t) {
    p.set_grad(tensor(kGradients[t], {2}, kFloat64));
    opt.step();
    const auto got = values(p);
    for (std::size_t i = 0; i < 2; ++i)
      CHECK_MESSAGE(std::abs(got[i] - expected[t][i]) <= 1e-13 * (1.0 + std::abs(expected[t][i])),
                "step ", t + 1, " element ", i, ": got ", got[i], ", expected ", expected[t][i]);
  }
}

}  // namespace

TEST_CASE("SGD without momentum: p <- p - lr g") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::SGD opt({p}, {.lr = 0.1, .fused = fused});
    check_steps(opt, p, {{0.95, -1.9}, {0.94, -1.93}, {0.96, -1.97}});
  }
}

TEST_CASE("SGD with momentum, dampening and weight decay") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01, .fused = fused});
    // Step 1: g = g1 + 0.01 p = [0.51, -1.02]; b = g (no dampening at first); p = p - 0.1 b.
    check_steps(opt, p, {{0.94899999999999995, -1.8979999999999999},
                     {0.89324589999999993, -1.8314918},
                     {0.86026328868999991, -1.8059860773800001}});
    CHECK(opt.state(0).tensors.count("momentum_buffer") == 1);
  }
}

TEST_CASE("SGD with Nesterov momentum") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true, .fused = fused});
    // Step 1: b = g1, update g1 + 0.9 b = 1.9 g1: p = [1 - 0.095, -2 + 0.19].
    check_steps(opt, p, {{0.905, -1.81}, {0.8455, -1.786}, {0.83894999999999997, -1.8134000000000001}});
    CHECK_THROWS_AS(optim::SGD({start_param()}, {.lr = 0.1, .nesterov = true}), Error);
  }
}

TEST_CASE("Adam: two steps and a third, as in Kingma & Ba with PyTorch's bias corrections") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::Adam opt({p}, {.lr = 0.1, .fused = fused});
    check_steps(opt, p, {{0.90000000199999997, -1.900000001},
                     {0.81969590638465184, -1.8572151424292265},
                     {0.78526053183548905, -1.8492092384765841}});
    CHECK(opt.state(0).step == 3);
  }
}

TEST_CASE("Adam with L2 weight decay and AMSGrad") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::Adam opt({p}, {.lr = 0.1, .weight_decay = 0.1, .amsgrad = true, .fused = fused});
    check_steps(opt, p, {{0.9000000016666666, -1.9000000008333333},
                     {0.8136483454297575, -1.8400703555381717},
                     {0.75989975722219016, -1.8057542212511155}});
    CHECK(opt.state(0).tensors.count("max_exp_avg_sq") == 1);
  }
}

TEST_CASE("AdamW: decoupled weight decay") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.1, .fused = fused});
    // Step 1: p = p (1 - 0.01) first, then the plain Adam step: [0.99 - 0.1, -1.98 + 0.1].
    check_steps(opt, p, {{0.89000000199999996, -1.880000001},
                     {0.8007959063646517, -1.8184151424192265},
                     {0.75835257275184231, -1.7922250870423919}});
  }
}

TEST_CASE("RMSprop, plain") {
  Tensor p = start_param();
  optim::RMSprop opt({p}, {.lr = 0.01});
  // Step 1: v = 0.01 g1^2, so g / sqrt(v) = 10 sign(g1): p = p - 0.1 sign(g1).
  check_steps(opt, p, {{0.90000001999999601, -1.900000009999999},
                   {0.88029343832020457, -1.9288675206817028},
                   {0.91712109803537256, -1.9649460375747332}});
}

TEST_CASE("RMSprop, centred, with momentum and weight decay") {
  Tensor p = start_param();
  optim::RMSprop opt({p}, {.lr = 0.01, .weight_decay = 0.1, .momentum = 0.9, .centered = true});
  check_steps(opt, p, {{0.89949623530909284, -1.8994962268915865},
                   {0.77848264022604907, -1.8182583083047712},
                   {0.68890361812288337, -1.763177406563363}});
  CHECK(opt.state(0).tensors.count("grad_avg") == 1);
  CHECK(opt.state(0).tensors.count("momentum_buffer") == 1);
}

TEST_CASE("Adagrad with lr decay, weight decay and an initial accumulator") {
  Tensor p = start_param();
  optim::Adagrad opt({p}, {.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.05, .initial_accumulator_value = 0.1});
  check_steps(opt, p, {{0.91330785532736347, -1.9038925537756828},
                   {0.89115160082592537, -1.9213323104070561},
                   {0.91392291930450875, -1.9461262997505679}});
}

// ---- Adamax, NAdam, RAdam, Adadelta: trajectories from PyTorch 1.13 ------------------------------
//
// A linear model (W [2, 3], b [2]) trained for eight steps on a fixed least-squares problem with
// weight decay and other non-default options; W and b (flattened) after each step. NAdam runs
// 1.13's foreach path, which follows the paper (see the NOTE in optim/nadam.h), in float64
// throughout (its mu_product is a tensor of the default dtype). RAdam's beta2 = 0.9 makes
// rho_t cross 5 at step 6, so both branches run. Generated once with /usr/bin/python3:
//
//   import torch
//   torch.set_default_dtype(torch.float64)  # NAdam's mu_product is a tensor of the default dtype
//   X = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-0.2, 0.8, 0.1], [1.0, 1.0, -1.0],
//                     [0.3, -0.6, 0.9], [-1.2, 0.4, 0.5]])
//   Y = torch.tensor([[1.0, -0.5], [0.2, 0.7], [-0.3, 0.4], [0.8, 0.1], [0.5, -1.0], [-0.6, 0.9]])
//   def run(make, **options):
//       W = torch.tensor([[0.1, -0.2, 0.3], [0.0, 0.4, -0.1]], requires_grad=True)
//       b = torch.tensor([0.05, -0.05], requires_grad=True)
//       opt = make([W, b], **options)
//       for _ in range(8):
//           opt.zero_grad()
//           ((X @ W.t() + b - Y)**2).mean().backward()
//           opt.step()
//           print("{%s}," % ", ".join(repr(v) for v in torch.cat([W.detach().flatten(), b.detach()]).tolist()))
//   run(torch.optim.Adamax, lr=0.01, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1)
//   run(torch.optim.NAdam, lr=0.01, betas=(0.85, 0.99), eps=1e-6, weight_decay=0.1, momentum_decay=0.01,
//       foreach=True)
//   run(torch.optim.RAdam, lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)
//   run(torch.optim.Adadelta, lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)

namespace {

// The model and data of the script above; `make` builds the optimiser over [W, b].
void check_linear_model_trajectory(const std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>& make,
                               const std::vector<std::vector<double>>& expected) {
  const Tensor X = tensor({0.5, -1.0, 2.0, 1.5, 0.3, -0.7, -0.2, 0.8, 0.1, 1.0, 1.0, -1.0, 0.3, -0.6, 0.9, -1.2, 0.4, 0.5},
                      {6, 3}, kFloat64);
  const Tensor Y = tensor({1.0, -0.5, 0.2, 0.7, -0.3, 0.4, 0.8, 0.1, 0.5, -1.0, -0.6, 0.9}, {6, 2}, kFloat64);
  Tensor W = tensor({0.1, -0.2, 0.3, 0.0, 0.4, -0.1}, {2, 3}, kFloat64).requires_grad_();
  Tensor b = tensor({0.05, -0.05}, {2}, kFloat64).requires_grad_();
  const std::unique_ptr<optim::Optimizer> opt = make({W, b});
  for (std::size_t t = 0; t < expected.size(); ++t) {
    opt->zero_grad();
    (X.matmul(W.t()) + b - Y).square().mean().backward();
    opt->step();
    std::vector<double> got = values(W);
    for (double v : values(b)) got.push_back(v);
    for (std::size_t i = 0; i < got.size(); ++i)
      CHECK_MESSAGE(std::abs(got[i] - expected[t][i]) <= 1e-13 * (1.0 + std::abs(expected[t][i])), opt->name(),
                " step ", t + 1, " entry ", i, ": got ", got[i], ", PyTorch ", expected[t][i]);
  }
}

}  // namespace

TEST_CASE("Adamax with weight decay and non-default betas and eps follows PyTorch") {
  check_linear_model_trajectory(
      [](std::vector<Tensor> params) {
        return std::make_unique<optim::Adamax>(
            params, optim::AdamaxOptions(0.01).betas({0.8, 0.99}).eps(1e-3).weight_decay(0.1));
      },
      {{0.10997413793103449, -0.19007151370679382, 0.29003708281829416, -0.009909502262443437,
        0.4097637795275591, -0.0903, 0.05991735537190083, -0.04007936507936508},
       {0.1198297942921841, -0.18059800931186526, 0.28032694368451877, -0.019498873601607958,
        0.4193705230936762, -0.08239040771784326, 0.06935201576323129, -0.030599614143732683},
       {0.12955264519088144, -0.17161112631385128, 0.27089217354369655, -0.028754646667509574,
        0.4287126494235427, -0.07615086767508802, 0.07827399457100866, -0.02157516826126033},
       {0.13912911233457118, -0.1631392701133683, 0.2617538828351387, -0.03766614639769657,
        0.43767907043659726, -0.07143428881226596, 0.08665728879365006, -0.013015628529323144},
       {0.14854655869977013, -0.15520704547724581, 0.2529313572195678, -0.046225446714396656,
        0.4461592089741236, -0.06807320354390527, 0.09448045695358717, -0.004925669385758336},
       {0.1577934597030413, -0.14783477737994347, 0.2444417550262122, -0.05442722630794828,
        0.4540473129739408, -0.06588732411135528, 0.10172708398198763, 0.002694901756559064},
       {0.16685954424216728, -0.14103813592259812, 0.23629985624971567, -0.0622685445866048,
        0.4612467887507341, -0.06469176728673962, 0.10838611532620139, 0.009850930486493725},
       {0.1757359016711469, -0.13482787655954065, 0.22851787011706653, -0.0697485656142393,
        0.46767425450440553, -0.06430533882402502, 0.11445204937050363, 0.016551569210036747}});
}

TEST_CASE("NAdam with weight decay and a faster momentum schedule follows PyTorch") {
  check_linear_model_trajectory(
      [](std::vector<Tensor> params) {
        return std::make_unique<optim::NAdam>(
            params, optim::NAdamOptions(0.01).betas({0.85, 0.99}).eps(1e-6).weight_decay(0.1).momentum_decay(0.01));
      },
      {{0.11077884930195583, -0.18922120038784143, 0.28922116286917005, -0.010778778814234934,
        0.4107786164775919, -0.0892214561064565, 0.060778787427342586, -0.039221208979757026},
       {0.11891812428928013, -0.18134392376743708, 0.28118244080545846, -0.018760468485555213,
        0.4188887896236903, -0.08278283581774402, 0.06863187743338979, -0.03133681969718806},
       {0.12660292049495728, -0.17407757446781014, 0.2736560447310874, -0.026211556347378172,
        0.426420712697383, -0.07782960040054782, 0.07586135762643503, -0.02403777676283899},
       {0.1342807202935662, -0.16699685303804476, 0.2662010841675519, -0.033577438170279805,
        0.4337627516792808, -0.07403099626025343, 0.08289149127176626, -0.016883768033627056},
       {0.14206422198355192, -0.16002685685277263, 0.2587169456254335, -0.04096408556152956,
        0.44093767758859403, -0.07134795556106532, 0.08979553854841425, -0.00977739483486828},
       {0.14996476453375093, -0.15319842007030293, 0.2512055188259165, -0.048377233869057325,
        0.44784249755988154, -0.0697026351972432, 0.09654177375331469, -0.002720185781172441},
       {0.1579595107711098, -0.14657830065912614, 0.2437030964690762, -0.055789075528520006,
        0.4543270531831578, -0.06893344174099232, 0.10306392069166948, 0.004255371130587272},
       {0.1660154536748217, -0.14024397778808045, 0.23625607856730496, -0.06316085489324595,
        0.46023136647799684, -0.06884715574295396, 0.10928689516900691, 0.0111089006185381}});
}

TEST_CASE("RAdam through the un-rectified and rectified phases follows PyTorch") {
  check_linear_model_trajectory(
      [](std::vector<Tensor> params) {
        return std::make_unique<optim::RAdam>(params,
                                          optim::RAdamOptions(0.01).betas({0.8, 0.9}).eps(1e-6).weight_decay(0.1));
      },
      {{0.10385666666666667, -0.1986116666666667, 0.2973133333333333, -0.0010949999999999996,
        0.40041333333333334, -0.09967666666666668, 0.0512, -0.04875},
       {0.10768732489197531, -0.1972383788734568, 0.2946519383179012, -0.0021860809413580245,
        0.4008253222067901, -0.09935765166666667, 0.052389202623456796, -0.04750659583333333},
       {0.1114904094496551, -0.19588101480012196, 0.29201730125761854, -0.0032729964649459453,
        0.40123587546612044, -0.0990432083789802, 0.05356696045410638, -0.04627018922861853},
       {0.11526442341826221, -0.19454040802087794, 0.2894108356529709, -0.004355508528674898,
        0.4016449035733665, -0.09873357762922867, 0.054732654912869785, -0.04504116549058956},
       {0.11900795374647813, -0.19321733835759863, 0.2868338669038004, -0.005433389692494274,
        0.4020523193569035, -0.09842898507194657, 0.05588570274545605, -0.043819889579913854},
       {0.12154886873204397, -0.19068386216260924, 0.2842976969794532, -0.007979550607978435,
        0.40459887227676433, -0.09590062845641101, 0.058422551932737786, -0.04127649666573117},
       {0.12483135069088443, -0.18741670573862831, 0.2810239671268611, -0.011267888408676426,
        0.4078894976703055, -0.09266072754764412, 0.06169462704152145, -0.037993754982232286},
       {0.12872520343379026, -0.18355204745269735, 0.2771449554296401, -0.01516430330017321,
        0.41179272899427455, -0.08888297198965785, 0.0655650779892016, -0.03410787999145464}});
}

TEST_CASE("Adadelta with lr, rho, eps and weight decay follows PyTorch") {
  check_linear_model_trajectory(
      [](std::vector<Tensor> params) {
        return std::make_unique<optim::Adadelta>(params,
                                             optim::AdadeltaOptions(0.5).rho(0.8).eps(1e-4).weight_decay(0.1));
      },
      {{0.11116159522835778, -0.1889619116281094, 0.2888581829544417, -0.01095427299986747,
        0.4098335922800474, -0.09080442719531462, 0.06099114958170968, -0.038994363670929705},
       {0.1226880922021314, -0.1779758627907271, 0.2775091721538381, -0.022035398400369978,
        0.41980023035810393, -0.08354488118685693, 0.07189212566439114, -0.027994058137081092},
       {0.134293434243149, -0.16753570823740652, 0.2663185831560145, -0.03289641312547228,
        0.42943661983182724, -0.07880744735738689, 0.0822028279793879, -0.01741060911574554},
       {0.1458335027779811, -0.1579074788879582, 0.2554777463693839, -0.043388816646386705,
        0.4382857380434967, -0.07613157687341064, 0.09166544318592512, -0.007407122187424332},
       {0.15722578676214125, -0.1492401360842417, 0.24509727241035104, -0.053442190904625875,
        0.4459930023724547, -0.07484038568403784, 0.10015062006024215, 0.0019633087852763548},
       {0.16842080984952293, -0.14161027242678784, 0.2352417363767238, -0.06301749557592588,
        0.452363067522116, -0.07447724980531159, 0.10760911029101546, 0.010697751326487875},
       {0.17938894872179528, -0.1350456044759143, 0.22594628021248117, -0.07209258857916988,
        0.45734132521080295, -0.07480518909214802, 0.11404471573849184, 0.018819740073919147},
       {0.19011330070356303, -0.12953957047646208, 0.21722594828620967, -0.08065822442810085,
        0.46096909542775494, -0.07570522314422892, 0.11949652771139976, 0.026368660086326354}});
}

TEST_CASE("PyTorch's defaults for Adamax, NAdam, RAdam and Adadelta") {
  const optim::AdamaxOptions adamax;
  CHECK(adamax.lr() == 2e-3);
  CHECK(adamax.betas() == std::pair<double, double>(0.9, 0.999));
  CHECK(adamax.eps() == 1e-8);
  const optim::NAdamOptions nadam;
  CHECK(nadam.lr() == 2e-3);
  CHECK(nadam.momentum_decay() == 4e-3);
  CHECK(nadam.weight_decay() == 0.0);
  const optim::RAdamOptions radam;
  CHECK(radam.lr() == 1e-3);
  CHECK(radam.eps() == 1e-8);
  const optim::AdadeltaOptions adadelta;
  CHECK(adadelta.lr() == 1.0);
  CHECK(adadelta.rho() == 0.9);
  CHECK(adadelta.eps() == 1e-6);
}

// Three steps, a checkpoint, then two more steps for the original and for a fresh optimiser
// loaded from the checkpoint: the same parameters and state bit for bit.
template <class Optimizer, class Options>
void check_checkpoint_continues(const Options& options) {
  INFO(Optimizer({start_param()}, options).name());
  Tensor p = start_param();
  Optimizer original({p}, options);
  for (std::size_t t = 0; t < 3; ++t) {
    p.set_grad(tensor(kGradients[t], {2}, kFloat64));
    original.step();
  }
  const std::string path = (std::filesystem::temp_directory_path() / "cake_optimizer_checkpoint.safetensors").string();
  cake::save(original, path);
  Tensor q = start_param();
  q.detach().copy_(p.detach());
  Optimizer resumed({q}, Options{});
  cake::load(resumed, path);
  std::filesystem::remove(path);
  for (const std::vector<double>& g : {std::vector<double>{0.3, -0.2}, std::vector<double>{-0.1, 0.05}}) {
    p.set_grad(tensor(g, {2}, kFloat64));
    q.set_grad(tensor(g, {2}, kFloat64));
    original.step();
    resumed.step();
  }
  CHECK(values(p) == values(q));
  CHECK(resumed.state(0).step == original.state(0).step);
  CHECK(resumed.state(0).scalars == original.state(0).scalars);
  for (const auto& [name, t] : original.state(0).tensors) CHECK_MESSAGE(equal(resumed.state(0).tensors.at(name), t), name);
}

TEST_CASE("a checkpoint of Adamax, NAdam, RAdam or Adadelta continues bit for bit, options included") {
  check_checkpoint_continues<optim::Adamax>(optim::AdamaxOptions(0.01).betas({0.8, 0.99}).weight_decay(0.1));
  check_checkpoint_continues<optim::NAdam>(optim::NAdamOptions(0.01).momentum_decay(0.01).weight_decay(0.1));
  check_checkpoint_continues<optim::RAdam>(optim::RAdamOptions(0.01).betas({0.8, 0.9}).weight_decay(0.1));
  check_checkpoint_continues<optim::Adadelta>(optim::AdadeltaOptions(0.5).rho(0.8).weight_decay(0.1));
}

TEST_CASE("Adamax, NAdam, RAdam and Adadelta check their options") {
  Tensor p = start_param();
  CHECK_THROWS_WITH_AS(optim::Adamax({p}, optim::AdamaxOptions(-1.0)), doctest::Contains("lr must be non-negative"), Error);
  CHECK_THROWS_WITH_AS(optim::Adamax({p}, optim::AdamaxOptions().betas({0.9, 1.0})), doctest::Contains("betas"), Error);
  CHECK_THROWS_WITH_AS(optim::NAdam({p}, optim::NAdamOptions().momentum_decay(-0.1)),
                   doctest::Contains("momentum_decay"), Error);
  CHECK_THROWS_WITH_AS(optim::NAdam({p}, optim::NAdamOptions().eps(-1.0)), doctest::Contains("eps"), Error);
  CHECK_THROWS_WITH_AS(optim::RAdam({p}, optim::RAdamOptions().weight_decay(-0.1)), doctest::Contains("weight_decay"),
                   Error);
  CHECK_THROWS_WITH_AS(optim::Adadelta({p}, optim::AdadeltaOptions().rho(1.5)), doctest::Contains("rho"), Error);
  CHECK_THROWS_WITH_AS(optim::Adadelta({p}, optim::AdadeltaOptions(-0.5)), doctest::Contains("lr"), Error);
}

// Runs two copies of the same parameters, one per path, for a few steps on random gradients
// and requires bit-identical parameters and state.
template <class Optimizer, class Options>
void check_fused_matches_reference(Options options, DType dtype, const std::string& label) {
  INFO(label, " in ", std::string(dtype_name(dtype)));
  manual_seed(11);
  std::vector<Tensor> fast, slow;
  for (const Shape& shape : {Shape{37, 5}, Shape{40000}}) {  // the second big enough for two threads
    Tensor p = randn(shape, dtype);
    fast.push_back(p.clone().requires_grad_());
    slow.push_back(p.clone().requires_grad_());
  }
  options.fused = true;
  Optimizer fused(fast, options);
  options.fused = false;
  Optimizer reference(slow, options);
  for (int step = 0; step < 3; ++step) {
    for (std::size_t i = 0; i < fast.size(); ++i) {
      const Tensor g = randn(fast[i].sizes(), dtype);
      fast[i].set_grad(g.clone());
      slow[i].set_grad(g.clone());
    }
    fused.step();
    reference.step();
  }
  for (std::size_t i = 0; i < fast.size(); ++i) {
    CHECK_MESSAGE(equal(fast[i].detach(), slow[i].detach()), "parameter ", i);
    for (const auto& [name, t] : reference.state(i).tensors) CHECK_MESSAGE(equal(fused.state(i).tensors.at(name), t), name);
  }
}

TEST_CASE("the fused kernels and the tensor-op reference agree bit for bit") {
  for (DType dtype : {kFloat32, kFloat64}) {
    check_fused_matches_reference<optim::Adam>(optim::AdamOptions{.lr = 1e-2}, dtype, "Adam");
    check_fused_matches_reference<optim::Adam>(optim::AdamOptions{.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true}, dtype,
                                           "Adam L2 AMSGrad");
    check_fused_matches_reference<optim::Adam>(optim::AdamOptions{.lr = 1e-2, .weight_decay = 0.1}, dtype, "Adam L2");
    check_fused_matches_reference<optim::Adam>(optim::AdamOptions{.lr = 1e-2, .amsgrad = true}, dtype, "Adam AMSGrad");
    check_fused_matches_reference<optim::AdamW>(optim::AdamWOptions{.lr = 1e-2, .weight_decay = 0.1}, dtype, "AdamW");
    check_fused_matches_reference<optim::AdamW>(optim::AdamWOptions{.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true},
                                            dtype, "AdamW AMSGrad");
    check_fused_matches_reference<optim::AdamW>(optim::AdamWOptions{.lr = 1e-2, .weight_decay = 0.0}, dtype,
                                            "AdamW without decay");
    check_fused_matches_reference<optim::SGD>(optim::SGDOptions{.lr = 0.1}, dtype, "SGD");
    check_fused_matches_reference<optim::SGD>(
        optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.2, .weight_decay = 1e-3}, dtype, "SGD momentum");
    check_fused_matches_reference<optim::SGD>(optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true}, dtype,
                                          "SGD Nesterov");
  }
}

TEST_CASE("a non-contiguous parameter takes the reference path") {
  Tensor base = tensor({1.0, 3.0, -2.0, 4.0}, {2, 2}, kFloat64);
  Tensor p = base.t().contiguous().t().detach().requires_grad_();  // a leaf with transposed strides
  REQUIRE_FALSE(p.is_contiguous());
  optim::Adam opt({p}, {.lr = 0.1});
  p.set_grad(tensor({0.5, 0.0, -1.0, 0.0}, {2, 2}, kFloat64));
  opt.step();
  CHECK(values(p)[0] == doctest::Approx(0.9));
  CHECK(values(p)[2] == doctest::Approx(-1.9));
}

TEST_CASE("a step updates parameters and state in place and keeps them leaves") {
  Tensor p = start_param();
  optim::Adam opt({p}, {.lr = 0.1});
  const void* param_data = p.raw_data();
  p.set_grad(tensor({0.5, -1.0}, {2}, kFloat64));
  opt.step();  // grad mode is on here: step() turns it off itself
  const void* exp_avg_data = opt.state(0).tensors.at("exp_avg").raw_data();
  p.set_grad(tensor({0.1, 0.3}, {2}, kFloat64));
  opt.step();
  CHECK(p.raw_data() == param_data);
  CHECK(opt.state(0).tensors.at("exp_avg").raw_data() == exp_avg_data);
  CHECK(p.is_leaf());
  CHECK(p.requires_grad());
  CHECK_FALSE(opt.state(0).tensors.at("exp_avg").requires_grad());
}

TEST_CASE("parameters without a gradient are skipped") {
  Tensor a = start_param(), b = start_param();
  optim::Adam opt({a, b}, {.lr = 0.1});
  a.set_grad(tensor({0.5, -1.0}, {2}, kFloat64));
  opt.step();
  CHECK(values(b) == std::vector<double>{1.0, -2.0});
  CHECK(opt.state(1).step == 0);
  CHECK(opt.state(0).step == 1);
}

TEST_CASE("float32 parameters follow the float64 results to float32 precision") {
  Tensor p = tensor({1.0, -2.0}, {2}, kFloat32).requires_grad_();
  optim::Adam opt({p}, {.lr = 0.1});
  p.set_grad(tensor({0.5, -1.0}, {2}, kFloat32));
  opt.step();
  p.set_grad(tensor({0.1, 0.3}, {2}, kFloat32));
  opt.step();
  CHECK(p.dtype() == kFloat32);
  testing::check_close(p, tensor({0.81969590638465184, -1.8572151424292265}, {2}, kFloat64), 1e-6, 1e-6);
}

TEST_CASE("zero_grad and argument checks") {
  Tensor p = start_param();
  optim::SGD opt({p}, {.lr = 0.1});
  p.set_grad(ones({2}, kFloat64));
  opt.zero_grad(/*set_to_none=*/false);
  CHECK(values(p.grad()) == std::vector<double>{0.0, 0.0});
  opt.zero_grad();
  CHECK_FALSE(p.grad().defined());
  CHECK_THROWS_WITH_AS(optim::SGD({p, p}), doctest::Contains("more than once"), Error);
  CHECK_THROWS_WITH_AS(optim::Adam({p * 2.0}), doctest::Contains("not a leaf"), Error);
  CHECK_THROWS_WITH_AS(optim::Adam({ones({2}, kInt64)}), doctest::Contains("floating-point"), Error);
  CHECK_THROWS_AS(optim::Adam({p}, {.betas = {1.0, 0.999}}), Error);
  CHECK_THROWS_AS(optim::RMSprop({p}, {.lr = -1.0}), Error);
}

TEST_CASE("an optimiser drives a model's loss down (SGD and Adam on least squares)") {
  manual_seed(3);
  const Tensor x = randn({64, 3}, kFloat64);
  const Tensor y = (x * tensor({1.5, -2.0, 0.5}, {3}, kFloat64)).sum({1}, true) + 0.3;
  for (int which = 0; which < 2; ++which) {
    nn::Linear fc(3, 1);
    fc.to(kFloat64);
    std::unique_ptr<optim::Optimizer> opt;
    if (which == 0) opt = std::make_unique<optim::SGD>(fc.parameters(), optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
    else opt = std::make_unique<optim::Adam>(fc.parameters(), optim::AdamOptions{.lr = 0.05});
    double first = 0.0, last = 0.0;
    for (int step = 0; step < 300; ++step) {
      opt->zero_grad();
      Tensor loss = ((fc.forward(x) - y).square()).mean();
      loss.backward();
      opt->step();
      (step == 0 ? first : last) = loss.item<double>();
    }
    CHECK_MESSAGE(last < 1e-6 * first, "optimiser ", opt->name(), ": loss ", first, " -> ", last);
    testing::check_close(fc.bias, tensor({0.3}, {1}, kFloat64), 1e-3, 1e-3);
  }
}

// ---- clip_grad ---------------------------------------------------------------------------------

TEST_CASE("clip_grad_norm_ rescales all gradients by max_norm / total_norm and returns the norm") {
  Tensor a = zeros({2}, kFloat64).requires_grad_(), b = zeros({1}, kFloat64).requires_grad_();
  Tensor c = zeros({1}, kFloat64).requires_grad_();  // no gradient: ignored
  a.set_grad(tensor({3.0, 4.0}, {2}, kFloat64));
  b.set_grad(tensor({12.0}, {1}, kFloat64));
  // ||(3, 4, 12)|| = 13.
  Tensor norm = optim::clip_grad_norm_({a, b, c}, 6.5);
  CHECK(norm.item<double>() == doctest::Approx(13.0).epsilon(1e-15));
  const double scale = 6.5 / (13.0 + 1e-6);
  testing::check_close(a.grad(), tensor({3.0 * scale, 4.0 * scale}, {2}, kFloat64), 1e-14, 0.0);
  testing::check_close(b.grad(), tensor({12.0 * scale}, {1}, kFloat64), 1e-14, 0.0);
  // Below the threshold nothing changes.
  a.set_grad(tensor({0.3, 0.4}, {2}, kFloat64));
  b.set_grad(tensor({0.0}, {1}, kFloat64));
  CHECK(optim::clip_grad_norm_({a, b}, 1.0).item<double>() == doctest::Approx(0.5));
  CHECK(values(a.grad()) == std::vector<double>{0.3, 0.4});
  // The infinity norm and the 1-norm.
  a.set_grad(tensor({3.0, -4.0}, {2}, kFloat64));
  b.set_grad(tensor({2.0}, {1}, kFloat64));
  CHECK(optim::clip_grad_norm_({a, b}, 100.0, INFINITY).item<double>() == doctest::Approx(4.0));
  CHECK(optim::clip_grad_norm_({a, b}, 100.0, 1.0).item<double>() == doctest::Approx(9.0));
}

TEST_CASE("clip_grad_value_ clamps each entry") {
  Tensor a = zeros({3}, kFloat64).requires_grad_();
  a.set_grad(tensor({-3.0, 0.5, 7.0}, {3}, kFloat64));
  optim::clip_grad_value_({a}, 1.0);
  CHECK(values(a.grad()) == std::vector<double>{-1.0, 0.5, 1.0});
}
