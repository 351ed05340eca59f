// Unit tests of the command line's parts: parameter parsing, progress reporting, output
// directories and the figures (pixel checks on the canvases they return).
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cake/algorithms/metrics/metrics.h"
#include "cake/data/npy.h"
#include "helpers.h"
#include "tools/errors.h"
#include "tools/figures.h"
#include "tools/output.h"
#include "tools/params.h"
#include "tools/progress.h"

using namespace cake;
using namespace cake::cli;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
AlgorithmEntry toy_algorithm() {
  return {.name = "toy",
          .summary = "a toy",
          .reference = "",
          .params = {{"k", ParamType::Int, "8", "clusters"},
                     {"lr", ParamType::Float, "0.001", "learning rate"},
                     {"init", ParamType::String, "k-means++", "initialisation", {"k-means++", "random"}},
                     {"whiten", ParamType::Bool, "false", "whiten first"},
                     {"hidden", ParamType::IntList, "500,500,2000", "layer widths"},
                     {"gammas", ParamType::FloatList, "[]", "weights"}},
          .run = [](RunContext&) {}};
}

int count_colour(const image::Canvas& canvas, image::Color color) {
  int n = 0;
  for (int y = 0; y < canvas.height(); ++y)
    for (int x = 0; x < canvas.width(); ++x) n += canvas.pixel(x, y) == color;
  return n;
}
}  // namespace

TEST_CASE("parameters: defaults, typed reads, --config then --set") {
  const AlgorithmEntry toy = toy_algorithm();
  const Params defaults = resolve_params(toy, nullptr, {});
  CHECK(defaults.get_int("k") == 8);
  CHECK(defaults.get_float("lr") == 0.001);
  CHECK(defaults.get_string("init") == "k-means++");
  CHECK(defaults.get_bool("whiten") == false);
  CHECK(defaults.get_int_list("hidden") == std::vector<std::int64_t>{500, 500, 2000});
  CHECK(defaults.get_float_list("gammas").empty());

  const Params p = resolve_params(toy, json{{"k", 3}, {"lr", 1}, {"hidden", {64, 10}}, {"whiten", true}},
                                  {"k=5", "init=random", "gammas=0.5, 2", "whiten=no"});
  CHECK(p.get_int("k") == 5);                // --set beats --config
  CHECK(p.get_float("lr") == 1.0);           // a JSON integer is a fine float
  CHECK(p.get_string("init") == "random");
  CHECK(p.get_bool("whiten") == false);
  CHECK(p.get_int_list("hidden") == std::vector<std::int64_t>{64, 10});
  CHECK(p.get_float_list("gammas") == std::vector<double>{0.5, 2.0});
  CHECK(resolve_params(toy, json{{"k", 4.0}}, {}).get_int("k") == 4);  // 4.0 is a whole number
  CHECK(resolve_params(toy, nullptr, {"lr=1e-4"}).get_float("lr") == 1e-4);
  CHECK(resolve_params(toy, nullptr, {"hidden=[1, 2]"}).get_int_list("hidden") == std::vector<std::int64_t>{1, 2});

  // Reading a parameter as the wrong type, or one that does not exist, is a programming error.
  CHECK_THROWS_AS(p.get_string("k"), cake::Error);
  CHECK_THROWS_WITH_AS(p.get_int("kk"), doctest::Contains("no parameter 'kk'"), cake::Error);
}

