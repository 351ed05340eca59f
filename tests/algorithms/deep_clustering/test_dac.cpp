// Tests for algorithms/deep_clustering/dac.h: the threshold schedule and Algorithm 1's stop
// rule, the pair selection and the loss against values worked by hand, a float64 gradient
// check of the loss through the label features, a loss that falls in a few steps, and a
// resumed run that ends bit for bit where an uninterrupted one does.
#include <cmath>
#include <filesystem>

#include "cake/algorithms/deep_clustering/dac.h"
#include "cake/optim/rmsprop.h"
#include "algorithms/fixtures/half_images.h"
#include "helpers.h"

using namespace cake;
using namespace cake::deep_clustering;
using cake::networks::ConvNet;
using cake::networks::ConvNetOptions;
using cake::testing::error_message;
using cake::testing::values;

namespace {

using cake::testing::Images;
// The shared toy set (algorithms/fixtures/half_images.h) at this test's noise and contrast.
Images dac_images(std::int64_t n, std::uint64_t seed) { return testing::half_images(n, seed, {.noise = 0.2, .brightness = 0.8}); }

ConvNetOptions tiny_dac_net(std::int64_t outputs) {
  return {.arch = "vgg", .sobel = false, .image_size = 8, .hidden = 16, .num_outputs = outputs, .head_norm = true};
}

}  // namespace

TEST_CASE("DACSchedule: u = 0.95 - lambda, l = 0.455 + 0.1 lambda, lambda += 0.0099; 46 epochs before l > u") {
  const DACSchedule s;
  CHECK(s.lambda(1) == 0.0);
  CHECK(s.lambda(3) == doctest::Approx(0.0198));
  CHECK(s.upper(0.0) == 0.95);
  CHECK(s.lower(0.0) == 0.455);
  CHECK(s.upper(0.2) == doctest::Approx(0.75));
  CHECK(s.lower(0.2) == doctest::Approx(0.475));
  // u(lambda) = l(lambda) at lambda = 0.495 / 1.1 = 0.45: lambda_46 = 0.4455 still trains,
  // lambda_47 = 0.4554 stops (Algorithm 1, line 10).
  CHECK(s.epochs_until_stop() == 46);
  CHECK(s.lower(s.lambda(46)) <= s.upper(s.lambda(46)));
  CHECK(s.lower(s.lambda(47)) > s.upper(s.lambda(47)));
  // A coarser step: lambda_5 = 0.4 trains, lambda_6 = 0.5 stops.
  CHECK(DACSchedule{.lambda_step = 0.1}.epochs_until_stop() == 5);
  // Already crossed after one epoch: Algorithm 1 still trains that one (repeat ... until).
  CHECK(DACSchedule{.lambda0 = 0.6}.epochs_until_stop() == 1);
  // Thresholds that never cross would never stop.
  CHECK(error_message([] { (void)DACSchedule{.lambda_step = 0.0}.epochs_until_stop(); }).find("never") !=
        std::string::npos);
}

TEST_CASE("select_pairs: against a hand-computed similarity matrix") {
  // Pairs (0, 1) at 0.96 >= u: same; (0, 2) at 0.3 < l: different; (1, 2) at 0.5: ignored.
  const Tensor s = tensor({1.0, 0.96, 0.3, 0.96, 1.0, 0.5, 0.3, 0.5, 1.0}, {3, 3}, kFloat64);
  const PairSelection p = select_pairs(s, 0.95, 0.455);
  CHECK(values(p.positive) == std::vector<double>{1, 1, 0, 1, 1, 0, 0, 0, 1});
  CHECK(values(p.negative) == std::vector<double>{0, 0, 1, 0, 0, 0, 1, 0, 0});
  CHECK(p.n_positive == 2);
  CHECK(p.n_negative == 2);
  CHECK(p.selected_fraction == doctest::Approx(4.0 / 6.0));
  // The boundaries: S = u counts as same (>=), S = l is not different (<).
  const PairSelection edge = select_pairs(tensor({1.0, 0.5, 0.5, 1.0}, {2, 2}, kFloat64), 0.5, 0.5);
  CHECK(edge.n_positive == 2);
  CHECK(edge.n_negative == 0);
  CHECK(error_message([] { select_pairs(zeros({3, 2}), 0.9, 0.1); }).find("square") != std::string::npos);
  // Rows 1..2 of the same matrix (a rank's images against the whole batch): image 1's self-pair
  // is at column 1, image 2's at column 2; the fractions are over the 2 x (3 - 1) other pairs.
  const PairSelection rows = select_pairs(s.narrow(0, 1, 2), 0.95, 0.455, 1);
  CHECK(values(rows.positive) == std::vector<double>{1, 1, 0, 0, 0, 1});
  CHECK(rows.n_positive == 1);  // (1, 0)
  CHECK(rows.n_negative == 1);  // (2, 0)
  CHECK(rows.selected_fraction == doctest::Approx(2.0 / 4.0));
  CHECK(rows.positive_fraction == doctest::Approx(1.0 / 4.0));
  CHECK(error_message([&] { select_pairs(s.narrow(0, 1, 2), 0.9, 0.1, 2); }).find("square") != std::string::npos);
}

