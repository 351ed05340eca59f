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
# Every library the installed libcake needs is found in the system's own folders or on its run
# path, without the building machine's ld.so.conf entries (a stock machine may lack them).
library=$(ls "$scratch"/prefix/lib*/libcake.so.*.*.* | head -1)
runpath=$(readelf -d "$library" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
IFS=: read -r -a folders <<< "$runpath"
folders+=(/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /lib /usr/lib)
for needed in $(readelf -d "$library" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  found=no
  for folder in "${folders[@]}"; do [ -n "$folder" ] && [ -e "$folder/$needed" ] && found=yes && break; done
  if [ "$found" = no ]; then
    echo "install: $library needs $needed, which is neither in a system folder nor on its run path ($runpath)" >&2
    exit 1
  fi
done
# The consumer's configure and build print only when they fail.
run_quietly() { local log; if ! log=$("$@" 2>&1); then echo "$log" >&2; echo "install: failed: $*" >&2; exit 1; fi; }
run_quietly cmake -S "$source_dir/tests/install/consumer" -B "$scratch/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_BUILD_TYPE=Release
run_quietly cmake --build "$scratch/build"
LD_LIBRARY_PATH="$scratch/prefix/lib:${LD_LIBRARY_PATH:-}" "$scratch/build/consumer"
