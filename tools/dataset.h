// dataset.h: what --data and --labels name, loaded into the tensors a run needs.
//
//   InputData in = load_input("fashion-mnist:test", "");   // named: labels and class names come along
//   InputData x = load_input("X.npy", "y.npy");            // files: .npy or .csv
//
// --data is a named data set (data/datasets.h: fashion-mnist:train, mnist:test, ...) or a
// file: .npy holding [N, D] features, [N, H, W] gray images or [N, C, H, W] images (uint8
// images are scaled to [0, 1]); or .csv with one sample per row. Images are flattened to rows
// and remembered as image_shape. --labels is an integer .npy of shape [N] (or "-" for none).
// With a named training split (fashion-mnist:train) its test split is loaded as test data.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cake/distributed/process_group.h"
#include "cake/tensor/tensor.h"

namespace cake::cli {

struct InputData {
  Tensor data;                       // float32 [N, D] on the CPU
  Tensor labels;                     // int64 [N] or undefined
  std::optional<Shape> image_shape;  // {C, H, W} for images
  std::vector<std::string> class_names;
  Tensor test_data, test_labels;     // the test split of a named training set
};

InputData load_input(const std::string& data, const std::string& labels_path);

// Under mpirun, for a command that splits the rows over the ranks (MultiRank::Sharded): each
// rank reads only its own rows of a --data .npy file (cake::distributed::read_npy_shard: the
// header, one seek, those rows' bytes), so no rank holds the whole file. The rows get the rules
// of load_input (uint8 images scaled to [0, 1], float32, no NaN); --labels is read whole (one
// integer per row) and checked against the file's row count. Named data sets and .csv files
// have no such path: every rank loads them whole and takes its rows afterwards.
struct ShardedInput {
  InputData input;                 // input.data: this rank's rows only
  distributed::Shard shard;        // where they sit among all the rows
  std::int64_t total_rows = 0;     // N
};
bool readable_as_shards(const std::string& data);  // a .npy file (not a named data set or .csv)
ShardedInput load_input_shard(const std::string& data, const std::string& labels_path,
                              const distributed::ProcessGroup& group);

// What a label file holds: true classes, or a clustering's predictions (where -1 marks noise).
enum class LabelRole { Truth, Prediction };

// Integer labels [N] from a .npy file (int64, int32, uint8, bool, or floats holding whole
// numbers); errors name the file. A named data set ("fashion-mnist:test") gives its labels.
// The rules, checked at load so that no metric ever sees a value it would misread:
//   - every label is an integer representable in int64 (floats: finite, whole, |v| < 2^63);
//   - true labels are >= 0; predictions are >= -1, where -1 is noise (DBSCAN's convention).
// A fault names the file, the first bad value and its index.
Tensor load_labels(const std::string& source, LabelRole role = LabelRole::Truth);

}  // namespace cake::cli
