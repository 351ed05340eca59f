// Tests for data/datasets.h: spec parsing, MNIST from a folder of (synthetic) IDX files given
// in the spec or by CAKE_MNIST_DIR, the installed Fashion-MNIST, and the errors naming the
// missing path and the Debian package.
#include <cstdlib>

#include "cake/data/datasets.h"
#include "cake/data/idx.h"
#include "helpers.h"
#include "test_files.h"

using namespace cake;
using cake::data::is_named_dataset;
using cake::data::load_named;
using cake::testing::error_message;
using cake::testing::values;

namespace {
// A fake MNIST folder: `n` train and n / 2 test images of 28x28 whose every pixel equals the
// sample index, and labels index % 10. Test files raw, train files gzip.
void write_fake_mnist(const std::filesystem::path& dir, std::int64_t n) {
  for (bool train : {true, false}) {
    const std::int64_t count = train ? n : n / 2;
    Tensor images = make_empty({count, 28, 28}, kUInt8, kCPU);
    Tensor labels = make_empty({count}, kInt64, kCPU);
    for (std::int64_t i = 0; i < count; ++i) {
      std::fill_n(images.data_ptr<std::uint8_t>() + i * 784, 784, static_cast<std::uint8_t>(i * 5));
      labels.data_ptr<std::int64_t>()[i] = i % 10;
    }
    const std::string prefix = train ? "train" : "t10k", suffix = train ? ".gz" : "";
    data::write_idx(dir / (prefix + "-images-idx3-ubyte" + suffix), images, train);
    data::write_idx(dir / (prefix + "-labels-idx1-ubyte" + suffix), labels.to(kUInt8), train);
  }
}
}  // namespace

TEST_CASE("datasets: MNIST from a folder in the spec, with a sample limit") {
  testing::ScratchDir dir("cake_test_mnist");
  write_fake_mnist(dir.path(), 30);
  const auto train = load_named("mnist:" + dir.path().string() + ":train");
  CHECK(train.images.sizes() == Shape{30, 1, 28, 28});
  CHECK(train.images.dtype() == kFloat32);
  CHECK(train.labels.sizes() == Shape{30});
  CHECK(train.labels.dtype() == kInt64);
  CHECK(train.class_names.size() == 10);
  CHECK(train.class_names[3] == "3");
  // Pixels are scaled to [0, 1]: sample 7 is 35 / 255 everywhere.
  CHECK(values(train.images[7]).front() == doctest::Approx(35.0 / 255.0));
  CHECK(values(train.images[7]).back() == doctest::Approx(35.0 / 255.0));
  CHECK(values(train.labels)[17] == 7);

  const auto test = load_named("mnist:" + dir.path().string() + ":test:4");
  CHECK(test.images.sizes() == Shape{4, 1, 28, 28});
  CHECK(values(test.labels) == std::vector<double>{0, 1, 2, 3});
  CHECK(error_message([&] { load_named("mnist:" + dir.path().string() + ":test:16"); })
            .find("asks for 16 samples, the test split has 15") != std::string::npos);
}

TEST_CASE("datasets: MNIST from CAKE_MNIST_DIR") {
  testing::ScratchDir dir("cake_test_mnist_env");
  write_fake_mnist(dir.path(), 10);
  ::setenv("CAKE_MNIST_DIR", dir.path().c_str(), 1);
  CHECK(load_named("mnist:test").images.size(0) == 5);
  CHECK(load_named("mnist:train:3").labels.size(0) == 3);
  ::unsetenv("CAKE_MNIST_DIR");
  CHECK(error_message([] { load_named("mnist:train"); }).find("CAKE_MNIST_DIR") != std::string::npos);
}

