// lbfgs.cpp: torch.optim.LBFGS (PyTorch 1.13, itself a port of Lua torch's optim.lbfgs and
// lswolfe, after Mark Schmidt's minFunc), step for step: the same iterations, stopping tests and
// line-search decisions, with every scalar in double.
//
// References: J. Nocedal & S. J. Wright, "Numerical Optimization", 2nd ed. (2006): the two-loop
// recursion is Algorithm 7.4, the scaling gamma = s.y / y.y of the initial matrix eq. (7.20); the
// strong Wolfe conditions eq. (3.7), found by the bracketing search of Algorithm 3.5 and the
// zoom of Algorithm 3.6, with the cubic interpolation of eq. (3.59).
#include "cake/optim/lbfgs.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

namespace {

void check_options(const LBFGSOptions& o) {
  CAKE_CHECK(o.lr() >= 0.0, "LBFGS: lr must be non-negative, got ", o.lr());
  CAKE_CHECK(o.max_iter() >= 1, "LBFGS: max_iter must be at least 1, got ", o.max_iter());
  CAKE_CHECK(!o.max_eval().has_value() || *o.max_eval() >= 1, "LBFGS: max_eval must be at least 1, got ",
             o.max_eval().value_or(0));
  CAKE_CHECK(o.tolerance_grad() >= 0.0, "LBFGS: tolerance_grad must be non-negative, got ", o.tolerance_grad());
  CAKE_CHECK(o.tolerance_change() >= 0.0, "LBFGS: tolerance_change must be non-negative, got ", o.tolerance_change());
  CAKE_CHECK(o.history_size() >= 1, "LBFGS: history_size must be at least 1, got ", o.history_size());
  CAKE_CHECK(!o.line_search_fn().has_value() || *o.line_search_fn() == "strong_wolfe",
             "LBFGS: line_search_fn must be \"strong_wolfe\" or unset (std::nullopt), got \"",
             o.line_search_fn().value_or(""), "\"");
}

// PyTorch's default, fixed when the optimiser is built: max_eval = max_iter * 5 / 4.
LBFGSOptions with_max_eval(LBFGSOptions o) {
  if (!o.max_eval().has_value()) o.max_eval = o.max_iter() * 5 / 4;
  return o;
}

double max_abs(const Tensor& t) { return t.abs().max().item<double>(); }
double dot_value(const Tensor& a, const Tensor& b) { return dot(a, b).item<double>(); }

// ---- the strong Wolfe line search --------------------------------------------------------------

// The minimiser, clamped to [xmin_bound, xmax_bound], of the cubic through (x1, f1) and (x2, f2)
// with slopes g1 and g2 (N&W eq. 3.59, written for either order of x1 and x2); the middle of
// the bounds when the cubic has no minimum.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2, double xmin_bound,
                         double xmax_bound) {
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (!(d2_square >= 0)) return (xmin_bound + xmax_bound) / 2.0;  // (NaN included, as PyTorch)
  const double d2 = std::sqrt(d2_square);
  const double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                                  : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return std::min(std::max(min_pos, xmin_bound), xmax_bound);
}

// Without bounds: between the two points.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2) {
  return cubic_interpolate(x1, f1, g1, x2, f2, g2, std::min(x1, x2), std::max(x1, x2));
}

// One trial step t along d: the loss f there, its flat gradient g and the slope gtd = g.d.
struct Trial {
  double t, f;
  Tensor g;
  double gtd;
};

struct LineSearchResult {
  Trial point;
  std::int64_t func_evals;
};

// The loss and flat gradient at x + t d.
using LineFunction = std::function<std::pair<double, Tensor>(double t)>;

