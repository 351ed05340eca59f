#!/usr/bin/env bash
# tools/cuda-check.sh: proves the CUDA backend on a machine with a GPU, in one command.
#
#   tools/cuda-check.sh --fetch-debs          # here (Debian 12, network): the .debs the GPU
#                                             # machine may lack, into build/cuda-debs/
#   tools/cuda-check.sh [--debs build/cuda-debs]   # there: build, run, write the results
#
# Builds only what the CUDA check needs (the library, tests/cuda/* and bench/cuda/bench_cuda),
# for sm_90 only, with all cores; runs tests/cuda/ (the allocator and registry tests, the runtime
# test, the CPU-vs-GPU conformance suite, test_algorithms_gpu: k-means, GMM, PCA, t-SNE and a
# network's training on the GPU against the CPU, test_linalg_gpu: cuSOLVER's eigh against LAPACK,
# test_half_gpu: bfloat16/float16 and autocast, test_graph_gpu: CUDA graphs, test_nearest_rows_gpu,
# and the NCCL backend on one rank: every program tools/gpu-test-targets.sh lists); then times
# bench_cuda against the same cases in PyTorch
# (bench/cuda/peer_cuda.py, when `python3 -c "import torch"` works) and prints one table of both
# times and their ratio.
# Everything goes to build/cuda-check/results.txt (nvidia-smi, versions, CTest's output, the
# table, the wall times). Exits non-zero when a test fails or is skipped: on a GPU machine a skip
# means the device was not found, which is itself a failure.
# About 5 minutes on 16 cores (nvcc is most of it): estimated, not yet run to the end on a GPU
# machine (docs/cuda.md). tools/cuda-bundle.sh is the check that ran, in seconds.
#
# On the GPU machine's copy of the working tree, build/ is not there unless carried: carry
# build/cuda-debs (about 14 MB) when the machine lacks the packages below.
#
# The GPU machine has nvcc, CMake and ninja but may lack Cake's other build dependencies
# (OpenBLAS, doctest, nlohmann-json, zlib headers). With --debs, Debian 12's packages are
# unpacked into build/cuda-check/deps with dpkg-deb -x (or ar + tar), never installed, and
# CMake is pointed at them. They are Debian's own builds, the same ones CI installs.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libquadmath0 doctest-dev nlohmann-json3-dev zlib1g-dev)
build=build/cuda-check
results=$build/results.txt
debs=""
case "${1:-}" in
  --fetch-debs)
    mkdir -p build/cuda-debs
    (cd build/cuda-debs && apt-get download "${packages[@]}")
    ls -l build/cuda-debs
    exit 0 ;;
  --debs) debs=${2:?--debs needs a folder of .deb files} ;;
  "") # The packages fetched here earlier, when this machine lacks Cake's build dependencies.
      if [[ -d build/cuda-debs && ( ! -e /usr/include/doctest/doctest.h || -z "$(find /usr/include -name cblas.h 2>/dev/null | head -1)" ) ]]; then
        debs=build/cuda-debs
      fi ;;
  *) echo "usage: $0 [--fetch-debs | --debs DIR]" >&2; exit 2 ;;
esac


mkdir -p "$build"
start=$(date +%s)
extra=()
# cuDNN and NCCL: beside the toolkit (as on Debian with NVIDIA's packages), or, on the GPU
# machine's image, only inside PyTorch's pip packages (nvidia/cudnn, nvidia/nccl), whose
# libraries carry no unversioned .so link for find_library: point CMake at them directly.
for package in cudnn nccl; do
  # `|| true`: find fails on a folder this machine lacks, and under pipefail that would end the
  # script here without a word (it did, on the GPU machine's first run of this search).
  header=$(find /usr/local/cuda/include /usr/include /opt /usr/local/lib -name "$package.h" 2>/dev/null | head -1 || true)
  library=$(find /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/lib/x86_64-linux-gnu /opt /usr/local/lib \
                 -name "lib$package.so*" 2>/dev/null | sort | head -1 || true)
  if [[ -n "$header" && -n "$library" ]]; then
    extra+=(-DCAKE_${package^^}_INCLUDE_DIR="$(dirname "$header")" -DCAKE_${package^^}_LIBRARY="$library")
    LD_LIBRARY_PATH="$(dirname "$library")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