TEST_CASE("datasets: Fashion-MNIST from the Debian package") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist); skipped");
    return;
  }
  const auto test = load_named("fashion-mnist:test:2000");
  CHECK(test.images.sizes() == Shape{2000, 1, 28, 28});
  CHECK(test.labels.sizes() == Shape{2000});
  CHECK(test.class_names.front() == "T-shirt/top");
  CHECK(test.class_names.back() == "Ankle boot");
  const std::vector<double> pixels = values(test.images);
  CHECK(*std::min_element(pixels.begin(), pixels.end()) == 0.0);
  CHECK(*std::max_element(pixels.begin(), pixels.end()) == 1.0);
  // The first test image of Fashion-MNIST is an ankle boot (label 9), the second a pullover.
  CHECK(values(test.labels)[0] == 9);
  CHECK(values(test.labels)[1] == 2);
}

TEST_CASE("datasets: fashion-mnist:all is the training split followed by the test split") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist); skipped");
    return;
  }
  const auto all = load_named("fashion-mnist:all");
  CHECK(all.images.sizes() == Shape{70000, 1, 28, 28});
  CHECK(all.labels.sizes() == Shape{70000});
  const auto test = load_named("fashion-mnist:test:2");
  CHECK(values(all.images.narrow(0, 60000, 2)) == values(test.images));
  CHECK(values(all.labels.narrow(0, 60000, 2)) == values(test.labels));
  const auto first = load_named("fashion-mnist:all:5");
  CHECK(values(first.images) == values(load_named("fashion-mnist:train:5").images));
  CHECK(error_message([] { load_named("fashion-mnist:all:70001"); }).find("70000") != std::string::npos);
}

TEST_CASE("datasets: a missing Fashion-MNIST names the path and the apt package") {
  testing::ScratchDir empty("cake_test_fashion_missing");
  ::setenv("CAKE_FASHION_MNIST_DIR", empty.path().c_str(), 1);
  const std::string message = error_message([] { load_named("fashion-mnist:train"); });
  ::unsetenv("CAKE_FASHION_MNIST_DIR");
  CHECK(message.find((empty.path() / "train-images-idx3-ubyte.gz").string()) != std::string::npos);
  CHECK(message.find("apt-get install -y dataset-fashion-mnist") != std::string::npos);
}

TEST_CASE("datasets: spec errors and is_named_dataset") {
  CHECK(is_named_dataset("fashion-mnist:test"));
  CHECK(is_named_dataset("mnist:/data:train"));
  CHECK_FALSE(is_named_dataset("features.npy"));
  CHECK_FALSE(is_named_dataset("C:/data/x.csv"));
  CHECK(error_message([] { load_named("cifar10:train"); }).find("unknown data set 'cifar10:train'") != std::string::npos);
  CHECK(error_message([] { load_named("fashion-mnist"); }).find("does not name a split") != std::string::npos);
  CHECK(error_message([] { load_named("fashion-mnist:valid"); }).find("does not name a split") != std::string::npos);
  CHECK(error_message([] { load_named("fashion-mnist:/tmp:train"); }).find("takes no folder") != std::string::npos);
  testing::ScratchDir empty("cake_test_mnist_missing");
  const std::string message = error_message([&] { load_named("mnist:" + empty.path().string() + ":train"); });
  CHECK(message.find("train-images-idx3-ubyte.gz") != std::string::npos);
  CHECK(message.find("not found") != std::string::npos);
}

TEST_CASE("datasets: inconsistent files are refused") {
  testing::ScratchDir dir("cake_test_mnist_bad");
  write_fake_mnist(dir.path(), 10);
  // Labels for 4 samples next to 10 images.
  data::write_idx(dir / "train-labels-idx1-ubyte.gz", zeros({4}, kUInt8), true);
  CHECK(error_message([&] { load_named("mnist:" + dir.path().string() + ":train"); })
            .find("holds 10 images but") != std::string::npos);
  // A label outside 0..9.
  data::write_idx(dir / "t10k-labels-idx1-ubyte", full({5}, 12, kUInt8));
  CHECK(error_message([&] { load_named("mnist:" + dir.path().string() + ":test"); })
            .find("label 12 at index 0 is outside 0..9") != std::string::npos);
}
