#!/usr/bin/env python3
"""GMM objective over several seeds, scikit-learn 1.2 side (bench/bench_classical gmm_seeds is Cake's).

One EM run from one k-means start ends in one local optimum, and the two libraries draw
different random numbers from the same seed, so a single seed per side compares two draws, not
two implementations. This fits GaussianMixture(10, covariance_type, n_init=1, random_state=s)
for s = 0 .. SEEDS-1 on one shared PCA-50 of the Fashion-MNIST train set and prints each mean
log-likelihood per sample (score) and iteration count; compare the mean and the best.

    /usr/bin/python3 bench/peer_gmm_seeds.py --prepare        # writes $CAKE_BENCH_DATA/fmnist_train_pca50.npy
    /usr/bin/python3 bench/peer_gmm_seeds.py diag 10          # covariance type, number of seeds
The shared data: scikit-learn's randomized PCA (random_state 0) to 50 dimensions of the 60000
training images (pixels / 255, float32), saved as float32 so that Cake reads the same numbers.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from peer_classical import load_images  # noqa: E402

DATA = os.environ.get("CAKE_BENCH_DATA", "/tmp/cake_classical2")
PATH = os.path.join(DATA, "fmnist_train_pca50.npy")


def prepare():
    from sklearn.decomposition import PCA
    os.makedirs(DATA, exist_ok=True)
    x = load_images("train-images-idx3-ubyte.gz")
    x50 = PCA(n_components=50, svd_solver="randomized", random_state=0).fit_transform(x)
    np.save(PATH, np.ascontiguousarray(x50, dtype=np.float32))
    print(f"wrote {PATH} {x50.shape}")


def main(covariance_type, seeds):
    from threadpoolctl import threadpool_limits
    from sklearn.mixture import GaussianMixture
    x50 = np.load(PATH)
    with threadpool_limits(2):
        for seed in range(seeds):
            t0 = time.perf_counter()
            g = GaussianMixture(10, covariance_type=covariance_type, random_state=seed).fit(x50)
            print(f"gmm_{covariance_type} seed={seed} wall={time.perf_counter() - t0:.3f} "
                  f"objective={g.score(x50):.6f} n_iter={g.n_iter_}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:
        prepare()
    else:
        main(sys.argv[1], int(sys.argv[2]))
