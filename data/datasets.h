// datasets.h: the named image data sets, loaded by a short spec string.
//
//   cake::data::LabeledData test = cake::data::load_named("fashion-mnist:test:2000");
//   // test.images: float32 [2000, 1, 28, 28] in [0, 1]; test.labels: int64 [2000]
//   // test.class_names: {"T-shirt/top", "Trouser", ...}
//
// Specs:
//   fashion-mnist:train | fashion-mnist:test     Fashion-MNIST (Xiao et al., 2017) from Debian's
//                                                dataset-fashion-mnist package, installed under
//                                                /usr/share/datasets/fashion-mnist (override the
//                                                folder with CAKE_FASHION_MNIST_DIR)
//   mnist:train | mnist:test                     MNIST (LeCun et al., 1998) from the folder named
//                                                by the environment variable CAKE_MNIST_DIR
//   mnist:DIR:train | mnist:DIR:test             MNIST from the folder DIR
//   ...:all (fashion-mnist:all, mnist:all, ...)  both splits, the training images first (70,000
//                                                for both data sets): the protocol of the deep
//                                                clustering papers (DEC, IDEC, N2D), which train
//                                                and score on every image
// Any spec may end in ":N" to keep only the first N samples (fashion-mnist:test:2000).
// The folders hold the four IDX files under their usual names ({train,t10k}-{images-idx3,
// labels-idx1}-ubyte, gzip-compressed with a .gz suffix or raw).
#pragma once

#include <string>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::data {

struct LabeledData {
  Tensor images;                         // float32 [N, 1, 28, 28], pixel values / 255 in [0, 1]
  Tensor labels;                         // int64 [N]
  std::vector<std::string> class_names;  // the name of label i
};

// Loads a named data set. Unknown specs, missing files (naming the path and, for
// Fashion-MNIST, the Debian package to install) and inconsistent files are cake::Errors.
LabeledData load_named(const std::string& spec);

// True when `spec` names a data set load_named knows (fashion-mnist:..., mnist:...), so that
// a caller can tell a named data set from a file path.
bool is_named_dataset(const std::string& spec);

}  // namespace cake::data
