// lbfgs.h: L-BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., chapter 7), exactly as
// torch.optim.LBFGS / libtorch's torch::optim::LBFGS, with its optional strong Wolfe line search.
//
//   cake::optim::LBFGS opt(net->parameters(), cake::optim::LBFGSOptions(1).line_search_fn("strong_wolfe"));
//   for (int epoch = 0; epoch < 10; ++epoch) {
//     cake::Tensor loss = opt.step([&] {          // a step evaluates the loss several times
//       opt.zero_grad();
//       cake::Tensor l = (net->forward(x) - y).square().mean();
//       l.backward();
//       return l;                                 // the closure returns the loss ...
//     });                                         // ... and step() the loss before its first move
//   }
//
// A quasi-Newton method for full-batch problems: it builds an estimate of the inverse Hessian
// from the last `history_size` pairs s = x_{k+1} - x_k, y = g_{k+1} - g_k and moves along
// d = -H g. One step() runs up to max_iter such iterations (and max_eval loss evaluations), so
// it needs the closure to re-evaluate the loss: step() without one throws. All parameters form
// one flat vector x; as in PyTorch there is a single parameter group, and the state (direction,
// history, counters) belongs to the whole optimiser, not to a parameter. cake::save(opt, file)
// keeps it all, so a loaded optimiser continues exactly.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "cake/nn/options.h"
#include "cake/optim/optimizer.h"

namespace cake::optim {

struct LBFGSOptions {
  using Self = LBFGSOptions;
  CAKE_ARG(double, lr) = 1.0;  // scales every step (the line search's first trial step)
  CAKE_ARG(std::int64_t, max_iter) = 20;  // iterations per step()
  // Loss evaluations per step(); unset means max_iter * 5 / 4 (fixed when the optimiser is built).
  CAKE_ARG(std::optional<std::int64_t>, max_eval) = std::nullopt;
  CAKE_ARG(double, tolerance_grad) = 1e-7;    // stop when max |g_i| <= this (first-order optimality)
  CAKE_ARG(double, tolerance_change) = 1e-9;  // stop when the loss or the step changes less
  CAKE_ARG(std::int64_t, history_size) = 100; // pairs (s, y) kept
  // std::nullopt: a fixed step of lr (lr min(1, 1 / ||g||_1) at the very first iteration);
  // "strong_wolfe": a line search for a step meeting the strong Wolfe conditions.
  CAKE_ARG(std::optional<std::string>, line_search_fn) = std::nullopt;
};

// The search state, one for all parameters (libtorch's LBFGSParamState; PyTorch files it under
// the first parameter). Flat vectors have as many entries as all parameters together.
struct LBFGSState {
  std::int64_t func_evals = 0;  // loss evaluations, over all steps
  std::int64_t n_iter = 0;      // iterations, over all steps
  Tensor d;                     // the last search direction ...
  double t = 0.0;               // ... and the step length taken along it
  std::deque<Tensor> old_dirs;  // y_k = g_{k+1} - g_k, oldest first
  std::deque<Tensor> old_stps;  // s_k = t d, the matching steps
  std::deque<double> ro;        // rho_k = 1 / (y_k . s_k)
  double H_diag = 1.0;          // gamma: the initial inverse Hessian is gamma I (N&W eq. 7.20)
  Tensor prev_flat_grad;        // the gradient at the start of the last iteration
  double prev_loss = 0.0;       // ... and the loss there
};

class LBFGS : public OptimizerWithOptions<LBFGS, LBFGSOptions> {
 public:
  explicit LBFGS(std::vector<Tensor> params, const LBFGSOptions& options = {});
  // One group only (as PyTorch); the constructor refuses more.
  explicit LBFGS(std::vector<OptimizerParamGroup> groups, const LBFGSOptions& options = {});

  // Runs up to max_iter iterations, calling `closure` for every loss and gradient it needs
  // (with gradient recording on), and returns the loss of the first call: the loss before
  // this step moved the parameters.
  Tensor step(const LossClosure& closure);
  // Throws: L-BFGS must re-evaluate the loss, so it needs step(closure).
  void step() override;

  std::string name() const override { return "LBFGS"; }

  // The search state and history (see LBFGSState), saved by state_dict() under "lbfgs.*".
  const LBFGSState& lbfgs_state() const { return search_; }
  SafetensorsFile state_dict() const override;
  void load_state_dict(const SafetensorsFile& state, const std::string& source = "state dict") override;

  LBFGSOptions options;

 private:
  friend OptimizerWithOptions;  // reads the two below (optimizer.h)
  static Hyperparameters values_of(const LBFGSOptions& o);
  static LBFGSOptions options_from(const HyperparameterLookup& value, const LBFGSOptions& current);

  const LBFGSOptions& active_options() const { return group_options(0, options); }
  // The parameters as one flat vector: the gradient, and the update x <- x + step_size update.
  Tensor gather_flat_grad() const;
  void add_to_params(double step_size, const Tensor& update);
  // The loss and flat gradient at x + t d, leaving the parameters at x (line-search trials).
  std::pair<double, Tensor> directional_evaluate(const LossClosure& closure, const std::vector<Tensor>& x, double t,
                                                 const Tensor& d);
  // The L-BFGS direction d = -H g from the history (two-loop recursion, N&W Algorithm 7.4).
  Tensor two_loop_direction(const Tensor& flat_grad) const;
  // Adds the pair (s, y) of the iteration just finished to the history.
  void update_history(const Tensor& flat_grad);

  LBFGSState search_;
};

}  // namespace cake::optim
