#!/usr/bin/env bash
# Installs what Cake needs on Debian 12 (bookworm), non-interactively and idempotently.
#
#   tools/install-deps.sh            # build, test and demo dependencies
#   tools/install-deps.sh --bench    # plus the peers for benchmarks (PyTorch 1.13, scikit-learn 1.2)
#
# Runs apt-get as root, or through sudo when not root. Packages already installed are skipped.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git ccache pkg-config
  libopenblas-dev        # GEMM (cblas) and LAPACK
  libopenblas0-openmp    # OpenBLAS's OpenMP build: shares Cake's thread pool (tensor/blas.h)
  libdnnl-dev            # oneDNN 2.6: convolution, pooling, batch norm (optional at build time)
  doctest-dev            # the test framework
  nlohmann-json3-dev     # safetensors headers, config.json, metrics.json
  libcli11-dev           # the `cake` command line
  libstb-dev             # PNG figures (stb_image_write)
  libbenchmark-dev       # bench/
  zlib1g-dev             # gzip'd IDX files (MNIST format)
  libopenmpi-dev openmpi-bin  # cake::distributed's mpi backend and mpirun (optional at build time)
  clang libclang-rt-14-dev  # tools/fuzz.sh: libFuzzer and clang's sanitizer runtimes
  dataset-fashion-mnist  # the demo data set, in /usr/share/datasets/fashion-mnist
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(python3-torch python3-sklearn python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