TEST_CASE("parameters: what is refused, and how the refusal reads") {
  const AlgorithmEntry toy = toy_algorithm();
  CHECK_THROWS_WITH_AS(resolve_params(toy, nullptr, {"kk=3"}), doctest::Contains("Did you mean k?"), UsageError);
  CHECK_THROWS_WITH_AS(resolve_params(toy, nullptr, {"learning_rate=3"}), doctest::Contains("whiten"), UsageError);
  CHECK_THROWS_WITH_AS(resolve_params(toy, nullptr, {"k=8.5"}), doctest::Contains("expects an int, got '8.5'"), UsageError);
  CHECK_THROWS_WITH_AS(resolve_params(toy, nullptr, {"lr=fast"}), doctest::Contains("expects a float"), UsageError);
  CHECK_THROWS_WITH_AS(resolve_params(toy, nullptr, {"lr=nan"}), doctest::Contains("expects a float"), UsageError);
  CHECK_THROWS_WITH_AS(resolve_params(toy, nullptr, {"whiten=maybe"}), doctest::Contains("expects a bool"), UsageError);
  CHECK_THROWS_WITH_AS(resolve_params(toy, nullptr, {"init=kmeans++"}), doctest::Contains("one of {k-means++, random}"),
                       UsageError);
  CHECK_THROWS_WITH_AS(resolve_params(toy, nullptr, {"hidden=64,x"}), doctest::Contains("write lists as 64,32,10"),
                       UsageError);
  CHECK_THROWS_AS(resolve_params(toy, nullptr, {"=3"}), UsageError);
  CHECK_THROWS_AS(resolve_params(toy, json{{"k", "3"}}, {}), UsageError);
  CHECK_THROWS_AS(resolve_params(toy, json{{"k", 3.5}}, {}), UsageError);
  CHECK_THROWS_AS(resolve_params(toy, json{{"whiten", 1}}, {}), UsageError);
  CHECK_THROWS_AS(resolve_params(toy, json{{"hidden", {1, "2"}}}, {}), UsageError);
  CHECK_THROWS_AS(resolve_params(toy, json::array({1, 2}), {}), UsageError);

  const std::string table = describe_params(toy);
  CHECK(table.find("init    string      k-means++") != std::string::npos);
  CHECK(table.find("(one of: k-means++ random)") != std::string::npos);
}

TEST_CASE("progress lines: the first, then at most one per interval, then the last") {
  std::ostringstream throttled;
  LineProgress lines(throttled, /*min_interval_s=*/3600);
  lines.start("epoch", 100);
  for (int step = 1; step <= 100; ++step) lines.update(step, {{"loss", 1.0 / step}});
  lines.finish();
  const std::string text = throttled.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  CHECK(text.find("epoch 1/100") == 0);
  CHECK(text.find("epoch 100/100") != std::string::npos);
  CHECK(text.find("loss 0.01") != std::string::npos);

  // A phase that stops early (k-means converging) still reports where it stopped.
  std::ostringstream early;
  LineProgress stop(early, 3600);
  stop.start("iteration", 300);
  for (int step = 1; step <= 12; ++step) stop.update(step);
  stop.finish();
  const std::string stopped = early.str();
  CHECK(stopped.find("iteration 12/300") != std::string::npos);
  CHECK(std::count(stopped.begin(), stopped.end(), '\n') == 2);

  std::ostringstream every;
  LineProgress all(every, 0.0);
  all.start("step", 0);  // unknown total: no ETA
  for (int step = 1; step <= 5; ++step) all.update(step);
  all.finish();
  const std::string five = every.str();
  CHECK(std::count(five.begin(), five.end(), '\n') == 5);
  CHECK(five.find("ETA") == std::string::npos);

  // A resumed run (epoch 230 of 300 is its first) times only the epochs it ran itself: its first
  // line shows no rate, and 69 epochs left at <= 50 per second are more than a second away,
  // where counting all 231 epochs in 20 ms would claim 0:00.
  std::ostringstream resumed_out;
  LineProgress resumed(resumed_out, 0.0);
  resumed.start("epoch", 300);
  resumed.update(230);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  resumed.update(231);
  resumed.finish();
  const std::string resumed_text = resumed_out.str();
  const std::string first_line = resumed_text.substr(0, resumed_text.find('\n'));
  CHECK(first_line == "epoch 230/300");
  CHECK(resumed_text.find("epoch 231/300") != std::string::npos);
  CHECK(resumed_text.find("ETA 0:00") == std::string::npos);

  std::ostringstream bar_out;
  BarProgress bar(bar_out, 10);
  bar.start("epoch", 4);
  bar.update(4, {{"loss", 0.5}});
  bar.finish();
  CHECK(bar_out.str().find("epoch 100% [==========] 4/4") != std::string::npos);
  CHECK(bar_out.str().back() == '\n');

  CHECK(format_duration(7) == "0:07");
  CHECK(format_duration(754) == "12:34");
  CHECK(format_duration(3723) == "1:02:03");
}