TEST_CASE("same_pair_precision: the share of the pairs above u whose classes agree, by hand") {
  // Unit, non-negative label features: images 0 and 1 point the same way, image 2 is 0.96 of the
  // way to them (cos = 0.96), image 3 is orthogonal to all three.
  const double c = 0.96, s = std::sqrt(1.0 - 0.96 * 0.96);
  const Tensor f = tensor({1.0, 0.0, 0.0, 1.0, 0.0, 0.0, c, s, 0.0, 0.0, 0.0, 1.0}, {4, 3}, kFloat64);
  // At u = 0.95 the "same" pairs are (0,1), (0,2), (1,2) both ways: 6 ordered pairs. Classes
  // {0, 0, 1, 1}: only (0,1) and (1,0) share a class, 2 of 6.
  CHECK(same_pair_precision(f, tensor({0.0, 0.0, 1.0, 1.0}, {4}, kFloat64).to(kInt64), 0.95) ==
        doctest::Approx(2.0 / 6.0));
  // At u = 0.99 only (0,1) and (1,0) remain, and they agree.
  CHECK(same_pair_precision(f, tensor({0.0, 0.0, 1.0, 1.0}, {4}, kFloat64).to(kInt64), 0.99) == 1.0);
  // Above every pair: no "same" pair to judge.
  CHECK(std::isnan(same_pair_precision(f.narrow(0, 2, 2), tensor({0.0, 0.0}, {2}, kFloat64).to(kInt64), 0.5)));
  CHECK(error_message([&] { (void)same_pair_precision(f, zeros({3}, kInt64), 0.9); }).find("classes [m]") !=
        std::string::npos);
}

