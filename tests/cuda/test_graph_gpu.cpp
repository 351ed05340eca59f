// CUDA graphs on a GPU (cuda/graph.h): a captured computation replayed with new inputs equals
// the eager one; a captured training step of a small MLP with capturable Adam, replayed N
// times, equals N eager steps; a synchronising op inside a capture is a clear error and leaves
// the device usable; memory allocated in a capture is never handed to eager allocations; the
// Trainer's cuda_graph option trains like the eager Trainer. Exits 77 (skipped) without a
// device (cuda_testing.h). The host-side logic is also tested without a GPU in test_graph.cpp.
#include <doctest/doctest.h>

#include <set>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/algorithms/train/trainer.h"
#include "cake/autograd/ops.h"
#include "cake/cuda/cuda.h"
#include "cake/cuda/graph.h"
#include "cake/data/dataloader.h"
#include "cake/nn/activation.h"
#include "cake/nn/functional.h"
#include "cake/nn/linear.h"
#include "cake/nn/sequential.h"
#include "cake/optim/adam.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "cuda/cuda_testing.h"

using namespace cake;

namespace {
const Device kGpu = Device::cuda(0);

double max_abs_diff(const Tensor& a, const Tensor& b) {
  return (a.cpu().to(kFloat64) - b.cpu().to(kFloat64)).abs().max().item<double>();
}
}  // namespace

TEST_CASE("a captured elementwise + matmul computation replays on new inputs") {
  manual_seed(1);
  cuda::SideStream side;
  cuda::StreamGuard on_side(side.get());
  Tensor x = randn({32, 48}).to(kGpu);
  const Tensor w = randn({48, 16}).to(kGpu), bias = randn({16}).to(kGpu);
  const auto f = [&](const Tensor& in) { return (matmul(in * 2.0 + 1.0, w) + bias).relu(); };
  (void)f(x);  // warm-up: cuBLAS's handle and workspace outside the capture
  cuda::Graph graph;
  Tensor y;
  graph.capture([&] { y = f(x); });
  for (int i = 0; i < 3; ++i) {
    const Tensor fresh = randn({32, 48}).to(kGpu);
    x.copy_(fresh);
    graph.replay();
    CHECK(max_abs_diff(y, f(fresh)) == 0.0);  // the same kernels on the same data
  }
}

TEST_CASE("N replays of a captured MLP step with capturable Adam equal N eager steps") {
  const auto make = [] {
    manual_seed(7);
    auto net = std::make_shared<nn::Sequential>(nn::Linear(8, 32), nn::Tanh(), nn::Linear(32, 1));
    net->to(kGpu);
    return net;
  };
  manual_seed(11);
  std::vector<Tensor> xs, ys;
  for (int i = 0; i < 8; ++i) {
    xs.push_back(randn({16, 8}).to(kGpu));
    ys.push_back(randn({16, 1}).to(kGpu));
  }
  cuda::SideStream side;
  cuda::StreamGuard on_side(side.get());
  auto eager_net = make();
  optim::Adam eager_adam(eager_net->parameters(), {.lr = 1e-2, .capturable = true});
  auto graph_net = make();
  optim::Adam graph_adam(graph_net->parameters(), {.lr = 1e-2, .capturable = true});
  const auto step = [](nn::Sequential& net, optim::Adam& adam, const Tensor& x, const Tensor& y) {
    adam.zero_grad(/*set_to_none=*/false);
    nn::functional::mse_loss(net.forward(x), y).backward();
    adam.step();
  };
  // Both take the first 3 batches eagerly (warm-up), then the graph replays batches 3..7.
  for (int i = 0; i < 3; ++i) {
    step(*eager_net, eager_adam, xs[i], ys[i]);
    step(*graph_net, graph_adam, xs[i], ys[i]);
  }
  Tensor static_x = xs[3].clone(), static_y = ys[3].clone();
  cuda::Graph graph;
  graph.capture([&] { step(*graph_net, graph_adam, static_x, static_y); });
  for (int i = 3; i < 8; ++i) {
    step(*eager_net, eager_adam, xs[i], ys[i]);
    static_x.copy_(xs[i]);
    static_y.copy_(ys[i]);
    graph.replay();
  }
  const std::vector<Tensor> pe = eager_net->parameters(), pg = graph_net->parameters();
  REQUIRE(pe.size() == pg.size());
  for (std::size_t i = 0; i < pe.size(); ++i) CHECK(max_abs_diff(pe[i], pg[i]) < 1e-5);
  CHECK(graph_adam.state(0).tensors.at("step").item<double>() == 8.0);  // the replays advanced it
}

TEST_CASE("a host synchronisation inside a capture is a clear error, and the device stays usable") {
  cuda::SideStream side;
  cuda::StreamGuard on_side(side.get());
  const Tensor x = ones({4}).to(kGpu);
  cuda::Graph graph;
  std::string message;
  try {
    graph.capture([&] { (void)(x * 2.0).sum().item<double>(); });
  } catch (const std::exception& e) {
    message = e.what();
  }
  CHECK(message.find("CUDA graph is being captured") != std::string::npos);
  CHECK(message.find("item()") != std::string::npos);
  CHECK_FALSE(graph.captured());
  CHECK((x * 2.0).sum().item<double>() == 8.0);  // eager work runs as before
  graph.capture([&] { (void)(x * 3.0); });      // and a later capture succeeds
  CHECK(graph.captured());
}

TEST_CASE("memory allocated in a capture is not handed out to eager allocations") {
  cuda::SideStream side;
  cuda::StreamGuard on_side(side.get());
  const Tensor x = ones({1024}).to(kGpu);
  cuda::Graph graph;
  std::set<const void*> graph_blocks;
  graph.capture([&] {
    for (int i = 0; i < 4; ++i) {
      const Tensor t = x * static_cast<double>(i);  // freed at once: back to the pool only
      graph_blocks.insert(t.raw_data());
    }
  });
  for (int i = 0; i < 16; ++i) {
    const Tensor eager = x + static_cast<double>(i);
    CHECK(graph_blocks.count(eager.raw_data()) == 0);
  }
  graph.replay();
  cuda::synchronize();
}

TEST_CASE("the Trainer's cuda_graph option trains the conv autoencoder like the eager Trainer") {
  manual_seed(2);
  const Tensor images = rand({16 * 9 + 5, 1, 28, 28});  // 9 full batches and a partial one
  const auto train = [&](bool graph) {
    manual_seed(9);
    auto model = std::make_shared<networks::ConvAutoencoder>(8);
    model->to(kGpu);
    optim::Adam adam(model->parameters(), {.lr = 1e-3});
    train::Trainer trainer(
        *model, adam, [&](const data::Batch& b) { return networks::reconstruction_loss(*model, b.x.to(kGpu)); },
        {.epochs = 2, .batch_size = 16, .patience = 0, .seed = 1, .cuda_graph = graph});
    return trainer.fit(data::TensorDataset(images)).history;
  };
  const auto eager = train(false), graphed = train(true);
  REQUIRE(graphed.size() == 2);
  for (std::size_t e = 0; e < 2; ++e) CHECK(graphed[e].train_loss == doctest::Approx(eager[e].train_loss).epsilon(1e-4));
}