// A step t along the descent direction d from the point `start` (t = 0, with slope start.gtd
// < 0) that meets the strong Wolfe conditions (N&W eq. 3.7):
//   sufficient decrease  f(t) <= f(0) + c1 t f'(0)
//   curvature            |f'(t)| <= c2 |f'(0)|
// PyTorch's _strong_wolfe, with its constants: c1 = 1e-4, c2 = 0.9, at most 25 evaluations,
// and a bracket narrower than 1e-9 / max |d_i| ends the search (its own tolerance, not the
// optimiser's tolerance_change).
LineSearchResult strong_wolfe(const LineFunction& line, const Tensor& d, Trial start, double t) {
  constexpr double c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9;
  constexpr int max_ls = 25;
  const double d_norm = max_abs(d);
  const double f = start.f, gtd = start.gtd;
  auto evaluate = [&](double step) {
    auto [f_new, g_new] = line(step);
    return Trial{step, f_new, g_new, dot_value(g_new, d)};
  };
  auto sufficient_decrease = [&](const Trial& p) { return !(p.f > f + c1 * p.t * gtd); };
  auto curvature = [&](const Trial& p) { return std::abs(p.gtd) <= -c2 * gtd; };

  // Bracketing (Algorithm 3.5): step further until an interval [prev, next] must contain a
  // Wolfe point (the loss rose, or the slope turned non-negative), or `next` is one.
  Trial prev = start, next = evaluate(t);
  std::int64_t func_evals = 1;
  int ls_iter = 0;
  std::array<Trial, 2> bracket;
  bool bracketed = false;
  while (ls_iter < max_ls) {
    if (!sufficient_decrease(next) || (ls_iter > 1 && next.f >= prev.f)) {
      bracket = {prev, next};
      bracketed = true;
      break;
    }
    if (curvature(next)) return {next, func_evals};
    if (next.gtd >= 0) {
      bracket = {prev, next};
      bracketed = true;
      break;
    }
    // Still descending: extrapolate, at least 1% beyond next.t and at most 10 times it.
    const double min_step = next.t + 0.01 * (next.t - prev.t);
    const double max_step = next.t * 10;
    const double t_new = cubic_interpolate(prev.t, prev.f, prev.gtd, next.t, next.f, next.gtd, min_step, max_step);
    prev = next;
    next = evaluate(t_new);
    ++func_evals;
    ++ls_iter;
  }
  if (!bracketed) bracket = {start, next};  // out of evaluations: the best of t = 0 and the last

  // Zoom (Algorithm 3.6): shrink the bracket, keeping at `low` the point with the smaller loss,
  // until a trial meets both conditions. A trial too close to an end (within 10% of the width)
  // twice in a row, or outside, is moved to 10% from the nearer end, so the bracket shrinks.
  std::size_t low = bracket[0].f <= bracket[1].f ? 0 : 1, high = 1 - low;
  bool insufficient_progress = false;
  while (ls_iter < max_ls) {
    if (std::abs(bracket[1].t - bracket[0].t) * d_norm < tolerance_change) break;
    double t_new = cubic_interpolate(bracket[0].t, bracket[0].f, bracket[0].gtd, bracket[1].t, bracket[1].f,
                                     bracket[1].gtd);
    const double t_max = std::max(bracket[0].t, bracket[1].t), t_min = std::min(bracket[0].t, bracket[1].t);
    const double eps = 0.1 * (t_max - t_min);
    if (std::min(t_max - t_new, t_new - t_min) < eps) {
      if (insufficient_progress || t_new >= t_max || t_new <= t_min) {
        t_new = std::abs(t_new - t_max) < std::abs(t_new - t_min) ? t_max - eps : t_min + eps;
        insufficient_progress = false;
      } else {
        insufficient_progress = true;
      }
    } else {
      insufficient_progress = false;
    }
    const Trial trial = evaluate(t_new);
    ++func_evals;
    ++ls_iter;
    if (!sufficient_decrease(trial) || trial.f >= bracket[low].f) {
      bracket[high] = trial;  // the loss is too high here: the new far end
      low = bracket[0].f <= bracket[1].f ? 0 : 1;
      high = 1 - low;
    } else {
      const bool done = curvature(trial);
      // Keep a bracket around a minimiser: if the slope at the trial points away from the old
      // low end, the old low end becomes the high one.
      if (!done && trial.gtd * (bracket[high].t - bracket[low].t) >= 0) bracket[high] = bracket[low];
      bracket[low] = trial;
      if (done) break;
    }
  }
  return {bracket[low], func_evals};
}

}  // namespace

