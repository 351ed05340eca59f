#!/bin/sh
# run_spatial.sh: bench_spatial (Cake) and peer_spatial.py (PyTorch 1.13) alternately in one
# session, ROUNDS times (default 3), then per case the best median of each side and the ratio
# Cake / PyTorch (below 1 = Cake faster). The best round filters out other load on a shared
# machine. Threads: CAKE_BENCH_THREADS (default 2) on both sides.
#
#   bench/run_spatial.sh [build-dir] [rounds]
set -eu
build=${1:-build}
rounds=${2:-3}
here=$(dirname "$0")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export CAKE_BENCH_THREADS=${CAKE_BENCH_THREADS:-2}
export OMP_NUM_THREADS=$CAKE_BENCH_THREADS OPENBLAS_NUM_THREADS=$CAKE_BENCH_THREADS
i=1
while [ "$i" -le "$rounds" ]; do
  "$build/bench/bench_spatial" --benchmark_format=json >"$out/cake_$i.json"
  /usr/bin/python3 "$here/peer_spatial.py" >"$out/torch_$i.txt"
  i=$((i + 1))
done
/usr/bin/python3 - "$out" <<'PY'
import glob, json, sys
out = sys.argv[1]
cake, torch = {}, {}
for path in glob.glob(f"{out}/cake_*.json"):
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            name = b["run_name"].split("/")[0]
            cake[name] = min(cake.get(name, 1e9), b["real_time"])
for path in glob.glob(f"{out}/torch_*.txt"):
    for line in open(path):
        if not line.startswith("#"):
            name, ms = line.split()[:2]
            torch[name] = min(torch.get(name, 1e9), float(ms))
print(f"{'case':22s} {'torch ms':>9s} {'cake ms':>9s} {'ratio':>6s}")
for name, t in torch.items():
    print(f"{name:22s} {t:9.3f} {cake[name]:9.3f} {cake[name] / t:6.2f}")
PY
