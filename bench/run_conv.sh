#!/bin/sh
# run_conv.sh: bench_conv (Cake) and peer_conv.py (PyTorch 1.13) alternately in one session,
# ROUNDS times (default 3), then per layer the best median of each and the ratio Cake / PyTorch
# (below 1 = Cake faster). Taking the best round filters out other load on a shared machine.
#
#   bench/run_conv.sh [build-dir] [rounds]
set -eu
build=${1:-build}
rounds=${2:-3}
here=$(dirname "$0")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS=2
i=1
while [ "$i" -le "$rounds" ]; do
  "$build/bench/bench_conv" --benchmark_format=json >"$out/cake_$i.json"
  /usr/bin/python3 "$here/peer_conv.py" >"$out/torch_$i.txt"
  i=$((i + 1))
done
/usr/bin/python3 - "$out" <<'PY'
import glob, json, sys
out = sys.argv[1]
cake, torch = {}, {}
for path in glob.glob(f"{out}/cake_*.json"):
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            layer, path_name = b["run_name"].split("/")[:2]
            key = (layer, path_name)
            cake[key] = min(cake.get(key, 1e9), b["real_time"])
for path in glob.glob(f"{out}/torch_*.txt"):
    for line in open(path):
        if line.startswith("#"):
            continue
        name, ms = line.split()[:2]
        torch[name] = min(torch.get(name, 1e9), float(ms))
paths = sorted({p for _, p in cake}, reverse=True)
print(f"{'layer':12s} {'torch ms':>9s}" + "".join(f" {p + ' ms':>12s} {'ratio':>6s}" for p in paths))
totals = {p: 0.0 for p in paths}
for name, t in torch.items():
    row = f"{name:12s} {t:9.3f}"
    for p in paths:
        c = cake[(name, p)]
        totals[p] += c
        row += f" {c:12.3f} {c / t:6.2f}"
    print(row)
t = sum(torch.values())
print(f"{'total':12s} {t:9.3f}" + "".join(f" {totals[p]:12.3f} {totals[p] / t:6.2f}" for p in paths))
PY
