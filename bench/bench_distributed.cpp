// bench_distributed.cpp: what data-parallel training costs per step in communication, measured
// on the convolutional autoencoder (Cake's seed-004 network, algorithms/networks/autoencoder.h)
// and a ResNet-sized flat gradient. Run it under mpirun with 1, 2, 3 ... ranks:
//
//   OMP_NUM_THREADS=1 mpirun --oversubscribe --allow-run-as-root -np 2
//       build/release/bench/bench_distributed [steps=20] [batch_per_rank=32]   (one line)
//
// Rank 0 prints one row (the table of docs/distributed.md): the time of a training step alone
// (forward + backward + Adam, no communication), of a data-parallel step with the gradient
// buckets overlapped with backward and without overlap, the wait inside
// synchronize_gradients, and one bare all-reduce of the whole gradient. Each rank trains on
// its own batch of batch_per_rank images (weak scaling, as DDP is used). Times are medians over
// `steps` steps after two warm-up steps.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/distributed/data_parallel.h"
#include "cake/distributed/process_group.h"
#include "cake/nn/functional.h"
#include "cake/optim/adam.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"

using namespace cake;
namespace dist = cake::distributed;
using clock_type = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The slowest rank's value: a step is as long as its slowest rank.
double slowest(dist::ProcessGroup& g, double seconds) {
  Tensor t = full({1}, seconds, kFloat64);
  g.all_reduce(t, dist::ReduceOp::Max);
  return t.item<double>();
}

struct StepTimes {
  double step = 0.0, wait = 0.0;
};

// `steps` training steps; with a wrapper, gradients are synchronised before each Adam step.
StepTimes time_steps(dist::ProcessGroup& g, networks::ConvAutoencoder& model, dist::DistributedDataParallel* ddp,
                     const Tensor& x, int steps) {
  optim::Adam adam(model.parameters(), {.lr = 1e-3});
  std::vector<double> step_times, waits;
  for (int s = 0; s < steps + 2; ++s) {
    g.barrier();
    const auto started = clock_type::now();
    adam.zero_grad();
    nn::functional::mse_loss(model.forward(x), x).backward();
    double wait = 0.0;
    if (ddp) {
      const auto sync = clock_type::now();
      ddp->synchronize_gradients();
      wait = std::chrono::duration<double>(clock_type::now() - sync).count();
    }
    adam.step();
    const double step = std::chrono::duration<double>(clock_type::now() - started).count();
    if (s >= 2) {
      step_times.push_back(slowest(g, step));
      waits.push_back(slowest(g, wait));
    }
  }
  return {median(step_times), median(waits)};
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 20;
  const std::int64_t batch = argc > 2 ? std::atoll(argv[2]) : 32;
  auto group = dist::init_process_group();
  dist::ProcessGroup& g = *group;
  manual_seed(static_cast<std::uint64_t>(g.rank()));
  const Tensor x = rand({batch, 1, 28, 28});
  networks::ConvAutoencoder model(16);
  std::int64_t parameters = 0;
  for (const Tensor& p : model.parameters()) parameters += p.numel();

  const StepTimes alone = time_steps(g, model, nullptr, x, steps);
  StepTimes overlapped, serial;
  {
    dist::DistributedDataParallel ddp(model, g, {.overlap = true});
    overlapped = time_steps(g, model, &ddp, x, steps);
  }
  {
    dist::DistributedDataParallel ddp(model, g, {.overlap = false});
    serial = time_steps(g, model, &ddp, x, steps);
  }
  // One bare all-reduce of a gradient the size of this network's, and of ResNet-18's
  // (11.7 million float32 parameters).
  auto bare = [&](std::int64_t n) {
    Tensor grad = ones({n});
    std::vector<double> times;
    for (int s = 0; s < std::max(steps / 2, 5); ++s) {
      g.barrier();
      const auto started = clock_type::now();
      g.all_reduce(grad, dist::ReduceOp::Mean);
      times.push_back(slowest(g, std::chrono::duration<double>(clock_type::now() - started).count()));
    }
    return median(times);
  };
  const double bare_ae = bare(parameters), bare_resnet = bare(11'689'512);
  if (g.rank() == 0) {
    std::printf("ranks %d (%s), batch %lld per rank, %lld parameters (%.2f MB of float32 gradient)\n", g.world_size(),
                g.backend().c_str(), static_cast<long long>(batch), static_cast<long long>(parameters),
                static_cast<double>(parameters) * 4e-6);
    std::printf("| ranks | step alone ms | DDP step (overlap) ms | DDP step (no overlap) ms | sync wait (overlap) ms | "
                "sync wait (no overlap) ms | bare all-reduce AE ms | bare all-reduce 11.7M ms |\n");
    std::printf("| %d | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.1f |\n", g.world_size(), alone.step * 1e3,
                overlapped.step * 1e3, serial.step * 1e3, overlapped.wait * 1e3, serial.wait * 1e3, bare_ae * 1e3,
                bare_resnet * 1e3);
  }
  return 0;
}
