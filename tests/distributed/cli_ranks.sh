#!/usr/bin/env bash
# `mpirun -np 2 cake run ...` agrees with one process (CTest's distributed/cli_ranks_np2):
#   kmeans: the same labels.npy byte for byte, centroids.npy to 1e-5 (sums in another order);
#   gmm (diag, k-means initialisation): the same labels.npy byte for byte, means.npy to 1e-9;
#   pca: the same components up to sign, the same explained variances;
#   kmeans and gmm on a .npy file that each rank reads its own rows of: the same labels and scores
#   as one process; a NaN in rank 1's rows stops both ranks with a message;
#   a single-process command (dbscan) is refused with a clear message;
#   conv-autoencoder (one epoch on 640 images: 576 training rows, 9 batches of 64): the same epoch losses to 1e-6 relative;
#   vade and vae-ensemble: their autoencoder phases give the same losses (the VAE phases draw noise per rank);
#   scae, moco and moco-ablation train data-parallel to the end; deepcluster, dac, infogan and jule
#   give one process's losses with sync_bn, no augmentation and no dropout.
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

# --data FILE.npy under mpirun: each rank reads only its own rows (the start event of log.jsonl
# records rank 0's 300 of the 600), and the results equal one process reading the whole file:
# kmeans' labels byte for byte, gmm's labels byte for byte and its log-likelihood, BIC and AIC
# (summed over the ranks) to 1e-9 relative. The PCA projection above is the data file; kmeans'
# labels serve as the truth, so the scores are computed too.
rows="$work/pc1/embedding.npy"; truth="$work/km1/labels.npy"
for cmd in "kmeans --set n_clusters=4 n_init=3" "gmm --set n_components=4 covariance_type=full n_init=2"; do
  name=${cmd%% *}
  read -r -a args <<< "run $cmd --data $rows --labels $truth --seed 5 --quiet"
  "$cake" "${args[@]}" --out "$work/f1_$name"
  "${mpi[@]}" "$cake" "${args[@]}" --out "$work/f2_$name"
  cmp "$work/f1_$name/labels.npy" "$work/f2_$name/labels.npy"
  grep -q '"n_samples":600' "$work/f2_$name/log.jsonl" || { echo "$name: n_samples 600 missing from log.jsonl"; exit 1; }
  grep -q '"rows_read":300' "$work/f2_$name/log.jsonl" || { echo "$name: rank 0 did not read 300 rows"; exit 1; }
  grep -q '"n_samples": 600' "$work/f2_$name/metrics.json"
done
score() { tr -d ' \n' < "$1/metrics.json" | grep -o "\"$2\":[-0-9.e+]*" | cut -d: -f2; }
for key in log_likelihood bic aic nmi; do
  a=$(score "$work/f1_gmm" $key); b=$(score "$work/f2_gmm" $key)
  awk -v a="$a" -v b="$b" -v k="$key" 'BEGIN { d = a - b; if (d < 0) d = -d; m = a < 0 ? -a : a
    if (a == "" || d > 1e-9 * (m > 1 ? m : 1)) { print "gmm " k ": " a " (one process) vs " b " (2 ranks)"; exit 1 } }'
done
pf=(run pca --data "$rows" --set n_components=3 svd_solver=covariance_eigh --seed 5 --quiet)
"$cake" "${pf[@]}" --out "$work/f1_pca"
"${mpi[@]}" "$cake" "${pf[@]}" --out "$work/f2_pca"
grep -q '"rows_read":300' "$work/f2_pca/log.jsonl" || { echo "pca: rank 0 did not read 300 rows"; exit 1; }
paste <(variances "$work/f1_pca") <(variances "$work/f2_pca") | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6 * $1) { print "explained variance " $1 " vs " $2; bad = 1 } }
  END { if (n != 3) { print n " explained variances, expected 3"; bad = 1 }; exit bad }'
[[ $(od -An -j 128 -v -f "$work/f2_pca/embedding.npy" | wc -w) == 1800 ]] || { echo "pca: the projection lacks rows"; exit 1; }
# A rank whose rows cannot be read stops the job with a message naming its rows, not a wait
# until the collective timeout: a NaN in the last row is in rank 1's shard only. (Rank 0 stops
# too, saying another rank failed, unless mpirun ends it first.)
cp "$rows" "$work/nan.npy"
printf '\x00\x00\xc0\x7f' | dd of="$work/nan.npy" bs=1 seek=$(( $(stat -c %s "$rows") - 4 )) conv=notrunc status=none
if timeout 120 "${mpi[@]}" "$cake" run kmeans --data "$work/nan.npy" --set n_clusters=4 --quiet --out "$work/nan2" 2> "$work/nan2.err"; then
  echo "mpirun -np 2 cake run kmeans on a file with a NaN should have failed"; exit 1
