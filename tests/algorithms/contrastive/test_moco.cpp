// Tests for algorithms/contrastive/moco.h: the momentum update (eq. 2) and InfoNCE (eq. 1)
// against hand computations, the queue's first-in-first-out order and wrap-around, a key
// encoder that never receives a gradient, the weighted k-NN on a worked example, features that
// separate two kinds of images after a few steps, and a resumed run that ends bit for bit where
// an uninterrupted one does (queue and key encoder included).
#include <cmath>
#include <filesystem>

#include "cake/algorithms/contrastive/moco.h"
#include "cake/autograd/grad_mode.h"
#include "cake/nn/checkpoint.h"
#include "cake/nn/linear.h"
#include "algorithms/fixtures/half_images.h"
#include "helpers.h"

using namespace cake;
using namespace cake::contrastive;
using cake::testing::error_message;
using cake::testing::values;

namespace {

using cake::testing::Images;
// The shared toy set (algorithms/fixtures/half_images.h) at this test's noise and contrast.
Images moco_images(std::int64_t n, std::uint64_t seed) { return testing::half_images(n, seed, {.noise = 0.2, .brightness = 0.7}); }

EncoderOptions tiny(const std::string& backbone = "small") {
  return {.backbone = backbone, .image_size = 8, .feature_dim = 16, .dim = 8, .bn_splits = 2};
}

}  // namespace

TEST_CASE("momentum_update: theta_k <- m theta_k + (1 - m) theta_q, parameter by parameter") {
  nn::Linear query(2, 1), key(2, 1);
  {
    NoGradGuard no_grad;
    query.weight.copy_(tensor({1.0, 2.0}, {1, 2}));
    query.bias.copy_(tensor({3.0}, {1}));
    key.weight.copy_(tensor({-1.0, 0.0}, {1, 2}));
    key.bias.copy_(tensor({1.0}, {1}));
  }
  momentum_update(key, query, 0.9);
  // 0.9 * -1 + 0.1 * 1 = -0.8; 0.9 * 0 + 0.1 * 2 = 0.2; 0.9 * 1 + 0.1 * 3 = 1.2.
  const std::vector<double> w = values(key.weight), b = values(key.bias);
  CHECK(w[0] == doctest::Approx(-0.8));
  CHECK(w[1] == doctest::Approx(0.2));
  CHECK(b[0] == doctest::Approx(1.2));
  CHECK(values(query.weight) == std::vector<double>{1.0, 2.0});  // the query is untouched
  // m = 1 keeps the key, m = 0 copies the query.
  momentum_update(key, query, 1.0);
  CHECK(values(key.bias)[0] == doctest::Approx(1.2));
  momentum_update(key, query, 0.0);
  CHECK(values(key.weight) == std::vector<double>{1.0, 2.0});
  nn::Linear other(3, 1);
  CHECK(error_message([&] { momentum_update(other, query, 0.9); }).find("shape") != std::string::npos);
  CHECK(error_message([&] { momentum_update(key, query, 1.5); }).find("[0, 1]") != std::string::npos);
}

TEST_CASE("KeyQueue: first in first out, wrap-around, and a batch larger than the queue") {
  manual_seed(0);
  KeyQueue queue(5, 2);
  CHECK(queue.size() == 5);
  CHECK(queue.pointer() == 0);
  // The random start is made of unit rows.
  const Tensor norms = (queue.keys() * queue.keys()).sum(1);
  for (double v : values(norms)) CHECK(v == doctest::Approx(1.0).epsilon(1e-5));
  auto rows = [](std::initializer_list<double> ids) {
    std::vector<double> v;
    for (double id : ids) v.insert(v.end(), {id, -id});
    return tensor(v, {static_cast<std::int64_t>(ids.size()), 2});
  };
  auto first_column = [&] {
    std::vector<double> v = values(queue.keys()), out;
    for (std::size_t i = 0; i < v.size(); i += 2) out.push_back(v[i]);
    return out;
  };
  queue.enqueue(rows({1, 2, 3}));
  CHECK(queue.pointer() == 3);
  const std::vector<double> after_three = first_column();
  CHECK(std::vector<double>(after_three.begin(), after_three.begin() + 3) == std::vector<double>{1, 2, 3});
  queue.enqueue(rows({4, 5, 6, 7}));  // 4 and 5 fill the end, 6 and 7 replace the oldest (1, 2)
  CHECK(queue.pointer() == 2);
  CHECK(first_column() == std::vector<double>{6, 7, 3, 4, 5});
  queue.enqueue(rows({8, 9, 10, 11, 12, 13, 14}));  // 7 keys into 5 slots: the last 5 remain
  CHECK(queue.pointer() == 4);
  CHECK(first_column() == std::vector<double>{11, 12, 13, 14, 10});
  CHECK(values(queue.keys())[1] == -11.0);
  CHECK(error_message([&] { queue.enqueue(zeros({2, 3})); }).find("[B, 2]") != std::string::npos);
  CHECK(error_message([&] { queue.restore(zeros({4, 2}), 0); }).find("shape") != std::string::npos);
}

