// errors.h: the command line's own error type.
//
//   throw cake::cli::UsageError("kmeans has no parameter 'n_cluster'");   // exit code 2
//
// A UsageError is a mistake in how `cake` was called (an unknown or ill-typed parameter, an
// existing --out directory, --device cuda in a CPU build): main() prints it and exits with 2,
// the conventional code for bad usage. Anything else that goes wrong (an unreadable file, a
// failing algorithm) is a cake::Error and exits with 1.
#pragma once

#include "cake/tensor/error.h"

namespace cake::cli {

class UsageError : public cake::Error {
 public:
  using cake::Error::Error;
};

}  // namespace cake::cli
