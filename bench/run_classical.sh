#!/usr/bin/env bash
# run_classical.sh: the classical suite (bench_classical) and scikit-learn 1.2
# (peer_classical.py) on the same Fashion-MNIST tasks in the same session, 2 threads each,
# then a table of time ratios (Cake / scikit-learn) and objectives.
#
#   bench/run_classical.sh [build-dir] [task ...]      # build-dir defaults to build
#
# Each task runs once per side (they take seconds to minutes), the two sides back to back task
# by task, so that both see the same load on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift || true
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2
log=$(mktemp -d)
tasks=("$@")
if [[ ${#tasks[@]} -eq 0 ]]; then
  tasks=(kmeans_pixels kmeans_pixels_elkan kmeans_pca gmm_diag gmm_full pca pca_full tsne logreg)
fi
echo "scikit-learn $(/usr/bin/python3 -c 'import sklearn; print(sklearn.__version__)'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for task in "${tasks[@]}"; do
  /usr/bin/python3 bench/peer_classical.py "$task" | tee -a "$log/peer.txt" | sed 's/^/scikit-learn /' >&2
  "$build/bench/bench_classical" "$task" | tee -a "$log/cake.txt" | sed 's/^/cake         /' >&2
done
/usr/bin/python3 - "$log/cake.txt" "$log/peer.txt" <<'PY'
import re
import sys

def parse(path):
    rows = {}
    for line in open(path):  # "name wall=... cpu=... objective=... key=value ..."
        name, *fields = re.sub(r"=\s+", "=", line).split()  # "wall=   2.1" -> "wall=2.1"
        if not fields or not fields[0].startswith("wall="):
            continue
        rows[name] = dict(f.split("=", 1) for f in fields if "=" in f)
    return rows

cake, peer = parse(sys.argv[1]), parse(sys.argv[2])
print("| task | Cake s | scikit-learn s | ratio | Cake objective | scikit-learn objective | Cake extra | scikit-learn extra |")
print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
for name, c in cake.items():
    p = peer.get(name)
    if p is None:
        continue
    extra = lambda r: " ".join(f"{k}={v}" for k, v in r.items() if k not in ("wall", "cpu", "objective"))
    ratio = float(c["wall"]) / float(p["wall"])
    print(f"| {name} | {float(c['wall']):.2f} | {float(p['wall']):.2f} | {ratio:.2f} | {c['objective']} | "
          f"{p['objective']} | {extra(c)} | {extra(p)} |")
PY