TEST_CASE("info_nce_loss: eq. (1) computed directly, and gradients only into q") {
  const Tensor q = tensor({0.6, 0.8, 1.0, 0.0}, {2, 2}, kFloat64).requires_grad_();
  const Tensor k = tensor({0.0, 1.0, 0.8, 0.6}, {2, 2}, kFloat64).requires_grad_();
  const Tensor queue = tensor({1.0, 0.0, -0.6, 0.8, 0.0, -1.0}, {3, 2}, kFloat64);
  const double tau = 0.5;
  const std::vector<double> qv = values(q), kv = values(k), nv = values(queue);
  double expected = 0.0;
  for (int i = 0; i < 2; ++i) {
    const double pos = qv[2 * i] * kv[2 * i] + qv[2 * i + 1] * kv[2 * i + 1];
    double denominator = std::exp(pos / tau);
    for (int j = 0; j < 3; ++j) denominator += std::exp((qv[2 * i] * nv[2 * j] + qv[2 * i + 1] * nv[2 * j + 1]) / tau);
    expected += -std::log(std::exp(pos / tau) / denominator) / 2.0;
  }
  const Tensor loss = info_nce_loss(q, k, queue, tau);
  CHECK(loss.item<double>() == doctest::Approx(expected).epsilon(1e-12));
  loss.backward();
  CHECK(q.grad().defined());
  CHECK_FALSE(k.grad().defined());  // the keys are constants of the loss
  // A finite-difference check of dL/dq.
  cake::testing::gradcheck([&](const std::vector<Tensor>& in) { return info_nce_loss(in[0], k.detach(), queue, tau); },
                           {q.detach().clone().requires_grad_()});
  CHECK(error_message([&] { info_nce_loss(q, k, zeros({3, 5}, kFloat64), tau); }).find("queue [K, D]") !=
        std::string::npos);
  CHECK(error_message([&] { info_nce_loss(q, k, queue, 0.0); }).find("temperature") != std::string::npos);
}

TEST_CASE("ContrastiveEncoder: unit embeddings, features before the head, every backbone") {
  manual_seed(1);
  for (const std::string backbone : {"small", "vgg", "alexnet"}) {
    CAPTURE(backbone);
    ContrastiveEncoder encoder(tiny(backbone));
    const Tensor x = rand({6, 1, 8, 8});
    const Tensor z = encoder.forward(x);
    CHECK(z.sizes() == Shape{6, 8});
    for (double v : values((z * z).sum(1))) CHECK(v == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(encoder.features(x).sizes() == Shape{6, 16});
    const Tensor trunk = encoder.conv_features(x);
    CHECK(trunk.dim() == 2);
    CHECK(trunk.size(0) == 6);
  }
  // The poster's network on 28x28: 64 x 12 x 12 = 9216 inputs to the FC layer, and the features
  // are that FC layer applied to conv_features.
  ContrastiveEncoder poster;
  poster.eval();
  const Tensor x = rand({3, 1, 28, 28});
  const Tensor trunk = poster.conv_features(x);
  CHECK(trunk.sizes() == Shape{3, 9216});
  Tensor weight, bias;
  for (const auto& [name, p] : poster.named_parameters()) {
    if (name == "backbone.6.weight") weight = p;
    if (name == "backbone.6.bias") bias = p;
  }
  REQUIRE(weight.defined());
  REQUIRE(bias.defined());
  const Tensor fc = trunk.matmul(weight.t()) + bias;
  const std::vector<double> expected = values(fc), got = values(poster.features(x));
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-4));
  bool found = false;
  for (const auto& [name, p] : poster.named_parameters())
    if (p.dim() == 2 && p.size(1) == 9216) found = p.size(0) == 128;
  CHECK(found);
  CHECK(error_message([] { ContrastiveEncoder({.backbone = "resnet"}); }).find("resnet") != std::string::npos);
  CHECK(error_message([] { ContrastiveEncoder(tiny()).forward(zeros({2, 1, 9, 9})); }).find("[N, 1, 8, 8]") !=
        std::string::npos);
  CHECK(error_message([] { ContrastiveEncoder(tiny()).conv_features(zeros({2, 1, 9, 9})); }).find("[N, 1, 8, 8]") !=
        std::string::npos);
}