fi
grep -q "rows 300-599 of .*nan.npy: the data hold NaN" "$work/nan2.err" || { cat "$work/nan2.err"; exit 1; }

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

# vade: the autoencoder pretraining (no random draws) gives the same losses as one process; the
# VaDE phase draws its noise from each rank's generator, so there only completion is compared.
vd=(run vade --data fashion-mnist:test:400 --set hidden=64,64 pretrain_epochs=2 epochs=2 batch_size=50
    pretrain_batch_size=50 use_test=false component_samples=2 monitor_every=0 tsne_samples=0 probe=false --seed 1 --quiet)
"$cake" "${vd[@]}" --out "$work/vd1"
"${mpi[@]}" "$cake" "${vd[@]}" --out "$work/vd2"
pretrain_losses() { grep '"phase":"pretrain"' "$1/log.jsonl" | grep -o '"train_loss":[0-9.e+-]*' | cut -d: -f2; }
paste <(pretrain_losses "$work/vd1") <(pretrain_losses "$work/vd2") | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6 * $1) { print "vade pretraining loss " $1 " vs " $2; bad = 1 } }
  END { if (n != 2) { print n " vade pretraining losses, expected 2"; bad = 1 }; exit bad }'
grep -q '"world_size": 2' "$work/vd2/metrics.json"
grep -q '"nmi"' "$work/vd2/metrics.json"

# vae-ensemble: its first phase (the conv member's autoencoder) agrees with one process.
en=(run vae-ensemble --data fashion-mnist:train:400 --set members=conv,mlp member_epochs=1 epochs=1 batch_size=50
    --seed 1 --quiet)
"$cake" "${en[@]}" --out "$work/en1"
"${mpi[@]}" "$cake" "${en[@]}" --out "$work/en2"
first_loss() { head -n 5 "$1/log.jsonl" | grep -m1 -o '"train_loss":[0-9.e+-]*' | cut -d: -f2; }
paste <(first_loss "$work/en1") <(first_loss "$work/en2") | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-6 * $1) { print "vae-ensemble loss " $1 " vs " $2; bad = 1 } }
  END { if (n != 1) { print "no vae-ensemble loss found"; bad = 1 }; exit bad }'
grep -q '"world_size": 2' "$work/en2/metrics.json"

# scae trains data-parallel (its between-image sparsity terms are per-rank batch statistics, so
# it is not the one-process run); rank 0 alone writes the checkpoint and the files.
sc=(run scae --data fashion-mnist:test:256 --set epochs=1 encoder_width=16 n_part_caps=8 n_obj_caps=4 batch_size=32
    --seed 1 --quiet)
"${mpi[@]}" "$cake" "${sc[@]}" --out "$work/sc2"
grep -q '"world_size": 2' "$work/sc2/metrics.json"
[[ -s "$work/sc2/model.safetensors" && -s "$work/sc2/checkpoint.safetensors" ]]
# moco trains data-parallel, every rank enqueueing all ranks' keys (the library test
# distributed/test_ranks proves the step equals one process's); here the command runs to the end.
mo=(run moco --data fashion-mnist:test:256 --set epochs=1 queue=128 batch_size=64 tsne_samples=0 probe=false
    --seed 1 --quiet)
"${mpi[@]}" "$cake" "${mo[@]}" --out "$work/mo2"
grep -q '"world_size": 2' "$work/mo2/metrics.json"
grep -q '"knn_accuracy"' "$work/mo2/metrics.json"
# moco-ablation trains each cell of its grid as moco does.
ma=(run moco-ablation --data fashion-mnist:test:256 --set epochs=1 queues=2 momenta=0.9,0.99 batch_size=64 probe=false
    --seed 1 --quiet)
"${mpi[@]}" "$cake" "${ma[@]}" --out "$work/ma2"
grep -q '"world_size": 2' "$work/ma2/metrics.json"
[[ $(grep -o '"momentum":' "$work/ma2/metrics.json" | wc -l) -ge 2 ]]
# deepcluster and dac train data-parallel; without augmentation or dropout and with synchronised
# batch norm a step on 2 ranks is one process's (distributed/test_ranks), so the losses agree.
dc=(run deepcluster --data fashion-mnist:test:256 --set epochs=2 n_clusters=8 pca_dim=16 batch_size=64 hidden=64
    dropout=0 crop_scale=1 hflip=false sync_bn=true probe=false --seed 1 --quiet)
