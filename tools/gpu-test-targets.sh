#!/usr/bin/env bash
# tools/gpu-test-targets.sh: prints the CMake targets of the GPU checks, one a line: every program
# of tests/cuda/ and every *_gpu test elsewhere, by the test targets' naming rule
# (<folder>_<file stem>, tests/CMakeLists.txt), so that tools/cuda-bundle.sh and
# tools/cuda-check.sh carry a new GPU test without an edit.
set -euo pipefail
cd "$(dirname "$0")/.."
for file in tests/cuda/test_*.cpp tests/*/test_*_gpu.cpp tests/*/*/test_*_gpu.cpp; do
  [[ -e $file ]] || continue
  stem=$(basename "$file" .cpp)
  folder=$(dirname "${file#tests/}")
  echo "${folder//\//_}_$stem"
done | sort -u
