#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (address + undefined-behaviour sanitizers)
# and runs each for a bounded time; exits non-zero when any target finds a crash, a sanitizer
# report, an escaped non-cake::Error exception, a timeout or an out-of-memory.
#
#   tools/fuzz.sh          # 20 s per target (CI)
#   tools/fuzz.sh 300      # 5 minutes per target
#   tools/fuzz.sh 60 csv   # one target
#
# The tensor core is linked from build/release/libcake.so (built first if missing); only the
# code under test is compiled by clang, instrumented (see fuzz/CMakeLists.txt). Each target
# starts from its seed corpus, fuzz/corpus/NAME (kept in the repository), and grows a working
# corpus in build/fuzz/corpus/NAME; a crashing input is saved in build/fuzz/artifacts/ and
# printed as a hex dump. docs/reliability.md lists what each target covers.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(npy csv idx safetensors json_config cli_params)

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (tools/install-deps.sh installs it)"; exit 1; }
if [[ ! -e build/release/libcake.so ]]; then
  cmake --preset release >/dev/null && cmake --build --preset release --target cake
fi
started=$(date +%s)
cmake -S fuzz -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCAKE_LIBRARY="$PWD/build/release/libcake.so" >/dev/null
cmake --build build/fuzz -- -j"$(nproc)"
echo "fuzz.sh: built in $(( $(date +%s) - started )) s"

mkdir -p build/fuzz/artifacts
# Each input is written to a scratch file (the readers take paths): in memory when possible.
if [[ -z "${TMPDIR:-}" && -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for name in "${targets[@]}"; do
  work=build/fuzz/corpus/$name
  mkdir -p "$work"
  echo "== fuzz_$name for ${seconds} s"
  if ! build/fuzz/fuzz_"$name" "$work" "fuzz/corpus/$name" -max_total_time="$seconds" -timeout=10 \
         -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
         -artifact_prefix=build/fuzz/artifacts/"$name"- 2>build/fuzz/"$name".log; then
    tail -40 build/fuzz/"$name".log
    for crash in build/fuzz/artifacts/"$name"-*; do
      [[ -e "$crash" ]] && { echo "-- $crash:"; od -A d -c "$crash" | head -20; }
    done
    failed+=("$name")
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" build/fuzz/"$name".log | tr '\n' ' '
    echo
  fi
done
echo "fuzz.sh: done in $(( $(date +%s) - started )) s"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz.sh: no crash in ${targets[*]}"
