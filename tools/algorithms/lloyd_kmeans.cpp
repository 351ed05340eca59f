// lloyd_kmeans.cpp: plain Lloyd k-means, registered as `kmeans-lloyd`.
//
// The textbook loop of seed 001 (MIT 6.390, lecture 12, K-MEANS(k, tau, {x_i})), after
// Lloyd (1982), "Least squares quantization in PCM":
//   1  mu = random initialisation: k distinct samples drawn with Cake's generator
//   2  for t = 1 .. tau (max_iter)
//   3    y_old = y
//   5    y_i  = argmin_j |x_i - mu_j|^2                 the assignment step
//   7    mu_j = (1 / N_j) sum_{i : y_i = j} x_i          the update step
//   8    if y == y_old: break                            labels stopped changing
// Each step can only lower the objective (the inertia, sum_i |x_i - mu_{y_i}|^2), so the loop
// ends in a local minimum, which depends on the initialisation ("initialisation matters",
// same lecture): n_init > 1 repeats the loop from fresh random centres and keeps the run with
// the lowest inertia. An empty cluster keeps its previous centre (its mean is undefined).
//
// The classical suite's `kmeans` (algorithms/) adds k-means++ seeding; this one stays the
// plain algorithm, written as its three steps in Cake ops (so it runs on any device), so the
// whole command-line path has a small, readable algorithm to run.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "algorithms/detail/common.h"
#include "autograd/ops.h"
#include "data/npy.h"
#include "tensor/creation.h"
#include "tools/errors.h"
#include "tools/registry.h"

namespace cake::cli {
namespace {

// Line 1: k distinct samples, picked by a random permutation (so manual_seed fixes them).
Tensor random_centres(const Tensor& x, std::int64_t k) {
  const Tensor chosen = randperm(x.size(0)).narrow(0, 0, k).to(x.device());
  return index_select(x, 0, chosen);
}

// Line 5: each sample to its nearest centre. All N x k squared distances come from one GEMM,
// |x_i - mu_j|^2 = |x_i|^2 - 2 x_i . mu_j + |mu_j|^2 (cdist_squared); ties go to the lower j.
struct Assignment {
  Tensor labels;   // int64 [N]
  double inertia;  // sum_i |x_i - mu_{y_i}|^2, the k-means objective
};
Assignment assign(const Tensor& x, const Tensor& centres) {
  auto [nearest, labels] = cake::min(cdist_squared(x, centres), 1);
  return {labels, nearest.sum().item<double>()};
}

// Line 7: each centre moves to the mean of its samples, sum_{i: y_i = j} x_i / N_j; an empty
// cluster (N_j = 0) keeps its centre.
Tensor update(const Tensor& x, const Tensor& labels, const Tensor& centres) {
  const Tensor sums = index_add(zeros_like(centres), 0, labels, x);
  const Tensor counts = bincount(labels, {}, centres.size(0)).to(x.dtype()).unsqueeze(1);
  return where(counts > 0.0, sums / counts.clamp_min(1.0), centres);
}

struct LloydRun {
  Tensor centres, labels;
  double inertia = 0;
  std::int64_t iterations = 0;
  std::vector<double> inertia_per_iteration;
};

// Lines 1-10, reporting each iteration to the progress bar and log.jsonl.
LloydRun lloyd(const Tensor& x, std::int64_t k, std::int64_t max_iter, std::int64_t restart, RunContext& ctx) {
  LloydRun run;
  run.centres = random_centres(x, k);
  for (std::int64_t t = 1; t <= max_iter; ++t) {
    const Assignment a = assign(x, run.centres);
    const std::int64_t changed = run.labels.defined() ? (a.labels != run.labels).to(kInt64).sum().item<std::int64_t>()
                                                      : x.size(0);
    run.labels = a.labels;
    run.centres = update(x, run.labels, run.centres);
    run.iterations = t;
    run.inertia_per_iteration.push_back(a.inertia);
    ctx.log({{"restart", restart}, {"iteration", t}, {"inertia", a.inertia}, {"changed", changed}});
    ctx.progress->update(t, {{"inertia", a.inertia}, {"changed", static_cast<double>(changed)}});
    if (changed == 0) break;
  }
  // The objective of the final centres (each iteration measured the centres before its update).
  const Assignment final_assignment = assign(x, run.centres);
  run.labels = final_assignment.labels;
  run.inertia = final_assignment.inertia;
  return run;
}

void run_lloyd_kmeans(RunContext& ctx) {
  const std::int64_t k = ctx.params.get_int("n_clusters");
  const std::int64_t max_iter = ctx.params.get_int("max_iter");
  const std::int64_t n_init = ctx.params.get_int("n_init");
  const Tensor& x = ctx.data;  // [N, D] float32 on ctx.device
  const std::int64_t n = x.size(0);
  if (k < 1 || k > n)
    throw UsageError("kmeans-lloyd: n_clusters must be between 1 and the number of samples (" + std::to_string(n) +
                     "), got " + std::to_string(k));
  if (max_iter < 1 || n_init < 1) throw UsageError("kmeans-lloyd: max_iter and n_init must be at least 1");
  // The classical suite's checks (finite, and small enough that the expanded squared distances
  // |x|^2 - 2 x.c + |c|^2 cannot overflow float32 nor lose every digit to cancellation).
  (void)algorithms::detail::data_matrix(x, "kmeans-lloyd", k);

  LloydRun best;
  best.inertia = std::numeric_limits<double>::infinity();
  std::int64_t best_restart = 0;
  for (std::int64_t r = 0; r < n_init; ++r) {
    ctx.progress->start(n_init > 1 ? "restart " + std::to_string(r + 1) + "/" + std::to_string(n_init) + ", iteration" : "iteration",
                        max_iter);
    LloydRun run = lloyd(x, k, max_iter, r, ctx);
    ctx.progress->finish();
    if (r == 0 || run.inertia < best.inertia) {  // the first run even when its inertia is NaN
      best = std::move(run);
      best_restart = r;
    }
  }
  CAKE_CHECK(std::isfinite(best.inertia), "kmeans-lloyd: the inertia is ", best.inertia,
             ": squared distances overflowed float32 (values too large); rescale the data");

  ctx.metrics["inertia"] = best.inertia;
  ctx.metrics["n_iter"] = best.iterations;
  ctx.metrics["best_restart"] = best_restart;
  ctx.save_labels(best.labels);
  data::write_npy(ctx.path("centroids.npy"), best.centres);
  ctx.save_curve("objective.png", "k-means objective per iteration", {{"inertia", best.inertia_per_iteration}}, "iteration");
  if (ctx.image_shape) ctx.save_image_grid("centroids.png", best.centres, std::min<std::int64_t>(k, 10));
}

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "kmeans-lloyd",
    .summary = "plain Lloyd k-means; the classical suite's kmeans has k-means++ and restarts",
    .reference = "Lloyd 1982, Least squares quantization in PCM (the loop of seed 001, MIT 6.390 lecture 12)",
    .params = {{"n_clusters", ParamType::Int, "8", "number of clusters k"},
               {"max_iter", ParamType::Int, "300", "most assignment/update rounds; stops earlier when labels stop changing"},
               {"n_init", ParamType::Int, "1", "independent random starts; the lowest inertia wins (1: the textbook loop)"}},
    .run = run_lloyd_kmeans,
});

}  // namespace cake::cli
