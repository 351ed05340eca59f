#!/bin/sh
# run_train_step.sh: bench_train_step (Cake) and peer_train_step.py (PyTorch 1.13) alternately in
# one session, ROUNDS times (default 3), then per net the best repetition of each side and the
# ratio Cake / PyTorch (below 1 = Cake faster): run_pair.sh with STAT=best.
#
#   nice -n 5 bench/run_train_step.sh [build-dir] [rounds]
STAT=best exec "$(dirname "$0")/run_pair.sh" train_step "$@"
