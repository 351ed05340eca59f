// datasets.cpp: spec parsing and the (Fashion-)MNIST loaders.
#include "cake/data/datasets.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <system_error>

#include "cake/autograd/ops.h"
#include "cake/data/file_io.h"
#include "cake/data/idx.h"
#include "cake/tensor/parallel.h"

namespace cake::data {
namespace {

constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
constexpr const char* kFashionMnistPackage = "dataset-fashion-mnist";

struct Spec {
  std::string name;         // "fashion-mnist" or "mnist"
  std::string directory;    // where the IDX files are
  bool train = true;        // train or test split
  bool all = false;         // both splits, train first (the 70,000-image protocol of DEC and its successors)
  std::optional<std::int64_t> limit;  // keep the first N samples
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

bool is_count(const std::string& s) {
  return !s.empty() && s.size() <= 12 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string env_or(const char* variable, const std::string& fallback) {
  const char* value = std::getenv(variable);
  return value && *value ? std::string(value) : fallback;
}

const char* usage() {
  return " (expected fashion-mnist:train|test|all[:N], mnist:train|test|all[:N] with CAKE_MNIST_DIR set, or "
         "mnist:DIR:train|test|all[:N])";
}

Spec parse_spec(const std::string& text) {
  std::vector<std::string> parts = split(text, ':');
  Spec spec;
  spec.name = parts.front();
  CAKE_CHECK(spec.name == "fashion-mnist" || spec.name == "mnist", "load_named: unknown data set '", text, "'",
             usage());
  parts.erase(parts.begin());
  if (!parts.empty() && is_count(parts.back())) {
    spec.limit = std::stoll(parts.back());
    parts.pop_back();
  }
  CAKE_CHECK(!parts.empty() && (parts.back() == "train" || parts.back() == "test" || parts.back() == "all"),
             "load_named: '", text, "' does not name a split", usage());
  spec.train = parts.back() == "train";
  spec.all = parts.back() == "all";
  parts.pop_back();
  // What is left is the folder (it may itself contain ':'), for mnist only.
  std::string folder;
  for (std::size_t i = 0; i < parts.size(); ++i) folder += (i ? ":" : "") + parts[i];
  if (spec.name == "fashion-mnist") {
    CAKE_CHECK(folder.empty(), "load_named: '", text, "': fashion-mnist takes no folder (set CAKE_FASHION_MNIST_DIR)",
               usage());
    spec.directory = env_or("CAKE_FASHION_MNIST_DIR", kFashionMnistDir);
  } else {
    spec.directory = folder.empty() ? env_or("CAKE_MNIST_DIR", "") : folder;
    CAKE_CHECK(!spec.directory.empty(), "load_named: '", text,
               "': MNIST cannot be downloaded here; point CAKE_MNIST_DIR at a folder holding the four IDX files, or "
               "write mnist:DIR:", spec.train ? "train" : "test");
  }
  return spec;
}

// The IDX file for one part ("images-idx3" or "labels-idx1"), under any of its usual names.
std::filesystem::path find_idx_file(const Spec& spec, const std::string& part) {
  const std::string prefix = spec.train ? "train" : "t10k";
  const std::filesystem::path dir(spec.directory);
  const std::string dotted = part.substr(0, part.find('-')) + "." + part.substr(part.find('-') + 1);
  const std::filesystem::path candidates[] = {
      dir / (prefix + "-" + part + "-ubyte.gz"), dir / (prefix + "-" + part + "-ubyte"),
      dir / (prefix + "-" + dotted + "-ubyte.gz"), dir / (prefix + "-" + dotted + "-ubyte")};
  std::error_code ec;
  for (const auto& candidate : candidates)
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  if (spec.name == "fashion-mnist")
    CAKE_FAIL("load_named: Fashion-MNIST file ", quoted(candidates[0]), " not found; install the Debian package with "
              "`apt-get install -y ", kFashionMnistPackage, "` (or set CAKE_FASHION_MNIST_DIR to a folder holding it)");
  CAKE_FAIL("load_named: MNIST file ", quoted(candidates[0]), " (or ", candidates[1].filename().string(),
            ") not found in ", quoted(dir));
}

std::vector<std::string> class_names_for(const std::string& name) {
  if (name == "fashion-mnist")
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

// uint8 [N, H, W] -> float32 [N, 1, H, W] in [0, 1].
Tensor to_unit_float(const Tensor& images) {
  const std::int64_t n = images.size(0), h = images.size(1), w = images.size(2);
  Tensor out = make_empty({n, 1, h, w}, kFloat32, kCPU);
  const std::uint8_t* src = images.data_ptr<std::uint8_t>();
  float* dst = out.data_ptr<float>();
  parallel_for(0, out.numel(), 1 << 16, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 255.0f);
  });
  return out;
}

}  // namespace

bool is_named_dataset(const std::string& spec) {
  return spec.rfind("fashion-mnist:", 0) == 0 || spec.rfind("mnist:", 0) == 0;
}

LabeledData load_named(const std::string& text) {
  const Spec spec = parse_spec(text);
  if (spec.all) {
    // "all": the training split followed by the test split (70,000 images for (Fashion-)MNIST),
    // the protocol of the deep clustering papers (DEC, IDEC, VaDE, N2D), which train and score
    // on every image. ":N" keeps the first N of the two together.
    const std::string base = text.substr(0, text.rfind(spec.limit ? ":all:" : ":all"));
    LabeledData train = load_named(base + ":train");
    const LabeledData test = load_named(base + ":test");
    Tensor images = cat({train.images, test.images}, 0), labels = cat({train.labels, test.labels}, 0);
    if (spec.limit) {
      CAKE_CHECK(*spec.limit <= images.size(0), "load_named: '", text, "' asks for ", *spec.limit,
                 " samples, the two splits together have ", images.size(0));
      images = images.narrow(0, 0, *spec.limit).contiguous();
      labels = labels.narrow(0, 0, *spec.limit).contiguous();
    }
    return {images, labels, train.class_names};
  }
  const std::filesystem::path image_file = find_idx_file(spec, "images-idx3");
  const std::filesystem::path label_file = find_idx_file(spec, "labels-idx1");
  Tensor images = read_idx(image_file);
  Tensor labels = read_idx(label_file);
  CAKE_CHECK(images.dim() == 3 && images.dtype() == kUInt8, "load_named: ", quoted(image_file),
             " should hold uint8 images [N, H, W], found ", dtype_name(images.dtype()), " ", images.sizes());
  CAKE_CHECK(labels.dim() == 1 && labels.dtype() == kInt64, "load_named: ", quoted(label_file),
             " should hold labels [N], found shape ", labels.sizes());
  CAKE_CHECK(images.size(0) == labels.size(0), "load_named: ", quoted(image_file), " holds ", images.size(0),
             " images but ", quoted(label_file), " holds ", labels.size(0), " labels");
  const std::vector<std::string> names = class_names_for(spec.name);
  const std::int64_t* label_values = labels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < labels.numel(); ++i)
    CAKE_CHECK(label_values[i] >= 0 && label_values[i] < static_cast<std::int64_t>(names.size()), "load_named: ",
               quoted(label_file), ": label ", label_values[i], " at index ", i, " is outside 0..", names.size() - 1);

  if (spec.limit) {
    CAKE_CHECK(*spec.limit <= images.size(0), "load_named: '", text, "' asks for ", *spec.limit, " samples, the ",
               spec.train ? "train" : "test", " split has ", images.size(0));
    images = images.narrow(0, 0, *spec.limit).contiguous();
    labels = labels.narrow(0, 0, *spec.limit).contiguous();
  }
  return {to_unit_float(images), labels, names};
}

}  // namespace cake::data
