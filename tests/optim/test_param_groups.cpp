// Tests for parameter groups (optim/optimizer.h), spelled as libtorch spells them: each group
// trains exactly as an optimiser of its own with the group's options would; a group without
// options takes a copy of the defaults; schedulers move every group from its own initial lr;
// checkpoints keep each group's options.
#include <memory>

#include "helpers.h"

using namespace cake;
using cake::testing::values;

namespace {

Tensor param(std::vector<double> v) {
  const auto n = static_cast<std::int64_t>(v.size());
  return tensor(std::move(v), {n}, kFloat64).requires_grad_();
}

// Feeds the same three gradients to every parameter in `params` and steps `opt` after each.
void run_steps(optim::Optimizer& opt, const std::vector<Tensor>& params) {
  const std::vector<std::vector<double>> gradients{{0.5, -1.0}, {0.1, 0.3}, {-0.2, 0.4}};
  for (const auto& g : gradients) {
    for (Tensor p : params) p.set_grad(tensor(g, {2}, kFloat64));
    opt.step();
  }
}

}  // namespace

TEST_CASE("each Adam group trains exactly as its own optimiser with the group's options") {
  for (bool fused : {false, true}) {
    Tensor a = param({1.0, -2.0}), b = param({0.5, 3.0});
    optim::Adam grouped({optim::OptimizerParamGroup({a}),
                         optim::OptimizerParamGroup({b}, std::make_unique<optim::AdamOptions>(
                                                             optim::AdamOptions(1e-2).weight_decay(0.1).fused(fused)))},
                        optim::AdamOptions(1e-3).fused(fused));
    run_steps(grouped, {a, b});

    Tensor a_alone = param({1.0, -2.0}), b_alone = param({0.5, 3.0});
    optim::Adam adam_a({a_alone}, optim::AdamOptions(1e-3).fused(fused));
    optim::Adam adam_b({b_alone}, optim::AdamOptions(1e-2).weight_decay(0.1).fused(fused));
    run_steps(adam_a, {a_alone});
    run_steps(adam_b, {b_alone});
    CHECK(values(a) == values(a_alone));
    CHECK(values(b) == values(b_alone));
  }
}

TEST_CASE("SGD, RMSprop and Adagrad honour per-group options") {
  Tensor a = param({1.0, -2.0}), b = param({0.5, 3.0});
  optim::SGD sgd({optim::OptimizerParamGroup({a}),
                  optim::OptimizerParamGroup({b}, std::make_unique<optim::SGDOptions>(optim::SGDOptions(0.5).momentum(0.9)))},
                 optim::SGDOptions(0.1));
  run_steps(sgd, {a, b});
  Tensor a1 = param({1.0, -2.0}), b1 = param({0.5, 3.0});
  optim::SGD sgd_a({a1}, optim::SGDOptions(0.1));
  optim::SGD sgd_b({b1}, optim::SGDOptions(0.5).momentum(0.9));
  run_steps(sgd_a, {a1});
  run_steps(sgd_b, {b1});
  CHECK(values(a) == values(a1));
  CHECK(values(b) == values(b1));

  Tensor c = param({1.0, -2.0}), d = param({0.5, 3.0});
  optim::RMSprop rms({optim::OptimizerParamGroup({c}),
                      optim::OptimizerParamGroup({d}, std::make_unique<optim::RMSpropOptions>(optim::RMSpropOptions(0.05)))},
                     optim::RMSpropOptions(0.01));
  run_steps(rms, {c, d});
  Tensor c1 = param({1.0, -2.0}), d1 = param({0.5, 3.0});
  optim::RMSprop rms_c({c1}, optim::RMSpropOptions(0.01)), rms_d({d1}, optim::RMSpropOptions(0.05));
  run_steps(rms_c, {c1});
  run_steps(rms_d, {d1});
  CHECK(values(c) == values(c1));
  CHECK(values(d) == values(d1));

  Tensor e = param({1.0, -2.0}), f = param({0.5, 3.0});
  optim::Adagrad adagrad(
      {optim::OptimizerParamGroup({e}),
       optim::OptimizerParamGroup({f}, std::make_unique<optim::AdagradOptions>(
                                           optim::AdagradOptions(0.1).initial_accumulator_value(0.5)))},
      optim::AdagradOptions(0.01));
  run_steps(adagrad, {e, f});
  Tensor e1 = param({1.0, -2.0}), f1 = param({0.5, 3.0});
  optim::Adagrad ada_e({e1}, optim::AdagradOptions(0.01));
  optim::Adagrad ada_f({f1}, optim::AdagradOptions(0.1).initial_accumulator_value(0.5));
  run_steps(ada_e, {e1});
  run_steps(ada_f, {f1});
  CHECK(values(e) == values(e1));
  CHECK(values(f) == values(f1));
}