"$cake" "${dc[@]}" --out "$work/dc1"
"${mpi[@]}" "$cake" "${dc[@]}" --out "$work/dc2"
epoch_losses() { grep -o '"loss":[0-9.e+-]*' "$1/log.jsonl" | cut -d: -f2 | head -n "$2"; }
paste <(epoch_losses "$work/dc1" 2) <(epoch_losses "$work/dc2" 2) | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-4 * $1) { print "deepcluster loss " $1 " vs " $2; bad = 1 } }
  END { if (n != 2) { print n " deepcluster losses, expected 2"; bad = 1 }; exit bad }'
grep -q '"world_size": 2' "$work/dc2/metrics.json"
# dac: one batch of 256 per epoch. Epoch 1's loss is that of the untrained network on the
# batch, pairs across the ranks included: one process's to 1e-6. Epoch 2's follows one RMSprop
# step, which divides each gradient by its own size, so gradients of rounding size take full
# steps of random sign: one process with 1 and 2 threads differs as much (2e-3 here).
da=(run dac --data fashion-mnist:test:256 --set epochs=2 batch_size=256 hidden=64 jitter=false hflip=false sync_bn=true
    probe=false --seed 1 --quiet)
"$cake" "${da[@]}" --out "$work/da1"
"${mpi[@]}" "$cake" "${da[@]}" --out "$work/da2"
paste <(epoch_losses "$work/da1" 2) <(epoch_losses "$work/da2" 2) | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; tol = (n == 1 ? 1e-6 : 1e-2); if (d > tol * $1) { print "dac loss " $1 " vs " $2; bad = 1 } }
  END { if (n != 2) { print n " dac losses, expected 2"; bad = 1 }; exit bad }'
grep -q '"world_size": 2' "$work/da2/metrics.json"
# infogan: D and G data-parallel, each rank generating its rows of the batch's latents. One
# epoch of one batch with synchronised batch norm: D's loss (before any update) is one
# process's, G's (after D's Adam step) too, to rounding.
ig=(run infogan --data fashion-mnist:test:128 --set epochs=1 batch_size=128 width=8 hidden=32 sync_bn=true
    --seed 1 --quiet)
"$cake" "${ig[@]}" --out "$work/ig1"
"${mpi[@]}" "$cake" "${ig[@]}" --out "$work/ig2"
gan_losses() { grep -o '"[dg]_loss":[0-9.e+-]*' "$1/log.jsonl" | cut -d: -f2; }
paste <(gan_losses "$work/ig1") <(gan_losses "$work/ig2") | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-4 * $1) { print "infogan loss " $1 " vs " $2; bad = 1 } }
  END { if (n != 2) { print n " infogan losses, expected 2"; bad = 1 }; exit bad }'
grep -q '"world_size": 2' "$work/ig2/metrics.json"
# jule: the CNN data-parallel, the forward pass's features gathered (the same merges on every
# rank), each batch's triplets over the whole batch: with sync_bn the same clusters and losses.
ju=(run jule --data fashion-mnist:test:200 --set epochs_per_period=1 batch_size=50 channels=8 sync_bn=true
    --seed 1 --quiet)
"$cake" "${ju[@]}" --out "$work/ju1"
"${mpi[@]}" "$cake" "${ju[@]}" --out "$work/ju2"
cmp "$work/ju1/labels.npy" "$work/ju2/labels.npy"
paste <(epoch_losses "$work/ju1" 9) <(epoch_losses "$work/ju2" 9) | awk '
  { n++; d = $1 - $2; if (d < 0) d = -d; if (d > 1e-4 * $1) { print "jule loss " $1 " vs " $2; bad = 1 } }
  END { if (n < 1) { print "no jule losses found"; bad = 1 }; exit bad }'
grep -q '"world_size": 2' "$work/ju2/metrics.json"
echo "cli_ranks: kmeans, gmm (also from per-rank reads of one file), pca, conv-autoencoder and the pretraining of vade and vae-ensemble on 2 ranks agree with one process; vade, vae-ensemble, scae, moco, moco-ablation, deepcluster, dac, infogan and jule train data-parallel (deepcluster's, jule's, dac's first and infogan's first losses equal one process's, jule's clusters too); dbscan is refused"
