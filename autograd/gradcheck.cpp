// gradcheck.cpp: the finite-difference checks of gradcheck.h.
#include "cake/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "cake/autograd/engine.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"

namespace cake::autograd {

namespace {

bool differentiable(const Tensor& t) { return t.defined() && t.is_floating_point(); }

std::vector<double> values_of(const Tensor& t) {
  Tensor c = t.detach().cpu().to(kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

// The check itself. `numeric_without_grad`: evaluate the perturbed function under NoGradGuard
// (gradcheck); gradgradcheck's function runs a backward inside, so it needs recording on.
bool check(const GradcheckFunction& fn, tensor_list inputs, double eps, double atol, double rtol,
           bool raise_exception, bool numeric_without_grad, const char* who) {
  std::vector<std::size_t> wrt;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (!differentiable(inputs[k])) continue;
    CAKE_CHECK(inputs[k].dtype() == kFloat64, who, ": input ", k, " is ", dtype_name(inputs[k].dtype()),
               "; finite differences need float64 inputs");
    inputs[k] = inputs[k].detach().clone().requires_grad_();
    wrt.push_back(k);
  }
  CAKE_CHECK(!wrt.empty(), who, ": no floating-point input to differentiate");
  tensor_list leaves;
  for (std::size_t k : wrt) leaves.push_back(inputs[k]);

  Tensor out = fn(inputs);
  CAKE_CHECK(out.defined() && out.is_floating_point(), who, ": the function must return a floating-point tensor");
  const Tensor w = rand(out.sizes(), {kFloat64, out.device()}) + 0.5;
  tensor_list analytic;
  if (out.requires_grad()) analytic = grad({(out * w).sum()}, leaves, {}, false, false, /*allow_unused=*/true);
  else analytic.resize(leaves.size());

  auto fail = [&](const std::string& message) {
    if (raise_exception) CAKE_FAIL(who, ": ", message);
    return false;
  };
  for (std::size_t j = 0; j < wrt.size(); ++j) {
    const std::size_t k = wrt[j];
    const Tensor base = inputs[k].detach().clone().cpu();
    const std::int64_t n = base.numel();
    if (analytic[j].defined() && analytic[j].sizes() != inputs[k].sizes()) {
      std::ostringstream msg;
      msg << "gradient of input " << k << " has shape " << analytic[j].sizes() << ", the input " << inputs[k].sizes();
      return fail(msg.str());
    }
    const std::vector<double> a = analytic[j].defined() ? values_of(analytic[j]) : std::vector<double>(n, 0.0);
    for (std::int64_t i = 0; i < n; ++i) {
      auto evaluate = [&](double delta) {
        Tensor moved = base.clone();
        moved.data_ptr<double>()[i] += delta;
        tensor_list args = inputs;
        for (auto& x : args)
          if (x.defined()) x = x.detach();
        args[k] = moved.to(inputs[k].device());
        std::optional<NoGradGuard> no_grad;
        if (numeric_without_grad) no_grad.emplace();
        return (fn(args).detach() * w).sum().item<double>();
      };
      const double numeric = (evaluate(eps) - evaluate(-eps)) / (2 * eps);
      const double analytic_i = a[static_cast<std::size_t>(i)];
      if (!(std::abs(analytic_i - numeric) <= atol + rtol * std::abs(numeric))) {
        std::ostringstream msg;
        msg << "gradient of input " << k << " element " << i << ": autograd " << analytic_i << " vs numeric "
            << numeric << " (atol " << atol << ", rtol " << rtol << ")";
        return fail(msg.str());
      }
    }
  }
  return true;
}

}  // namespace

bool gradcheck(const GradcheckFunction& fn, const tensor_list& inputs, double eps, double atol, double rtol,
               bool raise_exception) {
  return check(fn, inputs, eps, atol, rtol, raise_exception, true, "gradcheck");
}

bool gradgradcheck(const GradcheckFunction& fn, const tensor_list& inputs, double eps, double atol, double rtol,
                   bool raise_exception) {
  // A fixed random weight for the first backward, drawn from an output of the right shape.
  Tensor first_weight;
  {
    NoGradGuard no_grad;
    tensor_list plain;
    for (const Tensor& x : inputs) plain.push_back(x.defined() ? x.detach() : x);
    first_weight = rand(fn(plain).sizes(), kFloat64) + 0.5;
  }
  // x -> dL/dx for L = sum(f(x) * first_weight), every input's gradient flattened and joined.
  // In the analytic pass the inputs are leaves and the backward is recorded (create_graph); in
  // the numeric pass they are plain values, made into leaves here.
  auto first_derivative = [&fn, first_weight](const tensor_list& args) {
    tensor_list xs = args, wrt;
    for (Tensor& x : xs) {
      if (!differentiable(x)) continue;
      if (!x.requires_grad()) x = x.detach().clone().requires_grad_();
      wrt.push_back(x);
    }
    Tensor out = fn(xs);
    tensor_list grads = out.requires_grad()
                            ? grad({out}, wrt, {first_weight.to(out.device())}, true, /*create_graph=*/true, true)
                            : tensor_list(wrt.size());
    tensor_list flat;
    for (std::size_t i = 0; i < wrt.size(); ++i)
      flat.push_back(reshape(grads[i].defined() ? grads[i] : zeros_like(wrt[i]), {-1}));
    return cat(flat, 0);
  };
  return check(first_derivative, inputs, eps, atol, rtol, raise_exception, false, "gradgradcheck");
}

}  // namespace cake::autograd