// Two groups trained by one optimiser equal each group trained by an optimiser of its own.
template <class Optimizer, class Options>
void check_groups_train_apart(const Options& defaults, const Options& second) {
  INFO(Optimizer({param({1.0})}, defaults).name());
  Tensor a = param({1.0, -2.0}), b = param({0.5, 3.0});
  Optimizer grouped({optim::OptimizerParamGroup({a}), optim::OptimizerParamGroup({b}, std::make_unique<Options>(second))},
                    defaults);
  run_steps(grouped, {a, b});
  Tensor a1 = param({1.0, -2.0}), b1 = param({0.5, 3.0});
  Optimizer alone_a({a1}, defaults), alone_b({b1}, second);
  run_steps(alone_a, {a1});
  run_steps(alone_b, {b1});
  CHECK(values(a) == values(a1));
  CHECK(values(b) == values(b1));

  // A checkpoint keeps the second group's own options.
  Tensor a2 = param({1.0, -2.0}), b2 = param({0.5, 3.0});
  Optimizer restored({optim::OptimizerParamGroup({a2}), optim::OptimizerParamGroup({b2})}, defaults);
  restored.load_state_dict(grouped.state_dict());
  CHECK(restored.group_lr(1) == second.lr());
}

TEST_CASE("Adamax, NAdam, RAdam and Adadelta honour per-group options") {
  check_groups_train_apart<optim::Adamax>(optim::AdamaxOptions(0.01), optim::AdamaxOptions(0.05).weight_decay(0.1));
  check_groups_train_apart<optim::NAdam>(optim::NAdamOptions(0.01), optim::NAdamOptions(0.05).momentum_decay(0.01));
  check_groups_train_apart<optim::RAdam>(optim::RAdamOptions(0.01), optim::RAdamOptions(0.05).betas({0.8, 0.9}));
  check_groups_train_apart<optim::Adadelta>(optim::AdadeltaOptions(1.0), optim::AdadeltaOptions(0.5).rho(0.8));
}

TEST_CASE("a group without options gets its own copy of the defaults") {
  Tensor a = param({1.0, -2.0}), b = param({0.5, 3.0});
  optim::Adam opt({optim::OptimizerParamGroup({a}), optim::OptimizerParamGroup({b})}, optim::AdamOptions(1e-3));
  REQUIRE(opt.param_groups().size() == 2);
  CHECK(opt.param_groups()[0].has_options());
  opt.param_groups()[1].options().set_lr(5e-3);
  CHECK(opt.group_lr(0) == 1e-3);
  CHECK(opt.group_lr(1) == 5e-3);
  opt.param_groups()[0].options().as<optim::AdamOptions>().weight_decay(0.25);
  CHECK(opt.param_groups()[1].options().as<optim::AdamOptions>().weight_decay == 0.0);
  CHECK(opt.params().size() == 2);

  // as<T>() with the wrong options type names both types.
  CHECK_THROWS_WITH_AS((void)opt.param_groups()[0].options().as<optim::SGDOptions>(),
                       doctest::Contains("a parameter group's options must be those of the optimiser"), cake::Error);
  // A group whose options belong to another optimiser is refused when the optimiser is built.
  Tensor c = param({1.0, 2.0});
  CHECK_THROWS_AS(optim::Adam({optim::OptimizerParamGroup({c}, std::make_unique<optim::SGDOptions>(optim::SGDOptions(0.1)))}),
                  cake::Error);
  // A parameter in two groups is refused.
  CHECK_THROWS_WITH_AS(optim::SGD({optim::OptimizerParamGroup({a}), optim::OptimizerParamGroup({a})}),
                       doctest::Contains("appears more than once"), cake::Error);
}

