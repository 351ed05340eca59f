// dataset.cpp: loading --data and --labels (see dataset.h).
#include "tools/dataset.h"

#include <cmath>
#include <filesystem>

#include "cake/autograd/ops.h"
#include "cake/data/csv.h"
#include "cake/data/datasets.h"
#include "cake/data/file_io.h"
#include "cake/data/npy.h"
#include "cake/distributed/shard_io.h"
#include "tools/errors.h"

namespace cake::cli {

namespace {

std::string lowercase_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// A named data set: images [N, 1, 28, 28] become rows of 784 with image_shape {1, 28, 28}.
InputData load_named_input(const std::string& spec) {
  InputData in;
  data::LabeledData named = data::load_named(spec);
  in.image_shape = Shape(named.images.sizes().begin() + 1, named.images.sizes().end());
  in.data = named.images.flatten(1).contiguous();
  in.labels = named.labels;
  in.class_names = named.class_names;
  // "fashion-mnist:train[:N]" -> also "fashion-mnist:test", for algorithms that evaluate on it.
  const auto train = spec.find(":train");
  if (train != std::string::npos) {
    data::LabeledData test = data::load_named(spec.substr(0, train) + ":test");
    in.test_data = test.images.flatten(1).contiguous();
    in.test_labels = test.labels;
  }
  return in;
}

// The rules every features array gets, read whole or as a shard: rows are samples; 3-D and 4-D
// arrays are images. `what` names the array in errors (the file, or "rows 5-9 of" the file).
InputData features_from_array(Tensor x, const std::string& what) {
  InputData in;
  CAKE_CHECK(x.dim() >= 1 && x.dim() <= 4, what, ": expected [N, D] features or [N, H, W] / [N, C, H, W] images, got shape ",
             x.sizes());
  CAKE_CHECK(x.numel() > 0, what, ": the array is empty (shape ", x.sizes(), ")");
  const bool images = x.dim() >= 3;
  if (images) in.image_shape = x.dim() == 3 ? Shape{1, x.size(1), x.size(2)} : Shape{x.size(1), x.size(2), x.size(3)};
  // Pixel bytes 0..255 become intensities in [0, 1], the convention of every image in Cake.
  const bool scale_bytes = images && x.dtype() == kUInt8;
  x = x.to(kFloat32);
  if (scale_bytes) x = x / 255.0;
  in.data = (x.dim() == 1 ? x.unsqueeze(1) : x.flatten(1)).contiguous();
  CAKE_CHECK(cake::isfinite(in.data).to(kInt64).sum().item<std::int64_t>() == in.data.numel(), what,
             ": the data hold NaN or infinite values");
  return in;
}

// Features from a file.
InputData load_file_input(const std::string& path) {
  data::check_regular_file(path);  // a folder or FIFO is named as such, not "no such file"
  const std::string ext = lowercase_extension(path);
  if (ext == ".csv") return features_from_array(data::read_csv(path).features, path);
  if (ext == ".npy") return features_from_array(data::read_npy(path), path);
  throw UsageError("--data " + path + ": expected a .npy or .csv file or a named data set " +
                   "(fashion-mnist:train, fashion-mnist:test, mnist:train, mnist:test)");
}

}  // namespace

Tensor load_labels(const std::string& source, LabelRole role) {
  if (data::is_named_dataset(source)) return data::load_named(source).labels;
  Tensor y = data::read_npy(source);
  CAKE_CHECK(y.dim() == 1, source, ": expected labels of shape [N], got ", y.sizes());
  if (y.is_floating_point()) {
    // A float label must be a whole number that int64 holds exactly: casting inf, NaN or
    // 1e300 to int64 is undefined behaviour (in practice INT64_MIN, which merges classes).
    const Tensor values = y.to(kFloat64).contiguous();
    const double* v = values.data_ptr<double>();
    for (std::int64_t i = 0; i < values.numel(); ++i) {
      const bool whole = std::isfinite(v[i]) && std::floor(v[i]) == v[i];
      CAKE_CHECK(whole && v[i] >= -9.2233720368547758e18 && v[i] < 9.2233720368547758e18, source,
                 ": labels must be integers representable in int64, got ", v[i], " at index ", i, " (",
                 dtype_name(y.dtype()), ")");
    }
  }
  y = y.to(kInt64).contiguous();
  const std::int64_t* p = y.data_ptr<std::int64_t>();
  const std::int64_t lowest = role == LabelRole::Prediction ? -1 : 0;
  for (std::int64_t i = 0; i < y.numel(); ++i)
    CAKE_CHECK(p[i] >= lowest, source, ": label ", p[i], " at index ", i, " is negative; ",
               role == LabelRole::Prediction ? "predicted labels are cluster ids >= 0, or -1 for noise"
                                             : "true labels must be class ids >= 0 (-1 means noise only in predictions)");
  return y;
}

namespace {
// --labels for the n samples of --data: one true label per row.
Tensor load_labels_for(const std::string& labels_path, std::int64_t n, const std::string& data_spec) {
  Tensor labels = load_labels(labels_path);
  CAKE_CHECK(labels.size(0) == n, labels_path, ": ", labels.size(0), " labels for the ", n, " samples of ", data_spec);
  return labels;
}
}  // namespace

InputData load_input(const std::string& data_spec, const std::string& labels_path) {
  const bool named = data::is_named_dataset(data_spec);
  InputData in = named ? load_named_input(data_spec) : load_file_input(data_spec);
  if (!labels_path.empty() && labels_path != "-") {
    if (named) throw UsageError("--labels: the named data set " + data_spec + " brings its own labels");
    in.labels = load_labels_for(labels_path, in.data.size(0), data_spec);
  }
  return in;
}

bool readable_as_shards(const std::string& data_spec) {
  return !data::is_named_dataset(data_spec) && lowercase_extension(data_spec) == ".npy";
}

ShardedInput load_input_shard(const std::string& data_spec, const std::string& labels_path,
                              const distributed::ProcessGroup& group) {
  CAKE_CHECK(readable_as_shards(data_spec), "load_input_shard: ", data_spec, " is not a .npy file");
  data::check_regular_file(data_spec);
  distributed::FileShard mine = distributed::read_npy_shard(group, data_spec);
  CAKE_CHECK(mine.shard.size() > 0, data_spec, " has ", mine.total_rows, " rows, fewer than the ", group.world_size(),
             " ranks: rank ", group.rank(), " would hold none");
  const std::string what = mine.shard.size() == mine.total_rows
                               ? data_spec
                               : "rows " + std::to_string(mine.shard.begin) + "-" + std::to_string(mine.shard.end - 1) +
                                     " of " + data_spec;
  ShardedInput out{.input = features_from_array(std::move(mine.rows), what), .shard = mine.shard, .total_rows = mine.total_rows};
  if (!labels_path.empty() && labels_path != "-") out.input.labels = load_labels_for(labels_path, out.total_rows, data_spec);
  return out;
}

}  // namespace cake::cli
