#!/usr/bin/python3
"""scikit-learn 1.2 peer of `cake run rbm`: BernoulliRBM on Fashion-MNIST's 60,000 training
images (pixels / 255, float32), with the same settings and the same scores as the command.

    OMP_NUM_THREADS=2 /usr/bin/python3 bench/peer_rbm.py [--n-iter 10] [--seed 0] [--json out.json]
    cake run rbm --data fashion-mnist:train --threads 2 --seed 0 --out runs/rbm   # fit_time_s in metrics.json

Printed (and written with --json): the fit's wall time, and, as the command computes them, the
mean log pseudo-likelihood of the first 1,000 training and test rows (every feature flipped in
turn through scikit-learn's own `_free_energy`, the sum that `score_samples` estimates from one
random feature) and a linear probe on the hidden probabilities (multinomial logistic regression,
C = 1 / (1e-4 N) as Cake's l2 1e-4, fitted on the first 10,000 training rows, scored on the test
split).
"""
import argparse
import json
import time

import numpy as np

from peer_data import fashion_mnist

def pseudo_log_likelihood(rbm, v):
    v = v.astype(np.float64)
    f = rbm._free_energy(v)
    total = np.zeros(len(v))
    for i in range(v.shape[1]):
        flipped = v.copy()
        flipped[:, i] = 1 - flipped[:, i]
        total += -np.logaddexp(0, -(rbm._free_energy(flipped) - f))
    return total.mean()


def main():
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM

    parser = argparse.ArgumentParser()
    parser.add_argument("--n-iter", type=int, default=10)
    parser.add_argument("--n-components", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json")
    args = parser.parse_args()
    x, y = fashion_mnist("train")
    x_test, y_test = fashion_mnist("test")
    rbm = BernoulliRBM(n_components=args.n_components, learning_rate=0.1, batch_size=10, n_iter=args.n_iter,
                       random_state=args.seed)
    start = time.perf_counter()
    rbm.fit(x)
    fit_s = time.perf_counter() - start
    result = {"fit_time_s": fit_s,
              "pseudo_log_likelihood": pseudo_log_likelihood(rbm, x[:1000]),
              "test_pseudo_log_likelihood": pseudo_log_likelihood(rbm, x_test[:1000])}
    n = 10000
    probe = LogisticRegression(C=1.0 / (1e-4 * n), max_iter=500)
    probe.fit(rbm.transform(x[:n]).astype(np.float64), y[:n])
    result["probe_accuracy"] = probe.score(rbm.transform(x_test).astype(np.float64), y_test)
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