TEST_CASE("add_param_group appends parameters that train from then on") {
  Tensor a = param({1.0, -2.0}), b = param({0.5, 3.0});
  optim::Adagrad opt({optim::OptimizerParamGroup({a})}, optim::AdagradOptions(0.1));
  opt.add_param_group(optim::OptimizerParamGroup({b}));
  CHECK(opt.param_groups().size() == 2);
  CHECK(opt.group_lr(1) == 0.1);
  run_steps(opt, {a, b});
  Tensor b1 = param({0.5, 3.0});
  optim::Adagrad alone({b1}, optim::AdagradOptions(0.1));
  run_steps(alone, {b1});
  CHECK(values(b) == values(b1));
}

TEST_CASE("schedulers move every group from its own initial lr") {
  Tensor a = param({1.0, -2.0}), b = param({0.5, 3.0});
  optim::SGD opt({optim::OptimizerParamGroup({a}),
                  optim::OptimizerParamGroup({b}, std::make_unique<optim::SGDOptions>(optim::SGDOptions(1.0)))},
                 optim::SGDOptions(0.1));
  optim::StepLR step(opt, /*step_size=*/2, /*gamma=*/0.5);
  step.step();
  step.step();
  CHECK(step.get_last_lrs() == std::vector<double>{0.05, 0.5});
  CHECK(step.get_last_lr() == 0.05);

  optim::ReduceLROnPlateau plateau(opt, optim::ReduceLROnPlateauOptions{}.patience(0).factor(0.5));
  plateau.step(1.0);
  plateau.step(2.0);  // no improvement: every group's lr halves
  CHECK(opt.group_lr(0) == 0.025);
  CHECK(opt.group_lr(1) == 0.25);
}

TEST_CASE("a checkpoint keeps each group's options and state; a plain optimiser's format is unchanged") {
  Tensor a = param({1.0, -2.0}), b = param({0.5, 3.0});
  auto make = [](Tensor x, Tensor y) {
    return std::make_unique<optim::Adam>(
        std::vector<optim::OptimizerParamGroup>{
            optim::OptimizerParamGroup({x}),
            optim::OptimizerParamGroup({y}, std::make_unique<optim::AdamOptions>(optim::AdamOptions(1e-2)))},
        optim::AdamOptions(1e-3));
  };
  auto opt = make(a, b);
  run_steps(*opt, {a, b});
  opt->param_groups()[1].options().set_lr(7e-3);
  const SafetensorsFile saved = opt->state_dict();
  CHECK(saved.metadata.at("num_groups") == "2");

  Tensor a2 = param({1.0, -2.0}), b2 = param({0.5, 3.0});
  a2.detach().copy_(a.detach());
  b2.detach().copy_(b.detach());
  auto restored = make(a2, b2);
  restored->load_state_dict(saved);
  CHECK(restored->group_lr(1) == 7e-3);
  run_steps(*opt, {a, b});
  run_steps(*restored, {a2, b2});
  CHECK(values(a) == values(a2));
  CHECK(values(b) == values(b2));

  // A groupless optimiser keeps the old format, and refuses a grouped checkpoint.
  Tensor c = param({1.0, 2.0});
  optim::Adam plain({c}, optim::AdamOptions(1e-3));
  CHECK(plain.state_dict().metadata.count("num_groups") == 0);
  CHECK_THROWS_WITH_AS(plain.load_state_dict(saved), doctest::Contains("parameters"), cake::Error);
}