if [[ -n "$debs" ]]; then
  root=$PWD/$build/deps
  rm -rf "$root" && mkdir -p "$root"
  for deb in "$debs"/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$root"
    else  # a .deb is an ar archive holding data.tar.{xz,zst,gz}
      deb_path=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
      tmp=$(mktemp -d) && (cd "$tmp" && ar x "$deb_path") && tar -xf "$tmp"/data.tar.* -C "$root" && rm -rf "$tmp"
    fi
  done
  cblas=$(find "$root" -name cblas.h | head -1)
  openblas=$(find "$root" -name 'libopenblas.so' | head -1)
  # Debian reaches libopenblas.so through update-alternatives, which dpkg-deb -x does not run:
  # FindBLAS is pointed at the unpacked folder instead (and searches LD_LIBRARY_PATH, below).
  extra+=(-DCMAKE_PREFIX_PATH="$root/usr" -DCAKE_CBLAS_INCLUDE_DIR="$(dirname "$cblas")"
          -DCMAKE_LIBRARY_PATH="$(dirname "$openblas")")
  if [[ ! -e /usr/include/zlib.h ]]; then
    # zlib1g-dev's libz.so is an absolute link to Debian's /lib/x86_64-linux-gnu/libz.so.1.2.13;
    # aim it at this machine's runtime libz.so.1 instead.
    libz=$root/usr/lib/x86_64-linux-gnu/libz.so
    if [[ -L "$libz" && ! -e "$libz" ]]; then
      system_libz=$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -1)
      [[ -n "$system_libz" ]] && ln -sf "$system_libz" "$libz"
    fi
    extra+=(-DZLIB_ROOT="$root/usr")
  fi
  LD_LIBRARY_PATH="$(dirname "$openblas"):$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
fi

{
  echo "== cake CUDA check, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not available"
  /usr/local/cuda/bin/nvcc --version | tail -2
  cmake --version | head -1
} > "$results"

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCAKE_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90-real \
  -DCAKE_WITH_ONEDNN=OFF -DCAKE_WITH_STB=OFF -DCAKE_BUILD_TOOLS=OFF -DCAKE_BUILD_BENCH=ON -DCAKE_BUILD_CUDA_BENCH=ON \
  -DCAKE_BUILD_EXAMPLES=OFF \
  "${extra[@]}" > "$build/configure.log" 2>&1 || { tail -30 "$build/configure.log" | tee -a "$results"; exit 1; }
configured=$(date +%s)
mapfile -t gpu_tests < <(tools/gpu-test-targets.sh)
cmake --build "$build" -j"$(nproc)" --target cake "${gpu_tests[@]}" bench_cuda > "$build/build.log" 2>&1 || { grep -E "error|FAILED" "$build/build.log" | head -40 | tee -a "$results"; exit 1; }
built=$(date +%s)

set +e
ctest --test-dir "$build" -R '^(cuda/|.*_gpu$)' --output-on-failure --no-tests=error -V > "$build/ctest.log" 2>&1
status=$?
set -e
cat "$build/ctest.log" >> "$results"
tested=$(date +%s)

# ---- benchmarks: Cake and PyTorch, same cases, same session ----
"$build/bench/bench_cuda" > "$build/bench_cake.txt" 2> "$build/bench_cake.err" || echo "== bench_cuda failed: $(tail -3 "$build/bench_cake.err")" >> "$results"
if python3 -c "import torch" 2>/dev/null; then
  python3 bench/cuda/peer_cuda.py > "$build/bench_torch.txt" 2> "$build/bench_torch.err" || echo "== peer_cuda.py failed: $(tail -3 "$build/bench_torch.err")" >> "$results"
else
  echo "== PyTorch not importable: Cake's times only" >> "$results"
  : > "$build/bench_torch.txt"
fi
{
  echo "== GPU benchmarks (ms per run, mean; ratio = Cake / PyTorch, < 1 is faster than PyTorch)"
  # Bandwidth for the 256M-element cases: bytes moved (read + written) per second.
  awk 'FILENAME == ARGV[1] { torch[$1] = $2; next }
       BEGIN { printf "%-32s %12s %12s %8s %10s\n", "case", "cake_ms", "torch_ms", "ratio", "cake_GB/s" }
       { bytes = 0
         if ($1 ~ /^(add|mul)_256M_f32$/) bytes = 3 * 4 * 268435456
         if ($1 == "copy_256M_f32") bytes = 2 * 4 * 268435456
         if ($1 == "sum_256M_f32") bytes = 4 * 268435456
         t = ($1 in torch) ? torch[$1] : "-"
         ratio = ($1 in torch && torch[$1] > 0) ? sprintf("%.2f", $2 / torch[$1]) : "-"
         gbs = bytes > 0 ? sprintf("%.0f", bytes / ($2 / 1000) / 1e9) : "-"
         printf "%-32s %12s %12s %8s %10s\n", $1, $2, t, ratio, gbs }' \
    "$build/bench_torch.txt" "$build/bench_cake.txt"
} | tee -a "$results"
finished=$(date +%s)
echo "== times (s): configure $((configured - start)), build $((built - configured)), tests $((tested - built)), benchmarks $((finished - tested))" >> "$results"
if grep -qE "\*\*\*Skipped|Not Run" "$build/ctest.log"; then
  echo "== FAIL: a GPU test was skipped: no CUDA device seen" >> "$results"
  status=1
fi
echo "== exit status $status" >> "$results"
tail -30 "$results"
exit $status
