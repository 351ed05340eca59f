#!/usr/bin/env bash
# `mpirun -np 2 cake run ...` agrees with one process (CTest's distributed/cli_ranks_np2):
#   kmeans: the same labels.npy byte for byte, centroids.npy to 1e-5 (sums in another order);
#   gmm (diag, k-means initialisation): the same labels.npy byte for byte, means.npy to 1e-9;
#   conv-autoencoder (one epoch on 640 images: 576 training rows, 9 batches of 64): the same epoch losses to 1e-6 relative.
# Exit 77 (skipped) without MPI in the build or mpirun on the machine.
#
#   cli_ranks.sh CAKE HAVE_MPI
set -euo pipefail
cake="$1"; have_mpi="${2:-FALSE}"
if [[ "$have_mpi" != "TRUE" && "$have_mpi" != "ON" && "$have_mpi" != "1" ]]; then
  echo "cli_ranks: this Cake was built without MPI: skipped"; exit 77
fi
command -v mpirun >/dev/null || { echo "cli_ranks: mpirun not found: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpi=(mpirun --oversubscribe --allow-run-as-root -np 2 --mca btl self,tcp --mca btl_tcp_if_include lo
     --mca oob_tcp_if_include lo -x OMP_NUM_THREADS=1)
export OMP_NUM_THREADS=1

km=(run kmeans --data fashion-mnist:test:600 --set n_clusters=10 n_init=2 --seed 3 --quiet)
"$cake" "${km[@]}" --out "$work/km1"
"${mpi[@]}" "$cake" "${km[@]}" --out "$work/km2"
cmp "$work/km1/labels.npy" "$work/km2/labels.npy"
# The centroids as floats (od skips the .npy header's 128 bytes), compared to 1e-5.
floats() { od -An -v -f -j 128 "$1" | tr -s ' ' '\n' | grep -v '^$'; }
paste <(floats "$work/km1/centroids.npy") <(floats "$work/km2/centroids.npy") | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5) { print "centroid value " $1 " vs " $2; bad = 1 } }
  END { if (n != 7840) { print n " centroid values, expected 7840"; bad = 1 }; exit bad }'
grep -q '"world_size": 2' "$work/km2/metrics.json"
[[ ! -e "$work/km2.unfinished" ]]

gm=(run gmm --data fashion-mnist:test:600 --set n_components=5 covariance_type=diag n_init=2 --seed 3 --quiet)
"$cake" "${gm[@]}" --out "$work/gm1"
"${mpi[@]}" "$cake" "${gm[@]}" --out "$work/gm2"
cmp "$work/gm1/labels.npy" "$work/gm2/labels.npy"
doubles() { od -An -v -t f8 -j 128 "$1" | tr -s ' ' '\n' | grep -v '^$'; }
paste <(doubles "$work/gm1/means.npy") <(doubles "$work/gm2/means.npy") | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-9) { print "GMM mean " $1 " vs " $2; bad = 1 } }
  END { if (n != 3920) { print n " mean values, expected 3920"; bad = 1 }; exit bad }'
grep -q '"world_size": 2' "$work/gm2/metrics.json"

ae=(run conv-autoencoder --data fashion-mnist:test:640 --set epochs=1 batch_size=64 min_batches=0 tsne_samples=0
    probe=false --seed 1 --quiet)
"$cake" "${ae[@]}" --out "$work/ae1"
"${mpi[@]}" "$cake" "${ae[@]}" --out "$work/ae2"
losses() { grep -o '"\(train\|val\)_loss":[0-9.e+-]*' "$1/log.jsonl" | cut -d: -f2; }
paste <(losses "$work/ae1") <(losses "$work/ae2") | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6 * $1) { print "loss " $1 " (one process) vs " $2 " (2 ranks)"; bad = 1 } }
  END { if (n < 2) { print "no losses found in log.jsonl"; bad = 1 }; exit bad }'
echo "cli_ranks: kmeans, gmm and conv-autoencoder on 2 ranks agree with one process"
