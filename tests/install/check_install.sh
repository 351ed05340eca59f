#!/usr/bin/env bash
# Installs the built Cake into a scratch prefix and builds tests/install/consumer against it
# with find_package(Cake), then runs it.
set -euo pipefail
build_dir="$1"; source_dir="$2"
scratch="$build_dir/install-check"
rm -rf "$scratch"
cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
# The package exports one include directory, holding only cake/ (no top-level tensor/, nn/ ...).
extra=$(ls "$scratch/prefix/include" | grep -vx cake || true)
if [ -n "$extra" ]; then echo "install: unexpected top-level include entries: $extra" >&2; exit 1; fi
# No path of the building machine's libraries (OpenBLAS, oneDNN, MPI, NCCL) in the exported
# targets: they are private to libcake, so a consumer needs none of their headers.
if grep -n "/usr/lib\|libopenblas\|libdnnl\|MPI::\|libmpi\|nccl" "$scratch"/prefix/lib*/cmake/Cake/CakeTargets*.cmake; then
  echo "install: the exported targets name a library path of the build machine" >&2; exit 1
fi
cmake -S "$source_dir/tests/install/consumer" -B "$scratch/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$scratch/build" >/dev/null
LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" "$scratch/build/consumer"