TEST_CASE("MoCo: the key encoder never receives a gradient and follows the query by momentum") {
  const Images toy = moco_images(32, 3);
  manual_seed(4);
  ContrastiveEncoder query(tiny());
  MoCo moco(query, {.queue_size = 24, .momentum = 0.5, .lr = 0.05, .augment = [](Tensor x) { return x + randn(x.sizes()) * 0.05; }},
            {.epochs = 1, .batch_size = 16, .seed = 1});
  // At the start the key encoder is a copy (state_dict gives handles: keep copies of the values).
  const auto start_q = query.state_dict(), start_k = moco.key_encoder().state_dict();
  REQUIRE(start_q.size() == start_k.size());
  for (std::size_t i = 0; i < start_q.size(); ++i) CHECK(values(start_q[i].second) == values(start_k[i].second));
  const std::vector<double> key_first_before = values(start_k[0].second);
  const Tensor queue_before = moco.queue().keys().clone();
  moco.fit(toy.x);
  for (const Tensor& p : moco.key_encoder().parameters()) {
    CHECK_FALSE(p.requires_grad());
    CHECK_FALSE(p.grad().defined());
  }
  bool query_has_grad = false;
  for (const Tensor& p : query.parameters()) query_has_grad = query_has_grad || p.grad().defined();
  CHECK(query_has_grad);
  // The key moved, but not onto the query (m = 0.5 averages them).
  const auto end_q = query.state_dict(), end_k = moco.key_encoder().state_dict();
  CHECK(values(end_k[0].second) != key_first_before);
  CHECK(values(end_k[0].second) != values(end_q[0].second));
  // Two batches of 16 keys went into a queue of 24: the pointer is at 32 mod 24 = 8.
  CHECK(moco.queue().pointer() == 8);
  CHECK(values(moco.queue().keys()) != values(queue_before));
  REQUIRE(moco.history().size() == 1);
  CHECK(std::isfinite(moco.history()[0].loss));
}

TEST_CASE("MoCo: after a few epochs the features tell two kinds of images apart (k-NN)") {
  // A smoke test of the whole loop on data with a known answer; that MoCo learns beyond this is
  // shown on Fashion-MNIST (docs/algorithms/moco.md). Momentum 0.99 and tau 0.5: on 64 tiny
  // images a fast-moving key encoder collapses every embedding onto one point (as the paper
  // reports for m = 0, He et al. 2020, section 4.1, "Ablation: momentum").
  const Images toy = moco_images(64, 5);
  manual_seed(6);
  ContrastiveEncoder query(tiny());
  MoCo moco(query, {.queue_size = 32, .momentum = 0.99, .temperature = 0.5, .lr = 0.05, .weight_decay = 0.0,
                    .augment = [](Tensor x) { return x + randn(x.sizes()) * 0.05; }},
            {.epochs = 4, .batch_size = 16, .seed = 1});
  moco.fit(toy.x);
  const Tensor f = moco.features(toy.x);
  CHECK(f.sizes() == Shape{64, 16});
  const double acc = knn_accuracy(f.narrow(0, 0, 48), toy.labels.narrow(0, 0, 48), f.narrow(0, 48, 16),
                                  toy.labels.narrow(0, 48, 16), 5);
  CHECK(acc >= 0.9);
  for (const MoCoEpoch& e : moco.history()) CHECK(std::isfinite(e.loss));
}

TEST_CASE("knn_accuracy: weighted votes of the k most similar training rows") {
  // Training rows point at 0, 10 and 80 degrees; the test row at 30 degrees. With k = 2 the
  // neighbours are the 10-degree (class 1) and 0-degree (class 0) rows: the closer one wins.
  auto at = [](double degrees) { return std::vector<double>{std::cos(degrees * M_PI / 180), std::sin(degrees * M_PI / 180)}; };
  std::vector<double> train;
  for (double d : {0.0, 10.0, 80.0}) for (double v : at(d)) train.push_back(v);
  const Tensor x = tensor(train, {3, 2});
  const Tensor y = tensor(std::vector<std::int64_t>{0, 1, 1}, {3});
  const Tensor test = tensor(at(30.0), {1, 2}) * 3.0;  // length does not matter (cosine)
  CHECK(knn_accuracy(x, y, test, tensor(std::vector<std::int64_t>{1}, {1}), 2) == 1.0);
  // k = 1 with the label 0 expected: wrong.
  CHECK(knn_accuracy(x, y, test, tensor(std::vector<std::int64_t>{0}, {1}), 1) == 0.0);
  CHECK(error_message([&] { knn_accuracy(x, y, zeros({1, 3}), y.narrow(0, 0, 1)); }).find("[M, D]") !=
        std::string::npos);
}

