#!/bin/sh
# run_pair.sh: one of Cake's Google Benchmark programs (build/bench/bench_NAME) and its PyTorch
# peer (bench/peer_NAME.py, which prints "case median_ms best_ms cpu_ms" lines) alternately in
# one session, ROUNDS times (default 3); then per case the best over the rounds of each side's
# statistic and the ratio Cake / PyTorch (below 1 = Cake faster). The best round filters out
# other load on a shared machine. STAT=median (default): the median of the repetitions (Cake's
# "median" aggregate); STAT=best: the least repetition (Cake's repetition rows, for programs that
# report them: bench_train_step). A case Cake times in several ways ("enc_conv1/onednn" and
# "enc_conv1/fallback" in bench_conv) gets a column per way. Threads: CAKE_BENCH_THREADS
# (default 2) on both sides.
#
#   bench/run_pair.sh conv [build-dir] [rounds]      # the conv autoencoder's layers (peer_conv.py)
#   bench/run_pair.sh spatial build/release 3        # SCAE's affine_grid + grid_sample
#   STAT=best bench/run_pair.sh train_step build/release 3   # what run_train_step.sh runs
set -eu
name=${1:?usage: bench/run_pair.sh NAME [build-dir] [rounds], NAME as in build/bench/bench_NAME and bench/peer_NAME.py}
build=${2:-build}
rounds=${3:-3}
here=$(dirname "$0")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -x "$build/bench/bench_$name" ] || {
  echo "run_pair.sh: $build/bench/bench_$name is not built (cmake --build $build --target bench_$name; it needs libbenchmark-dev)" >&2
  exit 2
}
[ -f "$here/peer_$name.py" ] || { echo "run_pair.sh: no peer script $here/peer_$name.py" >&2; exit 2; }
stat=${STAT:-median}
case $stat in median | best) ;; *) echo "run_pair.sh: STAT must be median or best, got $stat" >&2; exit 2 ;; esac
export CAKE_BENCH_THREADS=${CAKE_BENCH_THREADS:-2}
export OMP_NUM_THREADS=$CAKE_BENCH_THREADS OPENBLAS_NUM_THREADS=$CAKE_BENCH_THREADS
i=1
while [ "$i" -le "$rounds" ]; do
  "$build/bench/bench_$name" --benchmark_format=json >"$out/cake_$i.json"
  /usr/bin/python3 "$here/peer_$name.py" >"$out/torch_$i.txt"
  i=$((i + 1))
done
/usr/bin/python3 - "$out" "$stat" <<'PY'
import glob, json, sys
out, stat = sys.argv[1], sys.argv[2]
cake, torch = {}, {}
for path in glob.glob(f"{out}/cake_*.json"):
    for b in json.load(open(path))["benchmarks"]:
        wanted = b.get("aggregate_name") == "median" if stat == "median" else b.get("run_type") == "iteration"
        if wanted:
            # "enc_conv1/onednn/min_time:0.500/repeats:5/real_time" -> case "enc_conv1", way "onednn"
            parts = [p for p in b["run_name"].split("/")
                     if ":" not in p and p not in ("real_time", "process_time")]
            key = (parts[0], "/".join(parts[1:]) or "cake")
            cake[key] = min(cake.get(key, 1e9), b["real_time"])
for path in glob.glob(f"{out}/torch_*.txt"):
    for line in open(path):
        if not line.startswith("#"):
            case, median, best = line.split()[:3]
            ms = float(median if stat == "median" else best)
            torch[case] = min(torch.get(case, 1e9), ms)
# Columns: the ways Cake times the peer's cases (a case only Cake times has no ratio to print).
ways = sorted({way for case, way in cake if case in torch}, reverse=True)
if not ways:
    sys.exit(f"run_pair.sh: no {stat} times from the Cake program for the peer's cases")
width = max(len(case) for case in torch) + 1
print(f"{'case':{width}s} {'torch ms':>9s}" + "".join(f" {way + ' ms':>12s} {'ratio':>6s}" for way in ways))
for case, t in torch.items():
    cells = [cake.get((case, way)) for way in ways]
    print(f"{case:{width}s} {t:9.3f}" + "".join(f" {c:12.3f} {c / t:6.2f}" if c else f" {'-':>12s} {'-':>6s}"
                                                for c in cells))
totals = [sum(cake[(case, way)] for case in torch) if all((case, way) in cake for case in torch) else None
          for way in ways]
t = sum(torch.values())
print(f"{'total':{width}s} {t:9.3f}" + "".join(f" {c:12.3f} {c / t:6.2f}" if c else f" {'-':>12s} {'-':>6s}"
                                               for c in totals))
PY