TEST_CASE("dac_pair_loss_part: the ranks' parts give dac_pair_loss's value and gradient over the whole batch") {
  manual_seed(3);
  const Tensor logits = randn({6, 3}, kFloat64) * 2.0;
  const double upper = 0.9, lower = 0.6;
  for (double v : values(label_features(logits).matmul(label_features(logits).t()))) {
    REQUIRE(std::abs(v - upper) > 1e-3);  // no pair on a threshold
    REQUIRE(std::abs(v - lower) > 1e-3);
  }
  Tensor whole = logits.clone().requires_grad_(true);
  PairSelection all_pairs;
  const Tensor expected = dac_pair_loss(label_features(whole), upper, lower, &all_pairs);
  expected.backward();
  REQUIRE(all_pairs.n_positive > 0);
  REQUIRE(all_pairs.n_negative > 0);
  const Tensor gathered = label_features(logits).detach();

  SUBCASE("one rank: the part is the whole batch") {
    Tensor x = logits.clone().requires_grad_(true);
    const Tensor part = dac_pair_loss_part(label_features(x), {.all = gathered, .offset = 0, .ranks = 1}, upper, lower);
    CHECK(part.item<double>() == doctest::Approx(expected.item<double>()).epsilon(1e-12));
    part.backward();
    CHECK((x.grad() - whole.grad()).abs().max().item<double>() < 1e-12);
  }
  SUBCASE("three ranks with parts of 3, 2 and 1 images; DDP averages values and gradients") {
    Tensor x = logits.clone().requires_grad_(true);
    const std::int64_t begin[] = {0, 3, 5}, size[] = {3, 2, 1};
    double value = 0.0;
    std::int64_t positive = 0, negative = 0;
    for (int r = 0; r < 3; ++r) {
      PairSelection chosen;
      const Tensor part = dac_pair_loss_part(label_features(x.narrow(0, begin[r], size[r])),
                                             {.all = gathered, .offset = begin[r], .ranks = 3}, upper, lower, &chosen);
      value += part.item<double>() / 3.0;
      (part / 3.0).backward();  // the gradients of the ranks' losses, summed here and divided as DDP does
      positive += chosen.n_positive;
      negative += chosen.n_negative;
    }
    CHECK(value == doctest::Approx(expected.item<double>()).epsilon(1e-12));
    CHECK((x.grad() - whole.grad()).abs().max().item<double>() < 1e-12);
    CHECK(positive == all_pairs.n_positive);
    CHECK(negative == all_pairs.n_negative);
  }
  SUBCASE("without the factor 2 the gradient would be half: the pairs (j, i) are not in a rank's part") {
    // The share alone, differentiated with the partners held fixed.
    Tensor x = logits.clone().requires_grad_(true);
    const Tensor l = label_features(x);
    const Tensor g = l.matmul(gathered.t()).clamp(1e-7, 1.0 - 1e-7);
    const PairSelection chosen = select_pairs(g, upper, lower);
    const Tensor share = -((chosen.positive * g.log()).sum() + (chosen.negative * (1.0 - g).log()).sum()) / 36.0;
    share.backward();
    CHECK((x.grad() * 2.0 - whole.grad()).abs().max().item<double>() < 1e-12);
  }
}

TEST_CASE("dac_pair_loss with a chooser: the pairs come from the chooser, the loss from the features") {
  // Features: l_1 = (1, 0), l_2 = (0.6, 0.8), similarity 0.6. Chooser: (1, 0) and (0.96, 0.28),
  // similarity 0.96, so with u = 0.9 the pair is "same" although the features' own 0.6 would
  // leave it out: the loss is 2 (-log 0.6) over the 4 pairs.
  const Tensor f = tensor({1.0, 0.0, 0.6, 0.8}, {2, 2}, kFloat64);
  const Tensor chooser = tensor({1.0, 0.0, 0.96, 0.28}, {2, 2}, kFloat64);
  PairSelection chosen;
  CHECK(dac_pair_loss(f, chooser, 0.9, 0.2, &chosen).item<double>() ==
        doctest::Approx(-2 * std::log(0.6) / 4).epsilon(1e-6));
  CHECK(chosen.n_positive == 2);
  CHECK(chosen.n_negative == 0);
  CHECK(dac_pair_loss(f, 0.9, 0.2, &chosen).item<double>() < 1e-6);  // its own similarity: ignored
  // A chooser that calls the pair "different" (similarity 0 < l = 0.5): 2 (-log 0.4) / 4.
  const Tensor apart = tensor({1.0, 0.0, 0.0, 1.0}, {2, 2}, kFloat64);
  CHECK(dac_pair_loss(f, apart, 0.9, 0.5).item<double>() == doctest::Approx(-2 * std::log(0.4) / 4).epsilon(1e-6));
  CHECK(error_message([&] { dac_pair_loss(f, tensor({1.0, 0.0}, {1, 2}, kFloat64), 0.9, 0.5); })
            .find("[1, 2]") != std::string::npos);

  SUBCASE("no gradient flows into the chooser; float64 gradient check of the features") {
    manual_seed(5);
    const Tensor logits = randn({5, 3}, kFloat64);
    const Tensor other = label_features(randn({5, 3}, kFloat64));
    for (double v : values(other.matmul(other.t()))) {
      REQUIRE(std::abs(v - 0.9) > 1e-3);
      REQUIRE(std::abs(v - 0.6) > 1e-3);
    }
    Tensor chooser_logits = randn({5, 3}, kFloat64).requires_grad_(true);
    dac_pair_loss(label_features(logits.clone().requires_grad_(true)), label_features(chooser_logits), 0.9, 0.6)
        .backward();
    CHECK(!chooser_logits.grad().defined());
    cake::testing::gradcheck(
        [&](const std::vector<Tensor>& in) { return dac_pair_loss(label_features(in[0]), other, 0.9, 0.6); },
        {logits.clone().requires_grad_(true)});
  }
  SUBCASE("split over ranks, the parts give the whole batch's value and gradient") {
    manual_seed(6);
    const Tensor logits = randn({6, 3}, kFloat64) * 2.0;
    const Tensor other = label_features(randn({6, 3}, kFloat64) * 2.0);
    Tensor whole = logits.clone().requires_grad_(true);
    const Tensor expected = dac_pair_loss(label_features(whole), other, 0.9, 0.6);
    expected.backward();
    Tensor x = logits.clone().requires_grad_(true);
    const Tensor gathered = label_features(logits).detach();
    double value = 0.0;
    for (std::int64_t r = 0; r < 2; ++r) {
      const Tensor part = dac_pair_loss_part(label_features(x.narrow(0, 3 * r, 3)), {.all = gathered, .offset = 3 * r, .ranks = 2},
                                             {.all = other, .offset = 3 * r, .ranks = 2}, 0.9, 0.6);
      value += part.item<double>() / 2.0;
      (part / 2.0).backward();
    }
    CHECK(value == doctest::Approx(expected.item<double>()).epsilon(1e-12));
    CHECK((x.grad() - whole.grad()).abs().max().item<double>() < 1e-12);
  }
}