// ---- construction and options ------------------------------------------------------------------

static void check_params(const std::vector<Tensor>& params) {
  CAKE_CHECK(!params.empty(), "LBFGS: there are no parameters to optimise");
  for (std::size_t i = 1; i < params.size(); ++i)
    CAKE_CHECK(params[i].dtype() == params[0].dtype() && params[i].device() == params[0].device(), "LBFGS: parameter ",
               i, " is ", dtype_name(params[i].dtype()), " on ", params[i].device(), " but parameter 0 is ",
               dtype_name(params[0].dtype()), " on ", params[0].device(),
               "; L-BFGS treats all parameters as one vector, so they must share a dtype and device");
}

LBFGS::LBFGS(std::vector<Tensor> params, const LBFGSOptions& options)
    : OptimizerWithOptions(std::move(params)), options(with_max_eval(options)) {
  check_options(this->options);
  check_params(params_);
}

LBFGS::LBFGS(std::vector<OptimizerParamGroup> groups, const LBFGSOptions& options)
    : OptimizerWithOptions(std::move(groups)), options(with_max_eval(options)) {
  CAKE_CHECK(param_groups().size() == 1, "LBFGS doesn't support per-parameter options (parameter groups): it got ",
             param_groups().size(), " groups; pass all parameters in one group, as PyTorch requires");
  if (param_groups()[0].has_options())
    param_groups()[0].set_options(OptimizerOptions(with_max_eval(param_groups()[0].options().as<LBFGSOptions>())));
  give_groups_options(this->options);
  check_options(active_options());
  check_params(params_);
}

// The options as name/value pairs (state dicts), and back; the line search as a flag.
Hyperparameters LBFGS::values_of(const LBFGSOptions& o) {
  return {{"lr", o.lr()},
          {"max_iter", static_cast<double>(o.max_iter())},
          {"max_eval", static_cast<double>(o.max_eval().value())},
          {"tolerance_grad", o.tolerance_grad()},
          {"tolerance_change", o.tolerance_change()},
          {"history_size", static_cast<double>(o.history_size())},
          {"strong_wolfe", o.line_search_fn().has_value() ? 1.0 : 0.0}};
}
LBFGSOptions LBFGS::options_from(const HyperparameterLookup& value, const LBFGSOptions& /*current*/) {
  auto count = [&](const char* key) { return static_cast<std::int64_t>(value(key)); };
  LBFGSOptions o{.lr = value("lr"),
                 .max_iter = count("max_iter"),
                 .max_eval = count("max_eval"),
                 .tolerance_grad = value("tolerance_grad"),
                 .tolerance_change = value("tolerance_change"),
                 .history_size = count("history_size")};
  if (value("strong_wolfe") != 0.0) o.line_search_fn = std::string("strong_wolfe");
  check_options(o);
  return o;
}

// ---- the flat parameter vector -----------------------------------------------------------------

// The gradients of all parameters, one after another (zeros for a parameter without one).
Tensor LBFGS::gather_flat_grad() const {
  std::vector<Tensor> pieces;
  pieces.reserve(params_.size());
  for (const Tensor& p : params_) {
    const TensorOptions like_p(p.dtype(), p.device());
    pieces.push_back(p.grad().defined() ? p.grad().reshape({-1}) : zeros({p.numel()}, like_p));
  }
  return cat(pieces, 0);
}

// x <- x + step_size update, each parameter from its slice of the flat vector.
void LBFGS::add_to_params(double step_size, const Tensor& update) {
  std::int64_t offset = 0;
  for (Tensor& p : params_) {
    p.add_(update.narrow(0, offset, p.numel()).view(p.sizes()), step_size);
    offset += p.numel();
  }
}

std::pair<double, Tensor> LBFGS::directional_evaluate(const LossClosure& closure, const std::vector<Tensor>& x,
                                                      double t, const Tensor& d) {
  add_to_params(t, d);
  double loss = 0.0;
  {
    EnableGradGuard grad_mode;  // the closure records its graph to call backward
    loss = closure().item<double>();
  }
  Tensor flat_grad = gather_flat_grad();
  for (std::size_t i = 0; i < params_.size(); ++i) params_[i].copy_(x[i]);
  return {loss, flat_grad};
}

