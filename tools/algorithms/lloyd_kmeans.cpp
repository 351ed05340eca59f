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
// plain algorithm, written as its three steps, so the whole command-line path has a small,
// readable algorithm to run.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "data/npy.h"
#include "tensor/creation.h"
#include "tensor/parallel.h"
#include "tools/errors.h"
#include "tools/registry.h"

namespace cake::cli {
namespace {

// Data and centres as contiguous float32 rows on the CPU.
struct Problem {
  const float* x;
  std::int64_t n, d;
};

// Line 1: k distinct samples, picked by a random permutation (so manual_seed fixes them).
std::vector<float> random_centres(const Problem& p, std::int64_t k) {
  const Tensor order = randperm(p.n).contiguous();
  const std::int64_t* index = order.data_ptr<std::int64_t>();
  std::vector<float> centres(static_cast<std::size_t>(k * p.d));
  for (std::int64_t j = 0; j < k; ++j)
    std::copy_n(p.x + index[j] * p.d, p.d, centres.begin() + j * p.d);
  return centres;
}

// Line 5: each sample to its nearest centre. Writes labels, returns the inertia.
double assign(const Problem& p, const std::vector<float>& centres, std::int64_t k, std::vector<std::int64_t>& labels) {
  std::vector<double> nearest(static_cast<std::size_t>(p.n));
  parallel_for(0, p.n, 64, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const float* xi = p.x + i * p.d;
      double best = std::numeric_limits<double>::infinity();
      std::int64_t best_j = 0;
      for (std::int64_t j = 0; j < k; ++j) {
        const float* cj = centres.data() + j * p.d;
        double distance = 0;
        for (std::int64_t c = 0; c < p.d; ++c) {
          const double diff = static_cast<double>(xi[c]) - cj[c];
          distance += diff * diff;
        }
        if (distance < best) {  // ties go to the lower index, as argmin's
          best = distance;
          best_j = j;
        }
      }
      labels[static_cast<std::size_t>(i)] = best_j;
      nearest[static_cast<std::size_t>(i)] = best;
    }
  });
  double inertia = 0;
  for (double v : nearest) inertia += v;
  return inertia;
}

// Line 7: each centre moves to the mean of its samples; an empty cluster keeps its centre.
void update(const Problem& p, const std::vector<std::int64_t>& labels, std::int64_t k, std::vector<float>& centres) {
  std::vector<double> sums(static_cast<std::size_t>(k * p.d), 0.0);
  std::vector<std::int64_t> counts(static_cast<std::size_t>(k), 0);
  for (std::int64_t i = 0; i < p.n; ++i) {
    const std::int64_t j = labels[static_cast<std::size_t>(i)];
    ++counts[static_cast<std::size_t>(j)];
    for (std::int64_t c = 0; c < p.d; ++c) sums[static_cast<std::size_t>(j * p.d + c)] += p.x[i * p.d + c];
  }
  for (std::int64_t j = 0; j < k; ++j) {
    if (counts[static_cast<std::size_t>(j)] == 0) continue;
    for (std::int64_t c = 0; c < p.d; ++c)
      centres[static_cast<std::size_t>(j * p.d + c)] =
          static_cast<float>(sums[static_cast<std::size_t>(j * p.d + c)] / counts[static_cast<std::size_t>(j)]);
  }
}

struct LloydRun {
  std::vector<float> centres;
  std::vector<std::int64_t> labels;
  double inertia = 0;
  std::int64_t iterations = 0;
  std::vector<double> inertia_per_iteration;
};

// Lines 1-10, reporting each iteration to the progress bar and log.jsonl.
LloydRun lloyd(const Problem& p, std::int64_t k, std::int64_t max_iter, std::int64_t restart, RunContext& ctx) {
  LloydRun run;
  run.centres = random_centres(p, k);
  run.labels.assign(static_cast<std::size_t>(p.n), -1);
  std::vector<std::int64_t> previous;
  for (std::int64_t t = 1; t <= max_iter; ++t) {
    previous = run.labels;
    run.inertia = assign(p, run.centres, k, run.labels);
    update(p, run.labels, k, run.centres);
    std::int64_t changed = 0;
    for (std::size_t i = 0; i < previous.size(); ++i) changed += previous[i] != run.labels[i];
    run.iterations = t;
    run.inertia_per_iteration.push_back(run.inertia);
    ctx.log({{"restart", restart}, {"iteration", t}, {"inertia", run.inertia}, {"changed", changed}});
    ctx.progress->update(t, {{"inertia", run.inertia}, {"changed", static_cast<double>(changed)}});
    if (changed == 0) break;
  }
  // The inertia of the final centres (the loop measured the centres before the last update).
  run.inertia = assign(p, run.centres, k, run.labels);
  return run;
}

void run_lloyd_kmeans(RunContext& ctx) {
  const std::int64_t k = ctx.params.get_int("n_clusters");
  const std::int64_t max_iter = ctx.params.get_int("max_iter");
  const std::int64_t n_init = ctx.params.get_int("n_init");
  const Tensor x = ctx.data.to(kCPU, kFloat32).contiguous();
  const Problem p{x.data_ptr<float>(), x.size(0), x.size(1)};
  if (k < 1 || k > p.n)
    throw UsageError("kmeans-lloyd: n_clusters must be between 1 and the number of samples (" + std::to_string(p.n) +
                     "), got " + std::to_string(k));
  if (max_iter < 1 || n_init < 1) throw UsageError("kmeans-lloyd: max_iter and n_init must be at least 1");

  LloydRun best;
  best.inertia = std::numeric_limits<double>::infinity();
  std::int64_t best_restart = 0;
  for (std::int64_t r = 0; r < n_init; ++r) {
    ctx.progress->start(n_init > 1 ? "restart " + std::to_string(r + 1) + "/" + std::to_string(n_init) + ", iteration" : "iteration",
                        max_iter);
    LloydRun run = lloyd(p, k, max_iter, r, ctx);
    ctx.progress->finish();
    if (run.inertia < best.inertia) {
      best = std::move(run);
      best_restart = r;
    }
  }

  const Tensor centres = tensor(best.centres, {k, p.d});
  ctx.metrics["inertia"] = best.inertia;
  ctx.metrics["n_iter"] = best.iterations;
  ctx.metrics["best_restart"] = best_restart;
  ctx.save_labels(tensor(best.labels, {p.n}));
  data::write_npy(ctx.path("centroids.npy"), centres);
  ctx.save_curve("objective.png", "k-means objective per iteration", {{"inertia", best.inertia_per_iteration}}, "iteration");
  if (ctx.image_shape) ctx.save_image_grid("centroids.png", centres, std::min<std::int64_t>(k, 10));
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