TEST_CASE("output directories: runs/NAME-N, refusal, atomic files") {
  const fs::path root = fs::temp_directory_path() / ("cake_test_output_" + std::to_string(::getpid()));
  fs::remove_all(root);
  CHECK(prepare_output_dir("", "kmeans", false, root) == root / "kmeans-1");
  CHECK(prepare_output_dir("", "kmeans", false, root) == root / "kmeans-2");
  CHECK(prepare_output_dir("", "dbscan", false, root) == root / "dbscan-1");

  const std::string taken = (root / "kmeans-1").string();
  CHECK_THROWS_WITH_AS(prepare_output_dir(taken, "kmeans", false, root), doctest::Contains("--overwrite"), UsageError);
  CHECK(prepare_output_dir(taken, "kmeans", true, root) == fs::path(taken));  // empty: replaceable
  write_json_file(fs::path(taken) / "config.json", json{{"seed", 1}});
  CHECK(read_json_file(fs::path(taken) / "config.json")["seed"] == 1);
  std::ofstream(fs::path(taken) / "old.txt") << "old";
  prepare_output_dir(taken, "kmeans", true, root);  // a previous run: replaced
  CHECK_FALSE(fs::exists(fs::path(taken) / "old.txt"));

  CHECK(fs::exists(root / "kmeans-2" / kRunMarker));  // every folder cake creates is marked
  // A folder without the marker is not cake's: never emptied, even when it holds a config.json.
  fs::create_directories(root / "project");
  std::ofstream(root / "project" / "notes.txt") << "mine";
  write_json_file(root / "project" / "config.json", json{{"mine", true}});
  CHECK_THROWS_WITH_AS(prepare_output_dir((root / "project").string(), "kmeans", true, root),
                       doctest::Contains("no .cake-run marker"), UsageError);
  CHECK(fs::exists(root / "project" / "notes.txt"));

  write_json_file(root / "a.json", json{{"n", 1}});
  write_json_file(root / "a.json", json{{"n", 2}});
  CHECK(read_json_file(root / "a.json")["n"] == 2);
  std::ofstream(root / "a.txt") << "{not json";
  CHECK_THROWS_WITH_AS(read_json_file(root / "a.txt"), doctest::Contains("a.txt"), cake::Error);
  fs::remove_all(root);
}

