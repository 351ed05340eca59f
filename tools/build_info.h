// build_info.h: what a `cake` binary was built from, for `cake --version` and each run's
// config.json.
#pragma once

namespace cake::cli {

// The commit of the source tree at build time (`git rev-parse --short HEAD`), with "-dirty" when
// tracked files had uncommitted changes, "unknown" outside a git checkout. Stamped on every
// build, not only when CMake configures (cmake/CakeGitCommit.cmake).
const char* git_commit();

}  // namespace cake::cli