// ---- the L-BFGS direction ----------------------------------------------------------------------

// After an iteration that moved by s = t d and changed the gradient by y: remember the pair,
// dropping the oldest beyond history_size. A pair with y.s <= 1e-10 is skipped: the update keeps
// the inverse Hessian estimate positive definite only when y.s > 0 (the curvature condition,
// N&W eq. 6.7), and a tiny y.s would make rho huge.
void LBFGS::update_history(const Tensor& flat_grad) {
  LBFGSState& state = search_;
  const Tensor y = flat_grad - state.prev_flat_grad;
  const Tensor s = state.d * state.t;
  const double ys = dot_value(y, s);
  if (ys <= 1e-10) return;
  if (static_cast<std::int64_t>(state.old_dirs.size()) == active_options().history_size()) {
    state.old_dirs.pop_front();
    state.old_stps.pop_front();
    state.ro.pop_front();
  }
  state.old_dirs.push_back(y);
  state.old_stps.push_back(s);
  state.ro.push_back(1. / ys);
  // H_0 = gamma I with gamma = s.y / y.y (N&W eq. 7.20): the size of the true inverse Hessian
  // along the latest step.
  state.H_diag = ys / dot_value(y, y);
}

// d = -H g by the two-loop recursion (N&W Algorithm 7.4), with H built from the stored pairs
// (s_i, y_i) on top of H_0 = H_diag I, in O(history * n) and never forming a matrix.
Tensor LBFGS::two_loop_direction(const Tensor& flat_grad) const {
  const LBFGSState& state = search_;
  const std::size_t num_old = state.old_dirs.size();
  std::vector<double> alpha(num_old);
  Tensor q = flat_grad.neg();
  for (std::size_t i = num_old; i-- > 0;) {  // newest to oldest
    alpha[i] = dot_value(state.old_stps[i], q) * state.ro[i];
    q.add_(state.old_dirs[i], -alpha[i]);
  }
  Tensor r = q * state.H_diag;
  for (std::size_t i = 0; i < num_old; ++i) {  // oldest to newest
    const double beta = dot_value(state.old_dirs[i], r) * state.ro[i];
    r.add_(state.old_stps[i], alpha[i] - beta);
  }
  return r;
}

// ---- the step ----------------------------------------------------------------------------------

void LBFGS::step() {
  CAKE_FAIL("LBFGS::step() needs a closure that re-evaluates the loss, as L-BFGS evaluates it several times per ",
            "step: opt.step([&] { opt.zero_grad(); Tensor loss = ...; loss.backward(); return loss; })");
}