TEST_CASE("nice ticks are 1, 2 or 5 times a power of ten and cover the range") {
  CHECK(figures::nice_ticks(0, 1, 5) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  const auto ticks = figures::nice_ticks(-3.7, 112, 6);
  CHECK(ticks.front() <= -3.7);
  CHECK(ticks.back() >= 112);
  CHECK(ticks[1] - ticks[0] == 20);
  CHECK(figures::nice_ticks(5, 5).size() >= 2);  // an empty range is widened
}

TEST_CASE("figures: a scatter plot shows each label's colour, a line plot its series") {
  const Tensor points = tensor({0.0, 0.0, 1.0, 1.0, 0.5, 0.2}, {3, 2});
  const Tensor labels = tensor(std::vector<std::int64_t>{0, 1, -1}, {3});
  const image::Canvas scatter = figures::scatter_plot("scatter", points, labels, {.names = {"zero", "one"}});
  for (std::int64_t k : {0, 1, -1}) CHECK(count_colour(scatter, image::palette(k)) > 0);
  CHECK(count_colour(scatter, image::palette(2)) == 0);

  const image::Canvas curve = figures::line_plot("loss", "epoch", "loss", {{"train", {3, 2, 1.5}}, {"test", {3.5, 2.5, 2}}});
  CHECK(count_colour(curve, image::palette(0)) > 50);
  CHECK(count_colour(curve, image::palette(1)) > 50);
}

TEST_CASE("figures: the confusion matrix puts each cluster under its class") {
  // Class 0 -> cluster 7, class 1 -> cluster 3 (10 each): after ordering, the diagonal is full.
  std::vector<std::int64_t> truth, pred;
  for (int i = 0; i < 10; ++i) truth.push_back(0), pred.push_back(7);
  for (int i = 0; i < 10; ++i) truth.push_back(1), pred.push_back(3);
  const auto table = metrics::contingency_matrix(truth, pred);
  const image::Canvas plot = figures::confusion_plot("confusion", table, {"a", "b"});
  const image::Color full = image::sequential(1.0), empty = image::sequential(0.0);
  // Two full cells and two empty ones, each cell a square of the same size.
  const int full_pixels = count_colour(plot, full), empty_pixels = count_colour(plot, empty);
  CHECK(full_pixels > 0);
  CHECK(empty_pixels > full_pixels * 9 / 10);  // the counts' digits sit on the full cells only
  // Scan the first grid row: the full cell comes first (column ordered by majority class).
  bool found = false;
  for (int y = 0; y < plot.height() && !found; ++y)
    for (int x = 0; x + 1 < plot.width() && !found; ++x)
      if (plot.pixel(x, y) == full) {
        found = true;
        int run = 0;
        while (x + run < plot.width() && plot.pixel(x + run, y) == full) ++run;
        CHECK(plot.pixel(x + run + 1, y) == empty);
      }
  CHECK(found);
}

TEST_CASE("principal_components_2d finds the directions of largest variance") {
  // Points along (1, 1, 0) with a little spread along (0, 0, 1): the first component is the line.
  manual_seed(0);
  const Tensor t = randn({200, 1}) * 5.0, noise = randn({200, 1}) * 0.1;
  Tensor x = zeros({200, 3});
  x.select(1, 0).copy_(t.squeeze(1));
  x.select(1, 1).copy_(t.squeeze(1));
  x.select(1, 2).copy_(noise.squeeze(1));
  const Tensor pc = figures::principal_components_2d(x);
  REQUIRE(pc.sizes() == Shape{200, 2});
  const double var0 = pc.select(1, 0).var().item<float>(), var1 = pc.select(1, 1).var().item<float>();
  const double total = x.var({0}).sum().item<float>();
  CHECK(var0 == doctest::Approx(total).epsilon(0.01));  // almost everything on the first axis
  CHECK(var1 < 0.02);
}

TEST_CASE("RunContext writes arrays, metrics and figures for any algorithm") {
  // The figures stay in build/tests/cli_figures/ for a look after the run.
  const fs::path dir = fs::current_path() / "cli_figures";
  fs::remove_all(dir);
  fs::create_directories(dir);
  QuietProgress quiet;
  RunContext ctx;
  ctx.algorithm = "toy";
  ctx.out_dir = dir;
  ctx.progress = &quiet;
  ctx.quiet = true;

  // Three blobs in 5-D, 100 points each; the clustering gets 10 points wrong and 5 as noise.
  manual_seed(1);
  const std::int64_t n = 300;
  Tensor x = randn({n, 5});
  std::vector<std::int64_t> truth(n), predicted(n);
  for (std::int64_t i = 0; i < n; ++i) {
    truth[static_cast<std::size_t>(i)] = i / 100;
    predicted[static_cast<std::size_t>(i)] = i < 5 ? -1 : i < 15 ? 2 : i / 100;
    x[i].add_(full({5}, 6.0 * static_cast<double>(i / 100)));
  }
  ctx.data = x;
  ctx.labels = tensor(truth, {n});
  ctx.class_names = {"alpha", "beta", "gamma"};

  ctx.save_labels(tensor(predicted, {n}));
  CHECK(ctx.metrics["n_clusters"] == 3);
  CHECK(ctx.metrics["n_noise"] == 5);
  CHECK(ctx.metrics["acc"].get<double>() == doctest::Approx(285.0 / 300.0));
  CHECK(ctx.metrics.contains("nmi"));
  CHECK(ctx.predicted_labels.dtype() == kInt64);

  ctx.save_embedding(x.narrow(1, 0, 3), "embedding");  // 3 columns: plotted on 2 principal axes
  ctx.save_embedding(x.narrow(1, 0, 2), "plane");
  ctx.save_curve("loss.png", "toy loss", {{"train", {4, 2, 1, 0.5, 0.4}}, {"test", {4.2, 2.5, 1.6, 1.2, 1.1}}}, "epoch");
  ctx.log({{"epoch", 1}, {"loss", 0.5}});
  ctx.log({{"epoch", 2}, {"loss", 0.25}});

  // Image data: 12 tiny 8x8 gradients, 4 clusters.
  RunContext images = ctx;
  images.image_shape = Shape{1, 8, 8};
  images.data = (arange(0.0, 64.0, 1.0) / 63.0).unsqueeze(0).expand({12, 64}).contiguous();
  images.labels = Tensor();
  images.save_labels(tensor(std::vector<std::int64_t>{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}, {12}));
  images.save_image_grid("grid.png", images.data, 6);

  CHECK(data::read_npy(dir / "labels.npy").sizes() == Shape{12});
  CHECK(data::read_npy(dir / "embedding.npy").sizes() == Shape{n, 3});
  std::ifstream log(dir / "log.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) lines += json::parse(line).contains("loss");
  CHECK(lines == 2);
  if (image::png_available()) {
    for (const char* figure : {"confusion_matrix.png", "embedding.png", "plane.png", "loss.png", "cluster_samples.png", "grid.png"})
      CHECK_MESSAGE(fs::exists(dir / figure), figure);
  }
  CHECK_THROWS_AS(ctx.save_labels(tensor(std::vector<std::int64_t>{1, 2}, {2})), cake::Error);
  CHECK_THROWS_AS(ctx.save_labels(zeros({n})), cake::Error);  // float labels
  CHECK_THROWS_AS(ctx.save_embedding(zeros({n - 1, 2})), cake::Error);
}
