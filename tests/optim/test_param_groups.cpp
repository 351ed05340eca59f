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