Tensor LBFGS::step(const LossClosure& closure) {
  CAKE_CHECK(closure != nullptr, "LBFGS::step: the closure is empty; pass one that re-evaluates the loss");
  CAKE_CHECK(param_groups().size() == 1, "LBFGS doesn't support per-parameter options (parameter groups): it has ",
             param_groups().size(), " groups (add_param_group is not supported)");
  NoGradGuard no_grad;  // the updates below are not recorded; the closure turns recording back on
  const LBFGSOptions& o = active_options();
  const bool strong_wolfe_search = o.line_search_fn().has_value();
  LBFGSState& state = search_;
  auto evaluate = [&closure] {
    EnableGradGuard grad_mode;
    return closure();
  };

  const Tensor orig_loss = evaluate();
  double loss = orig_loss.item<double>();
  std::int64_t current_evals = 1;
  state.func_evals += 1;
  Tensor flat_grad = gather_flat_grad();
  bool opt_cond = max_abs(flat_grad) <= o.tolerance_grad();
  if (opt_cond) return orig_loss;  // already (first-order) optimal

  for (std::int64_t n_iter = 1; n_iter <= o.max_iter(); ++n_iter) {
    ++state.n_iter;
    // The direction: steepest descent at the very first iteration, L-BFGS's after.
    if (state.n_iter == 1) {
      state.d = flat_grad.neg();
      state.old_dirs.clear();
      state.old_stps.clear();
      state.ro.clear();
      state.H_diag = 1.0;
    } else {
      update_history(flat_grad);
      state.d = two_loop_direction(flat_grad);
    }
    state.prev_flat_grad = flat_grad.clone();
    state.prev_loss = loss;

    // The first trial step: lr, and at the very first iteration no longer than lr / ||g||_1, as
    // there is no curvature information yet to scale the gradient.
    state.t = state.n_iter == 1 ? std::min(1., 1. / flat_grad.abs().sum().item<double>()) * o.lr() : o.lr();
    const double gtd = dot_value(flat_grad, state.d);  // the slope along d
    if (gtd > -o.tolerance_change()) break;            // d is (almost) no descent direction

    std::int64_t ls_func_evals = 0;
    if (strong_wolfe_search) {
      std::vector<Tensor> x_init;
      for (const Tensor& p : params_) x_init.push_back(p.clone());
      const LineFunction line = [&](double t) { return directional_evaluate(closure, x_init, t, state.d); };
      const LineSearchResult found = strong_wolfe(line, state.d, Trial{0.0, loss, flat_grad, gtd}, state.t);
      loss = found.point.f;
      flat_grad = found.point.g;
      state.t = found.point.t;
      ls_func_evals = found.func_evals;
      add_to_params(state.t, state.d);
      opt_cond = max_abs(flat_grad) <= o.tolerance_grad();
    } else {
      add_to_params(state.t, state.d);  // a fixed step
      if (n_iter != o.max_iter()) {
        // Re-evaluated only if another iteration follows (in a stochastic setting the next
        // step() evaluates anyway).
        loss = evaluate().item<double>();
        flat_grad = gather_flat_grad();
        opt_cond = max_abs(flat_grad) <= o.tolerance_grad();
        ls_func_evals = 1;
      }
    }
    current_evals += ls_func_evals;
    state.func_evals += ls_func_evals;

    // Stopping tests: out of iterations or evaluations, optimal, or no more progress.
    if (n_iter == o.max_iter()) break;
    if (current_evals >= o.max_eval().value()) break;
    if (opt_cond) break;
    if (max_abs(state.d * state.t) <= o.tolerance_change()) break;
    if (std::abs(loss - state.prev_loss) < o.tolerance_change()) break;
  }
  return orig_loss;
}

// ---- state dict --------------------------------------------------------------------------------

// The search state rides along the base's per-parameter entries: flat vectors as tensors
// "lbfgs.d", "lbfgs.prev_flat_grad", "lbfgs.old_dirs.<j>", "lbfgs.old_stps.<j>" (oldest first),
// the doubles t, H_diag, prev_loss and the rho list as float64 tensors (exact), the counters and
// the history length as metadata.
SafetensorsFile LBFGS::state_dict() const {
  SafetensorsFile out = Optimizer::state_dict();
  const LBFGSState& state = search_;
  out.metadata["lbfgs.func_evals"] = std::to_string(state.func_evals);
  out.metadata["lbfgs.n_iter"] = std::to_string(state.n_iter);
  out.metadata["lbfgs.history"] = std::to_string(state.old_dirs.size());
  if (!state.d.defined()) return out;  // no iteration yet
  const TensorOptions float64(kFloat64);
  out.tensors["lbfgs.d"] = state.d;
  out.tensors["lbfgs.prev_flat_grad"] = state.prev_flat_grad;
  out.tensors["lbfgs.t"] = full({}, state.t, float64);
  out.tensors["lbfgs.H_diag"] = full({}, state.H_diag, float64);
  out.tensors["lbfgs.prev_loss"] = full({}, state.prev_loss, float64);
  for (std::size_t j = 0; j < state.old_dirs.size(); ++j) {
    out.tensors["lbfgs.old_dirs." + std::to_string(j)] = state.old_dirs[j];
    out.tensors["lbfgs.old_stps." + std::to_string(j)] = state.old_stps[j];
  }
  if (!state.ro.empty())
    out.tensors["lbfgs.ro"] = tensor(std::vector<double>(state.ro.begin(), state.ro.end()),
                                     {static_cast<std::int64_t>(state.ro.size())}, float64);
  return out;
}