TEST_CASE("MoCo: an interrupted run resumed ends bit for bit where an uninterrupted one does") {
  const Images toy = moco_images(32, 7);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "cake_test_moco_resume";
  std::filesystem::remove_all(dir);
  struct Outcome {
    nn::NamedTensors query, key;
    Tensor queue;
    std::int64_t pointer;
    std::vector<MoCoEpoch> history;
  };
  // stop_after: polls of should_stop (one per batch) before asking to stop; 0: never.
  auto run = [&](const std::string& checkpoint, const std::string& resume, int stop_after, const std::string& backbone) {
    manual_seed(8);
    ContrastiveEncoder query(tiny(backbone));
    int polls = 0;
    MoCo moco(query, {.queue_size = 20, .momentum = 0.9, .lr = 0.05,
                      .augment = [](Tensor x) { return x + randn(x.sizes()) * 0.05; }},
              {.epochs = 4, .batch_size = 16, .seed = 2, .checkpoint_path = checkpoint, .resume_from = resume,
               .should_stop = [&] { return stop_after > 0 && ++polls > stop_after; }});
    const train::TrainResult result = moco.fit(toy.x);
    if (stop_after > 0) CHECK(result.stop_reason == train::StopReason::Interrupted);
    if (!resume.empty()) CHECK(result.resume_changes.empty());
    return Outcome{query.state_dict(), moco.key_encoder().state_dict(), moco.queue().keys().clone(),
                   moco.queue().pointer(), moco.history()};
  };
  for (const std::string backbone : {"small", "vgg"}) {  // vgg: batch norm, shuffled and split
    CAPTURE(backbone);
    const Outcome straight = run((dir / "a.safetensors").string(), "", 0, backbone);
    run((dir / "b.safetensors").string(), "", 5, backbone);  // 2 batches per epoch: stops in epoch 3
    const Outcome resumed = run((dir / "b.safetensors").string(), (dir / "b.safetensors").string(), 0, backbone);
    for (const auto& [a, b] : {std::pair{&straight.query, &resumed.query}, std::pair{&straight.key, &resumed.key}}) {
      REQUIRE(a->size() == b->size());
      for (std::size_t i = 0; i < a->size(); ++i) {
        CAPTURE((*a)[i].first);
        CHECK(values((*a)[i].second) == values((*b)[i].second));
      }
    }
    CHECK(values(straight.queue) == values(resumed.queue));
    CHECK(straight.pointer == resumed.pointer);
    REQUIRE(resumed.history.size() == 4);
    for (std::size_t e = 0; e < 4; ++e) {
      CHECK(straight.history[e].loss == resumed.history[e].loss);
      CHECK(straight.history[e].lr == resumed.history[e].lr);
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("load_contrastive_encoder: a saved encoder comes back with the same architecture and features") {
  const std::filesystem::path file = std::filesystem::temp_directory_path() / "cake_test_moco_encoder.safetensors";
  manual_seed(11);
  for (const std::string backbone : {"small", "alexnet"}) {
    CAPTURE(backbone);
    EncoderOptions options = tiny(backbone);
    options.mlp_head = backbone == "small";
    auto encoder = std::make_shared<ContrastiveEncoder>(options);
    save(*encoder, file.string());
    CHECK(is_contrastive_encoder_file(file.string()));
    const auto loaded = load_contrastive_encoder(file.string(), {1, 8, 8});
    CHECK(loaded->options().backbone == backbone);
    CHECK(loaded->options().feature_dim == 16);
    CHECK(loaded->options().dim == 8);
    CHECK(loaded->options().mlp_head == options.mlp_head);
    encoder->eval();
    loaded->eval();
    const Tensor x = rand({4, 1, 8, 8});
    CHECK(values(loaded->features(x)) == values(encoder->features(x)));
    EncoderFeatures features(loaded);
    CHECK(values(features.forward(x)) == values(encoder->features(x)));
  }
  nn::Linear other(2, 2);
  save(other, file.string());
  CHECK_FALSE(is_contrastive_encoder_file(file.string()));
  CHECK(error_message([&] { load_contrastive_encoder(file.string(), {1, 8, 8}); }).find("no MoCo encoder") !=
        std::string::npos);
  std::filesystem::remove(file);
}