// The hyperparameters a checkpoint holds under `prefix` ("hp." for the optimiser's options,
// "group.<g>.hp." for group g's), as "name=text" in key order: the format of existing
// checkpoints, pinned name for name and digit for digit.
namespace {

std::string saved_hyperparameters(const optim::Optimizer& opt, const std::string& prefix) {
  std::string out;
  for (const auto& [key, text] : opt.state_dict().metadata) {
    if (key.rfind(prefix, 0) != 0) continue;
    if (!out.empty()) out += ' ';
    out += key.substr(prefix.size()) + "=" + text;
  }
  return out;
}

// An optimiser whose second group has options of its own saves both sets as `defaults_text` and
// `group_text`, and an optimiser built with PyTorch's defaults reads them all back.
template <class Optimizer, class Options>
void check_saved_hyperparameters(const Options& defaults, const Options& second, const std::string& defaults_text,
                                 const std::string& group_text) {
  INFO(Optimizer({param({1.0})}, defaults).name());
  Optimizer grouped({optim::OptimizerParamGroup({param({1.0, -2.0})}),
                     optim::OptimizerParamGroup({param({0.5, 3.0})}, std::make_unique<Options>(second))},
                    defaults);
  CHECK(saved_hyperparameters(grouped, "hp.") == defaults_text);
  CHECK(saved_hyperparameters(grouped, "group.0.hp.") == defaults_text);
  CHECK(saved_hyperparameters(grouped, "group.1.hp.") == group_text);
  Optimizer restored({optim::OptimizerParamGroup({param({1.0, -2.0})}),
                      optim::OptimizerParamGroup({param({0.5, 3.0})}, std::make_unique<Options>())});
  restored.load_state_dict(grouped.state_dict());
  CHECK(saved_hyperparameters(restored, "hp.") == defaults_text);
  CHECK(saved_hyperparameters(restored, "group.0.hp.") == defaults_text);
  CHECK(saved_hyperparameters(restored, "group.1.hp.") == group_text);
}

}  // namespace

TEST_CASE("every optimiser saves its own and each group's hyperparameters, and reads them back") {
  using namespace optim;
  check_saved_hyperparameters<SGD>(SGDOptions(0.1).momentum(0.9).nesterov(true),
                                   SGDOptions(0.5).momentum(0.5).dampening(0.25).weight_decay(1e-4),
                                   "dampening=0 lr=0.1 momentum=0.9 nesterov=1 weight_decay=0",
                                   "dampening=0.25 lr=0.5 momentum=0.5 nesterov=0 weight_decay=1e-04");
  check_saved_hyperparameters<Adam>(AdamOptions(1e-3).amsgrad(true), AdamOptions(0.02).betas({0.8, 0.9}).eps(1e-6),
                                    "amsgrad=1 beta1=0.9 beta2=0.999 eps=1e-08 lr=0.001 weight_decay=0",
                                    "amsgrad=0 beta1=0.8 beta2=0.9 eps=1e-06 lr=0.02 weight_decay=0");
  check_saved_hyperparameters<AdamW>(AdamWOptions(3e-4), AdamWOptions(0.01).weight_decay(0.1).amsgrad(true),
                                     "amsgrad=0 beta1=0.9 beta2=0.999 eps=1e-08 lr=3e-04 weight_decay=0.01",
                                     "amsgrad=1 beta1=0.9 beta2=0.999 eps=1e-08 lr=0.01 weight_decay=0.1");
  check_saved_hyperparameters<Adagrad>(
      AdagradOptions(0.1).lr_decay(0.01), AdagradOptions(0.2).initial_accumulator_value(0.5).eps(1e-8),
      "eps=1e-10 initial_accumulator_value=0 lr=0.1 lr_decay=0.01 weight_decay=0",
      "eps=1e-08 initial_accumulator_value=0.5 lr=0.2 lr_decay=0 weight_decay=0");
  check_saved_hyperparameters<RMSprop>(RMSpropOptions(0.01).centered(true),
                                       RMSpropOptions(0.05).alpha(0.9).momentum(0.5),
                                       "alpha=0.99 centered=1 eps=1e-08 lr=0.01 momentum=0 weight_decay=0",
                                       "alpha=0.9 centered=0 eps=1e-08 lr=0.05 momentum=0.5 weight_decay=0");
  check_saved_hyperparameters<Adamax>(AdamaxOptions(0.01), AdamaxOptions(0.05).weight_decay(0.1),
                                      "beta1=0.9 beta2=0.999 eps=1e-08 lr=0.01 weight_decay=0",
                                      "beta1=0.9 beta2=0.999 eps=1e-08 lr=0.05 weight_decay=0.1");
  check_saved_hyperparameters<NAdam>(NAdamOptions(0.01), NAdamOptions(0.05).momentum_decay(0.01),
                                     "beta1=0.9 beta2=0.999 eps=1e-08 lr=0.01 momentum_decay=0.004 weight_decay=0",
                                     "beta1=0.9 beta2=0.999 eps=1e-08 lr=0.05 momentum_decay=0.01 weight_decay=0");
  check_saved_hyperparameters<RAdam>(RAdamOptions(0.01), RAdamOptions(0.05).betas({0.8, 0.9}),
                                     "beta1=0.9 beta2=0.999 eps=1e-08 lr=0.01 weight_decay=0",
                                     "beta1=0.8 beta2=0.9 eps=1e-08 lr=0.05 weight_decay=0");
  check_saved_hyperparameters<Adadelta>(AdadeltaOptions(1.0), AdadeltaOptions(0.5).rho(0.8),
                                        "eps=1e-06 lr=1 rho=0.9 weight_decay=0",
                                        "eps=1e-06 lr=0.5 rho=0.8 weight_decay=0");
}