void LBFGS::load_state_dict(const SafetensorsFile& state, const std::string& source) {
  const auto optimizer = state.metadata.find("optimizer");
  CAKE_CHECK(optimizer != state.metadata.end() && optimizer->second == name(), "load LBFGS state from ", source,
             ": it holds the state of ",
             optimizer == state.metadata.end() ? std::string("no optimiser") : "a " + optimizer->second + " optimiser");
  // Take out the "lbfgs." entries; what remains is the base's format.
  SafetensorsFile rest = state;
  std::map<std::string, std::string> metadata;
  std::map<std::string, Tensor> tensors;
  for (auto it = rest.metadata.begin(); it != rest.metadata.end();)
    if (it->first.rfind("lbfgs.", 0) == 0) metadata.insert(rest.metadata.extract(it++));
    else ++it;
  for (auto it = rest.tensors.begin(); it != rest.tensors.end();)
    if (it->first.rfind("lbfgs.", 0) == 0) tensors.insert(rest.tensors.extract(it++));
    else ++it;

  auto count = [&](const std::string& key) -> std::int64_t {
    const auto found = metadata.find(key);
    CAKE_CHECK(found != metadata.end(), "load LBFGS state from ", source, ": metadata '", key, "' is missing");
    try {
      std::size_t used = 0;
      const std::int64_t value = std::stoll(found->second, &used);
      if (used == found->second.size() && value >= 0) return value;
    } catch (const std::exception&) {
    }
    CAKE_FAIL("load LBFGS state from ", source, ": metadata '", key, "' is not a count: \"", found->second, "\"");
  };
  auto entry = [&](const std::string& key) -> const Tensor& {
    const auto found = tensors.find(key);
    CAKE_CHECK(found != tensors.end(), "load LBFGS state from ", source, ": tensor '", key, "' is missing");
    return found->second;
  };
  std::int64_t numel = 0;
  for (const Tensor& p : params_) numel += p.numel();
  auto flat = [&](const std::string& key) {
    const Tensor& t = entry(key);
    CAKE_CHECK(t.dim() == 1 && t.numel() == numel, "load LBFGS state from ", source, ": '", key, "' has shape ",
               t.sizes(), " but the parameters have ", numel, " elements in all");
    return t.detach().to(params_[0].device(), params_[0].dtype()).clone();
  };
  auto number = [&](const std::string& key) {
    const Tensor& t = entry(key);
    CAKE_CHECK(t.numel() == 1, "load LBFGS state from ", source, ": '", key, "' has shape ", t.sizes(),
               " but holds one number");
    return t.item<double>();
  };

  LBFGSState loaded;
  loaded.func_evals = count("lbfgs.func_evals");
  loaded.n_iter = count("lbfgs.n_iter");
  const std::int64_t history = count("lbfgs.history");
  if (tensors.count("lbfgs.d")) {
    loaded.d = flat("lbfgs.d");
    loaded.prev_flat_grad = flat("lbfgs.prev_flat_grad");
    loaded.t = number("lbfgs.t");
    loaded.H_diag = number("lbfgs.H_diag");
    loaded.prev_loss = number("lbfgs.prev_loss");
    for (std::int64_t j = 0; j < history; ++j) {
      loaded.old_dirs.push_back(flat("lbfgs.old_dirs." + std::to_string(j)));
      loaded.old_stps.push_back(flat("lbfgs.old_stps." + std::to_string(j)));
    }
    if (history > 0) {
      const Tensor ro = entry("lbfgs.ro").to(kFloat64).contiguous();
      CAKE_CHECK(ro.dim() == 1 && ro.numel() == history, "load LBFGS state from ", source, ": 'lbfgs.ro' has shape ",
                 ro.sizes(), " but the history holds ", history, " pairs");
      const double* values = ro.cpu().data_ptr<double>();
      loaded.ro.assign(values, values + history);
    }
  }
  Optimizer::load_state_dict(rest, source);  // checks the rest; nothing is replaced if it throws
  search_ = std::move(loaded);
}

}  // namespace cake::optim
