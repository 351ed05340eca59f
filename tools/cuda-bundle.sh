#!/usr/bin/env bash
# tools/cuda-bundle.sh: the CUDA check from programs built here, for a GPU machine whose time is
# short. tools/cuda-check.sh builds there (minutes of GPU-machine time); this packs what a
# release build here already holds and runs it there in about 30 seconds.
#
#   tools/cuda-bundle.sh pack [BUILD_DIR]   # here (Debian 12): BUILD_DIR (default build/release,
#                                           # configured with CAKE_BUILD_CUDA_BENCH=ON) ->
#                                           # build/cuda-bundle.tar.xz, about 22 MB
#   tools/cuda-bundle.sh run                # there, in the checkout with the tarball beside it:
#                                           # build/cuda-bundle/results.txt
#
# The bundle holds the GPU test programs (every tests/cuda/ program and *_gpu test), bench_cuda, the `cake`
# command, libcake and the libraries it needs that are not CUDA's (OpenBLAS, oneDNN, Open MPI, ...:
# Debian 12's, which run on a newer glibc such as Ubuntu 24.04's), and the Fashion-MNIST test
# split. CUDA's own libraries (cudart, cuBLAS, cuSOLVER with the cuSPARSE and nvJitLink it loads,
# cuDNN, NCCL: sonames 13, 12, 9 and 2) come from the GPU machine: its toolkit, or PyTorch's pip
# packages (nvidia/*/lib), found at run time.
# `run` prints one line per test program and the benchmark table (bench_cuda against
# bench/cuda/peer_cuda.py, PyTorch on the same GPU in the same session), then six CLI runs on the
# GPU (the conv autoencoder eager, with a CUDA graph and in bfloat16; pca; kmeans; one scae epoch); it exits non-zero when a test program fails or is skipped (a skip there means no device).
set -euo pipefail
cd "$(dirname "$0")/.."

bundle=build/cuda-bundle.tar.xz
mapfile -t tests < <(tools/gpu-test-targets.sh)