TEST_CASE("dac_pair_loss and label_features: known answers") {
  // l_1 = (1, 0), l_2 = (0.6, 0.8): similarity 0.6.
  const Tensor f = tensor({1.0, 0.0, 0.6, 0.8}, {2, 2}, kFloat64);
  // Same pair (0.6 >= 0.5): 2 (-log 0.6) over 4 pairs; the diagonal adds -log(1 - eps) ~ 0.
  CHECK(dac_pair_loss(f, 0.5, 0.2).item<double>() == doctest::Approx(-2 * std::log(0.6) / 4).epsilon(1e-6));
  // Different pair (0.6 < 0.7): 2 (-log 0.4) / 4.
  CHECK(dac_pair_loss(f, 0.9, 0.7).item<double>() == doctest::Approx(-2 * std::log(0.4) / 4).epsilon(1e-6));
  // Ignored (0.2 <= 0.6 < 0.9): nothing but the diagonal.
  CHECK(dac_pair_loss(f, 0.9, 0.2).item<double>() < 1e-6);
  CHECK(error_message([&] { dac_pair_loss(f, 0.4, 0.6); }).find("stop rule") != std::string::npos);
  // Label features: softmax then unit rows, so non-negative with |l| = 1.
  manual_seed(0);
  const Tensor l = label_features(randn({6, 4}, kFloat64) * 3.0);
  CHECK(l.min().item<double>() >= 0.0);
  for (double norm : values(l.square().sum(1).sqrt())) CHECK(norm == doctest::Approx(1.0));
  // A one-hot-like softmax gives a unit vector along its argmax.
  const Tensor sharp = label_features(tensor({50.0, 0.0, 0.0}, {1, 3}, kFloat64));
  CHECK(sharp.narrow(1, 0, 1).item<double>() == doctest::Approx(1.0));
}

TEST_CASE("dac_pair_loss through label_features: float64 gradient check") {
  manual_seed(2);
  const Tensor logits = randn({5, 3}, kFloat64);
  // No similarity may sit at a threshold, where the selection (and so the loss) jumps.
  const Tensor s = label_features(logits).matmul(label_features(logits).t());
  for (double v : values(s)) {
    CHECK(std::abs(v - 0.9) > 1e-3);
    CHECK(std::abs(v - 0.6) > 1e-3);
  }
  cake::testing::gradcheck([](const std::vector<Tensor>& in) { return dac_pair_loss(label_features(in[0]), 0.9, 0.6); },
                           {logits.clone().requires_grad_(true)});
}