TEST_CASE("a checkpoint restores the saved hyperparameters and keeps the settings it does not save") {
  // Adam's `fused` and `capturable` say how to run, not what to compute: each optimiser keeps its own.
  const optim::AdamOptions saved_options = optim::AdamOptions(0.02).amsgrad(true);
  optim::Adam saved({optim::OptimizerParamGroup({param({1.0})}),
                     optim::OptimizerParamGroup({param({2.0})}, std::make_unique<optim::AdamOptions>(saved_options))},
                    saved_options);
  optim::Adam restored({optim::OptimizerParamGroup({param({1.0})}),
                        optim::OptimizerParamGroup({param({2.0})}, std::make_unique<optim::AdamOptions>(
                                                                       optim::AdamOptions().fused(false)))},
                       optim::AdamOptions().fused(false));
  restored.load_state_dict(saved.state_dict());
  for (std::size_t g = 0; g < 2; ++g) {
    const auto& o = restored.param_groups()[g].options().as<optim::AdamOptions>();
    CHECK(o.lr() == 0.02);
    CHECK(o.amsgrad());
    CHECK_FALSE(o.fused());
  }

  // LBFGS has one group; a group with options of its own is saved beside the defaults.
  const optim::LBFGSOptions own = optim::LBFGSOptions(0.5).max_iter(4).history_size(3).line_search_fn("strong_wolfe");
  optim::LBFGS lbfgs({optim::OptimizerParamGroup({param({1.0, 2.0})}, std::make_unique<optim::LBFGSOptions>(own))},
                     optim::LBFGSOptions(0.25));
  const std::string defaults_text =
      "history_size=100 lr=0.25 max_eval=25 max_iter=20 strong_wolfe=0 tolerance_change=1e-09 tolerance_grad=1e-07";
  const std::string own_text =
      "history_size=3 lr=0.5 max_eval=5 max_iter=4 strong_wolfe=1 tolerance_change=1e-09 tolerance_grad=1e-07";
  CHECK(saved_hyperparameters(lbfgs, "hp.") == defaults_text);
  CHECK(saved_hyperparameters(lbfgs, "group.0.hp.") == own_text);
  optim::LBFGS lbfgs_restored(
      {optim::OptimizerParamGroup({param({1.0, 2.0})}, std::make_unique<optim::LBFGSOptions>(optim::LBFGSOptions()))});
  lbfgs_restored.load_state_dict(lbfgs.state_dict());
  CHECK(saved_hyperparameters(lbfgs_restored, "hp.") == defaults_text);
  CHECK(saved_hyperparameters(lbfgs_restored, "group.0.hp.") == own_text);
  CHECK(lbfgs_restored.param_groups()[0].options().as<optim::LBFGSOptions>().line_search_fn() == "strong_wolfe");
}

