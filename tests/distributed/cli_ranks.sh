#!/usr/bin/env bash
# `mpirun -np 2 cake run ...` agrees with one process (CTest's distributed/cli_ranks_np2):
#   kmeans: the same labels.npy byte for byte, centroids.npy to 1e-5 (sums in another order);
#   gmm (diag, k-means initialisation): the same labels.npy byte for byte, means.npy to 1e-9;
#   pca: the same components up to sign, the same explained variances;
#   a single-process command (dbscan) is refused with a clear message;
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

# pca (5 components, the covariance solver in both): the same components (float32) to 1e-4 up
# to each row's sign, the same explained variances to 1e-6 relative.
pc=(run pca --data fashion-mnist:test:600 --set n_components=5 svd_solver=covariance_eigh --seed 3 --quiet)
"$cake" "${pc[@]}" --out "$work/pc1"
"${mpi[@]}" "$cake" "${pc[@]}" --out "$work/pc2"
paste <(floats "$work/pc1/components.npy") <(floats "$work/pc2/components.npy") | awk '
  function abs(v) { return v < 0 ? -v : v }
  { n++; row = int((n - 1) / 784); if (n % 784 == 1) sign[row] = ($1 * $2 < 0) ? -1 : 1
    if (abs($1 - sign[row] * $2) > 1e-4) { print "PCA component value " $1 " vs " $2; bad = 1 } }
  END { if (n != 3920) { print n " component values, expected 3920"; bad = 1 }; exit bad }'
variances() { tr -d ' \n' < "$1/metrics.json" | grep -o '"explained_variance":\[[^]]*' | cut -d[ -f2 | tr ',' '\n'; }
paste <(variances "$work/pc1") <(variances "$work/pc2") | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6 * $1) { print "explained variance " $1 " vs " $2; bad = 1 } }
  END { if (n != 5) { print n " explained variances, expected 5"; bad = 1 }; exit bad }'
grep -q '"world_size": 2' "$work/pc2/metrics.json"

# A single-process command is refused on several ranks, with a message naming it.
if "${mpi[@]}" "$cake" run dbscan --data fashion-mnist:test:50 --quiet --out "$work/db2" 2> "$work/db2.err"; then
  echo "mpirun -np 2 cake run dbscan should have been refused"; exit 1
fi
grep -q "dbscan runs in one process only.*Run it without mpirun" "$work/db2.err" || { cat "$work/db2.err"; exit 1; }
[[ ! -e "$work/db2" ]]

ae=(run conv-autoencoder --data fashion-mnist:test:640 --set epochs=1 batch_size=64 min_batches=0 tsne_samples=0
    probe=false --seed 1 --quiet)
"$cake" "${ae[@]}" --out "$work/ae1"
"${mpi[@]}" "$cake" "${ae[@]}" --out "$work/ae2"
losses() { grep -o '"\(train\|val\)_loss":[0-9.e+-]*' "$1/log.jsonl" | cut -d: -f2; }
paste <(losses "$work/ae1") <(losses "$work/ae2") | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6 * $1) { print "loss " $1 " (one process) vs " $2 " (2 ranks)"; bad = 1 } }
  END { if (n < 2) { print "no losses found in log.jsonl"; bad = 1 }; exit bad }'
echo "cli_ranks: kmeans, gmm, pca and conv-autoencoder on 2 ranks agree with one process; dbscan is refused"