TEST_CASE("dac_pair_loss falls over a few RMSprop steps of a tiny network") {
  const Images toy = dac_images(32, 3);
  manual_seed(4);
  ConvNet net(tiny_dac_net(4));
  optim::RMSprop rmsprop(net.parameters(), {.lr = 1e-3, .alpha = 0.9});
  // The first epoch's thresholds of the default schedule.
  auto loss = [&] { return dac_pair_loss(label_features(net.forward(toy.x)), 0.95, 0.455); };
  const double first = loss().item<double>();
  REQUIRE(first > 0.0);
  for (int step = 0; step < 10; ++step) {
    rmsprop.zero_grad();
    loss().backward();
    rmsprop.step();
  }
  CHECK(loss().item<double>() < first);
}

TEST_CASE("DAC: the stop rule ends training; the log has lambda, u, l and the pairs selected") {
  const Images toy = dac_images(32, 5);
  manual_seed(6);
  ConvNet net(tiny_dac_net(2));
  DAC dac(net, {.schedule = {.lambda_step = 0.1}}, {.epochs = 100, .batch_size = 16, .seed = 1});
  const train::TrainResult result = dac.fit(toy.x, toy.labels);
  CHECK(result.history.size() == 5);  // DACSchedule{.lambda_step = 0.1}.epochs_until_stop()
  const auto& h = dac.history();
  REQUIRE(h.size() == 5);
  for (std::size_t e = 0; e < 5; ++e) {
    CHECK(h[e].lambda == doctest::Approx(0.1 * static_cast<double>(e)));
    CHECK(h[e].upper == doctest::Approx(0.95 - h[e].lambda));
    CHECK(h[e].lower == doctest::Approx(0.455 + 0.1 * h[e].lambda));
    CHECK(h[e].selected_fraction >= 0.0);
    CHECK(h[e].selected_fraction <= 1.0);
    CHECK(h[e].acc >= 0.5);
  }
  CHECK(dac.predict(toy.x).sizes() == Shape{32});
  CHECK(dac.features(toy.x).sizes() == Shape{32, 2});
  // The last epoch's same_precision is that of the trained network's pairs (all 32 images: fewer
  // than the 2,000 sampled) at that epoch's u.
  const double expected = same_pair_precision(dac.features(toy.x), toy.labels, h.back().upper);
  if (std::isnan(expected))
    CHECK(std::isnan(h.back().same_precision));
  else
    CHECK(h.back().same_precision == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("DAC with pairs from the clean images: the clean view chooses, the augmented view trains") {
  const Images toy = dac_images(32, 9);
  // An augmentation that erases the images: chosen from the augmented view, every pair has the
  // same label features (similarity 1, all "same"); chosen from the clean images, the pairs
  // follow the two halves of the toy set, so some are "different".
  auto erase = [](Tensor x) { return x * 0.0; };
  auto first_epoch = [&](bool from_clean) {
    manual_seed(10);
    ConvNet net(tiny_dac_net(2));
    DAC dac(net, {.schedule = {.lambda_step = 0.1}, .augment = erase, .pairs_from_clean = from_clean},
            {.epochs = 1, .batch_size = 16, .seed = 3});
    dac.fit(toy.x, toy.labels);
    return dac.history().at(0);
  };
  const DACEpoch augmented = first_epoch(false), clean = first_epoch(true);
  CHECK(augmented.positive_fraction == doctest::Approx(1.0));
  CHECK(clean.positive_fraction < 1.0);
  CHECK(clean.selected_fraction > 0.0);
}

TEST_CASE("DAC: N epochs equal N/2 epochs, a checkpoint and a resume, bit for bit (per batch and by chunks)") {
  const Images toy = dac_images(32, 7);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "cake_test_dac_resume";
  // 0: every batch's own pairs; 10: chunks of 16 images (rounded up to the batch), 3 passes each.
  std::int64_t chunk = 0;
  SUBCASE("per batch") { chunk = 0; }
  SUBCASE("by chunks") { chunk = 10; }
  std::filesystem::remove_all(dir);
  auto run = [&](std::int64_t epochs, const std::string& checkpoint, const std::string& resume) {
    manual_seed(8);
    auto net = std::make_shared<ConvNet>(tiny_dac_net(3));
    DACOptions options{.schedule = {.lambda_step = 0.05}, .chunk_size = chunk, .chunk_passes = 3};
    options.augment = [](Tensor x) { return x + randn(x.sizes()) * 0.01; };
    DAC dac(*net, options,
            {.epochs = epochs, .batch_size = 16, .seed = 2, .checkpoint_path = checkpoint, .resume_from = resume});
    dac.fit(toy.x, toy.labels);
    return std::make_tuple(net, dac.history(), dac.lambda());
  };
  const auto [straight, straight_history, straight_lambda] = run(4, (dir / "a.safetensors").string(), "");
  run(2, (dir / "b.safetensors").string(), "");
  const auto [resumed, resumed_history, resumed_lambda] =
      run(4, (dir / "b.safetensors").string(), (dir / "b.safetensors").string());
  const auto a = straight->state_dict(), b = resumed->state_dict();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    CHECK(values(a[i].second) == values(b[i].second));
  }
  CHECK(straight_lambda == resumed_lambda);
  REQUIRE(resumed_history.size() == 4);
  for (std::size_t e = 0; e < 4; ++e) {
    CHECK(straight_history[e].loss == resumed_history[e].loss);
    CHECK(straight_history[e].selected_fraction == resumed_history[e].selected_fraction);
    CHECK(std::isnan(straight_history[e].same_precision) == std::isnan(resumed_history[e].same_precision));
    if (!std::isnan(straight_history[e].same_precision))
      CHECK(straight_history[e].same_precision == resumed_history[e].same_precision);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("ChunkChooser: a chunk's features are computed once, at its first batch, and read by all its passes") {
  // 20 images in chunks of 8 (8, 8, 4), 2 passes, batches of 4: 10 batches an epoch.
  ChunkChooser chooser(20, 8, 2, 5);
  chooser.start_epoch(3);
  const Tensor order = chooser.order();
  REQUIRE(order.numel() == 40);
  CHECK(values(order) == values(data::chunked_passes_order(20, 8, 2, 5, 3)));
  // Label features that name the image and the call: row of image i = (i, call number).
  int calls = 0;
  std::vector<std::vector<double>> chunks_seen;
  const auto clean = [&](const Tensor& members) {
    ++calls;
    chunks_seen.push_back(values(members));
    return stack({members.to(kFloat64), full({members.numel()}, static_cast<double>(calls), kFloat64)}, 1);
  };
  for (std::int64_t start = 0; start < 40; start += 4) {
    const Tensor indices = order.narrow(0, start, 4);
    const Tensor rows = chooser.for_batch(indices, clean);
    CHECK(values(rows.select(1, 0)) == values(indices.to(kFloat64)));  // each image's own row
    CHECK(values(rows.select(1, 1)) == std::vector<double>(4, static_cast<double>(calls)));
  }
  CHECK(calls == 3);  // once per chunk, not once per batch
  REQUIRE(chunks_seen.size() == 3);
  CHECK(chunks_seen[0].size() == 8);
  CHECK(chunks_seen[2].size() == 4);
  // A new epoch forgets the old features; a batch across two chunks is refused.
  chooser.start_epoch(4);
  const Tensor next = chooser.order();
  chooser.for_batch(next.narrow(0, 0, 4), clean);
  CHECK(calls == 4);
  CHECK_THROWS_AS(chooser.for_batch(cat({next.narrow(0, 0, 2), next.narrow(0, 16, 2)}), clean), Error);
}

TEST_CASE("DAC by chunks: an epoch is chunk_passes passes over the data; it needs an augmentation") {
  const Images toy = dac_images(32, 7);
  // Chunks of 16 (10 rounded up to a multiple of the batch of 8), 3 passes: 96 images, 12 batches an epoch.
  manual_seed(8);
  ConvNet net(tiny_dac_net(3));
  int batches = 0;
  DACOptions counted{.chunk_size = 10, .chunk_passes = 3};
  counted.augment = [&](Tensor x) {
    ++batches;
    CHECK(x.size(0) == 8);
    return x;
  };
  DAC one_epoch(net, counted, {.epochs = 1, .batch_size = 8});
  one_epoch.fit(toy.x, toy.labels);
  CHECK(batches == 12);
  DAC no_augmentation(net, {.chunk_size = 10}, {.epochs = 1, .batch_size = 8});
  CHECK_THROWS_AS(no_augmentation.fit(toy.x, toy.labels), Error);
}
