#!/bin/sh
# run_autoencoders.sh: one training epoch of Bortoletto's (2021) convolutional autoencoder and of its
# convolutional VAE on Fashion-MNIST train (60000 images), in Cake (`cake run ... epochs=1`,
# metrics.json's epoch_time_s) and in PyTorch 1.13 (bench/peer_autoencoders.py), alternately
# in one session, ROUNDS times (default 3), both on THREADS threads (default 2). Prints per model the best epoch
# time of each and the ratio Cake / PyTorch (below 1 = Cake faster; the target is <= 0.8).
# Taking the best round filters out other load on a shared machine.
#
#   bench/run_autoencoders.sh [build-dir] [rounds]
#   THREADS=1 bench/run_autoencoders.sh build 1     # one thread each
#
# Cake trains on all 60000 rows (val_fraction=0), as the peer does; the t-SNE figure and the
# linear probe that follow training are switched off (they are not part of the epoch anyway).
# Both batch sizes are the cake commands' defaults: 256 (AE) and 128 (VAE).
set -eu
build=${1:-build}
rounds=${2:-3}
here=$(dirname "$0")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
threads=${THREADS:-2}
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
# The machine's load matters (other processes preempt OpenMP threads at their barriers): say it.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for model in conv-autoencoder conv-vae; do
  i=1
  while [ "$i" -le "$rounds" ]; do
    "$build/tools/cake" run "$model" --data fashion-mnist:train --out "$out/$model-$i" --threads "$threads" --quiet \
      --set epochs=1 val_fraction=0 tsne_samples=0 probe=false
    /usr/bin/python3 -c "import json; print('$model', json.load(open('$out/$model-$i/metrics.json'))['epoch_time_s'])" \
      >>"$out/cake.txt"
    /usr/bin/python3 "$here/peer_autoencoders.py" "$model" 1 >>"$out/torch.txt"
    i=$((i + 1))
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$out" "$threads" <<'PY'
import sys
out = sys.argv[1]
def best(path, column):
    times = {}
    for line in open(path):
        fields = line.split()
        times.setdefault(fields[0], []).append(float(fields[column]))
    return times
cake, torch = best(f"{out}/cake.txt", 1), best(f"{out}/torch.txt", 2)
print(f"{'model':18s} {'cake s':>8s} {'torch s':>8s} {'ratio':>6s}   (best of {len(cake['conv-autoencoder'])} rounds, {sys.argv[2]} threads)")
for model in cake:
    c, t = min(cake[model]), min(torch[model])
    print(f"{model:18s} {c:8.2f} {t:8.2f} {c / t:6.2f}   all cake: {cake[model]} torch: {torch[model]}")
PY
