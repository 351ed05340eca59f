#!/usr/bin/env bash
# Runs a test program under mpirun with NP ranks on this machine (CTest's
# distributed/test_ranks_np2 and _np3). Exit 77 (CTest: skipped) when this Cake was built
# without MPI or mpirun is not installed.
#
#   run_ranks.sh NP PROGRAM HAVE_MPI
#
# --oversubscribe: more ranks than cores is fine for tests; --allow-run-as-root: CI runs as
# root; TCP over the loopback interface only (no other network is touched), shared memory off
# so that the path tested is the one several machines use. One OpenMP thread per rank.
set -euo pipefail
np="$1"; program="$2"; have_mpi="${3:-FALSE}"
if [[ "$have_mpi" != "TRUE" && "$have_mpi" != "ON" && "$have_mpi" != "1" ]]; then
  echo "run_ranks: this Cake was built without MPI (CAKE_WITH_MPI): skipped"; exit 77
fi
if ! command -v mpirun >/dev/null; then
  echo "run_ranks: mpirun not found (apt-get install openmpi-bin): skipped"; exit 77
fi
exec mpirun --oversubscribe --allow-run-as-root -np "$np" \
  --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo \
  -x OMP_NUM_THREADS=1 -x CAKE_SOURCE_DIR -x CAKE_DIST_TIMEOUT_S=60 "$program"