namespace {

// A user's optimiser written on OptimizerWithOptions (docs/libtorch.md, "a custom optimiser"):
// signSGD, p <- p - lr sign(g) (Bernstein et al. 2018), with a scale on the step.
struct SignSGDOptions {
  double lr = 0.01;
  double scale = 1.0;
};

class SignSGD : public optim::OptimizerWithOptions<SignSGD, SignSGDOptions> {
 public:
  explicit SignSGD(std::vector<Tensor> params, const SignSGDOptions& options = {})
      : OptimizerWithOptions(std::move(params)), options(options) {}
  explicit SignSGD(std::vector<optim::OptimizerParamGroup> groups, const SignSGDOptions& options = {})
      : OptimizerWithOptions(std::move(groups)), options(options) {
    give_groups_options(options);
  }
  void step() override {
    NoGradGuard no_grad;
    for (std::size_t g = 0; g < param_groups().size(); ++g) {
      const SignSGDOptions& o = group_options(g, options);
      for (std::size_t i = group_begin(g); i < group_end(g); ++i) params_[i].sub_(params_[i].grad().sign() * (o.lr * o.scale));
    }
  }
  std::string name() const override { return "SignSGD"; }

  SignSGDOptions options;

 private:
  friend OptimizerWithOptions;
  static optim::Hyperparameters values_of(const SignSGDOptions& o) { return {{"lr", o.lr}, {"scale", o.scale}}; }
  static SignSGDOptions options_from(const optim::HyperparameterLookup& value, const SignSGDOptions&) {
    return {.lr = value("lr"), .scale = value("scale")};
  }
};

}  // namespace

TEST_CASE("a user's optimiser on OptimizerWithOptions: steps, schedulers, groups and checkpoints") {
  Tensor a = param({1.0, -2.0}), b = param({0.5, 3.0});
  SignSGD opt({optim::OptimizerParamGroup({a}),
               optim::OptimizerParamGroup({b}, std::make_unique<SignSGDOptions>(SignSGDOptions{.lr = 1.0, .scale = 0.5}))},
              {.lr = 0.1, .scale = 2.0});
  run_steps(opt, {a, b});  // gradient signs (+, -), (+, +), (-, +): net +1 and +1
  CHECK(values(a) == std::vector<double>{1.0 - 0.2, -2.0 - 0.2});
  CHECK(values(b) == std::vector<double>{0.5 - 0.5, 3.0 - 0.5});
  // The groups' lrs come through the base, so a scheduler drives both groups; lr() is the
  // defaults' (as every optimiser's with groups).
  optim::StepLR schedule(opt, /*step_size=*/1, /*gamma=*/0.5);
  schedule.step();
  CHECK(opt.group_lr(0) == 0.05);
  CHECK(opt.group_lr(1) == 0.5);
  CHECK(opt.lr() == 0.1);
  opt.set_lr(0.2);
  CHECK(opt.options.lr == 0.2);
  // The hyperparameters round-trip through a checkpoint, the group's own ones too.
  Tensor c = param({0.0, 0.0}), d = param({0.0, 0.0});
  SignSGD restored({optim::OptimizerParamGroup({c}), optim::OptimizerParamGroup({d}, std::make_unique<SignSGDOptions>())});
  restored.load_state_dict(opt.state_dict());
  CHECK(restored.options.lr == 0.2);
  CHECK(restored.options.scale == 2.0);
  CHECK(restored.group_lr(0) == 0.05);
  CHECK(restored.param_groups()[1].options().as<SignSGDOptions>().lr == 0.5);
  CHECK(restored.param_groups()[1].options().as<SignSGDOptions>().scale == 0.5);
  CHECK(opt.state_dict().metadata.at("hp.scale") == "2");
}