pack() {
  local build=${1:-build/release} stage
  stage=$(mktemp -d)
  mkdir -p "$stage/bin" "$stage/lib" "$stage/data"
  cmake --build "$build" --target cake_cli bench_cuda "${tests[@]}"
  cp -L "$build/libcake.so.0" "$stage/lib/"
  cp "$build/bench/bench_cuda" "$build/tools/cake" "$stage/bin/"
  for t in "${tests[@]}"; do cp "$build/tests/$t" "$stage/bin/"; done
  # libcake's dependencies that are neither CUDA's nor the C/C++ runtime's (glibc's libmvec is
  # the runtime's: it must match the GPU machine's glibc, 2.35 or later there too).
  ldd "$build/libcake.so.0" | awk '$3 ~ /^\// { print $3 }' |
    grep -vE '/(libc|libm|libmvec|libstdc\+\+|libgcc_s|libdl|libpthread|librt|ld-linux[^/]*)\.so|/usr/local/cuda' |
    while read -r library; do cp -L "$library" "$stage/lib/"; done
  cp /usr/share/datasets/fashion-mnist/t10k-* "$stage/data/"
  strip "$stage"/bin/*
  tar -C "$stage" -cf - . | xz -T0 -6 > "$bundle"
  rm -rf "$stage"
  ls -l "$bundle"
}

run() {
  local root=build/cuda-bundle results status=0 cuda_libraries
  results=$root/results.txt
  rm -rf "$root" && mkdir -p "$root/unpacked" "$root/logs"
  tar -xJf "$bundle" -C "$root/unpacked"
  local bin=$root/unpacked/bin
  # CUDA's libraries: the toolkit's folders and PyTorch's pip packages, whichever hold them.
  cuda_libraries=$( { find /usr/local/cuda/ /usr/local/cuda-*/ /opt /usr/lib/x86_64-linux-gnu \
      \( -name 'libcudart.so.13*' -o -name 'libcublas.so.13*' -o -name 'libcudnn.so.9*' -o -name 'libnccl.so.2*' \
         -o -name 'libcusolver.so.12*' -o -name 'libcusparse.so.12*' -o -name 'libnvJitLink.so.13*' \) \
      2>/dev/null || true; } | xargs -r -n1 dirname | sort -u | tr '\n' ':')
  {
    echo "== cake CUDA check from a bundle, $(date -u +%FT%TZ)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not available"
    grep PRETTY_NAME /etc/os-release || true
    echo "CUDA libraries from: $cuda_libraries"
  } > "$results"
  export LD_LIBRARY_PATH=$PWD/$root/unpacked/lib:$cuda_libraries
  if ldd "$root/unpacked/lib/libcake.so.0" | grep -q "not found"; then
    ldd "$root/unpacked/lib/libcake.so.0" | grep "not found" | tee -a "$results"
    exit 1
  fi
  for t in "${tests[@]}"; do
    local start rc=0
    start=$(date +%s.%N)
    CAKE_SOURCE_DIR=$PWD timeout 120 "$bin/$t" > "$root/logs/$t.log" 2>&1 || rc=$?
    printf '%-36s exit %3d  %6.2f s  %s\n' "$t" "$rc" "$(echo "$(date +%s.%N) - $start" | awk '{print $1 - $3}')" \
      "$(grep -E 'test cases:' "$root/logs/$t.log" | tail -1)" | tee -a "$results"
    grep -E "ERROR|FATAL" -A3 "$root/logs/$t.log" | head -40 >> "$results" || true
    [[ $rc -eq 0 ]] || status=1
  done
  "$bin/bench_cuda" > "$root/bench_cake.txt" 2> "$root/bench_cake.err" || echo "== bench_cuda failed" >> "$results"
  (unset LD_LIBRARY_PATH; python3 bench/cuda/peer_cuda.py > "$root/bench_torch.txt" 2> "$root/bench_torch.err") ||
    { echo "== peer_cuda.py failed or PyTorch missing: Cake's times only" >> "$results"; : > "$root/bench_torch.txt"; }
  {
    echo "== GPU benchmarks (ms per run, mean; ratio = Cake / PyTorch, < 1 is faster than PyTorch)"
    awk 'FILENAME == ARGV[1] { torch[$1] = $2; next }
         BEGIN { printf "%-32s %12s %12s %8s\n", "case", "cake_ms", "torch_ms", "ratio" }
         { t = ($1 in torch) ? torch[$1] : "-"
           ratio = ($1 in torch && torch[$1] > 0) ? sprintf("%.2f", $2 / torch[$1]) : "-"
           printf "%-32s %12s %12s %8s\n", $1, $2, t, ratio }' "$root/bench_torch.txt" "$root/bench_cake.txt"
  } | tee -a "$results"
  # Commands end to end on the GPU, on the test split the bundle carries, with their wall times.
  export CAKE_FASHION_MNIST_DIR=$PWD/$root/unpacked/data
  local run=0
  for command in "conv-autoencoder --set epochs=3" "conv-autoencoder --set epochs=3 cuda_graph=true" \
                 "conv-autoencoder --set epochs=3 precision=bfloat16" "pca" "kmeans" \
                 "scae --set epochs=1 probe=false"; do
    local rc=0 start
    start=$(date +%s.%N)
    run=$((run + 1))
    # shellcheck disable=SC2086  # the command's words
    timeout 120 "$bin/cake" run $command --data fashion-mnist:test --device cuda \
      --out "$root/runs/$run-${command%% *}" --quiet >> "$root/logs/cli.log" 2>&1 || rc=$?
    printf 'cake run %s --device cuda: exit %d, %.1f s\n' "$command" "$rc" \
      "$(echo "$(date +%s.%N) - $start" | awk '{print $1 - $3}')" | tee -a "$results"
    [[ $rc -eq 0 ]] || status=1
  done
  echo "== exit status $status" | tee -a "$results"
  exit $status
}

case "${1:-}" in
  pack) pack "${2:-}" ;;
  run) run ;;
  *) echo "usage: $0 pack [BUILD_DIR] | run" >&2; exit 2 ;;
esac
