#!/usr/bin/env python3
"""GMM objective over several seeds, scikit-learn 1.2 side (bench/bench_classical gmm_seeds is Cake's).

One EM run from one k-means start ends in one local optimum, and the two libraries draw
different random numbers from the same seed, so a single seed per side compares two draws, not
two implementations. This fits GaussianMixture(10, covariance_type, n_init=1, random_state=s)
for s = 0 .. SEEDS-1 on one shared PCA-50 of the Fashion-MNIST train set and prints each mean
log-likelihood per sample (score) and iteration count; compare the mean and the best.

    /usr/bin/python3 bench/peer_gmm_seeds.py --prepare        # writes $CAKE_BENCH_DATA/fmnist_train_pca50.npy
    /usr/bin/python3 bench/peer_gmm_seeds.py diag 10          # covariance type, number of seeds
    /usr/bin/python3 bench/peer_gmm_seeds.py same_start full  # EM from one shared start (below)
same_start takes the randomness out: the initial weights, means and precisions that
scikit-learn's own initialisation computes from one k-means run (n_init=1, random_state=0) are
saved as gmm_start_{weights,means,precisions}_TYPE.npy and both libraries run EM from them
(weights_init, means_init, precisions_init); then the two EM implementations must reach the
same objective in the same number of iterations, and their times compare like for like.
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


def same_start(covariance_type):
    from threadpoolctl import threadpool_limits
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture
    from sklearn.mixture._gaussian_mixture import (_compute_precision_cholesky,
                                                   _estimate_gaussian_parameters)
    x50 = np.load(PATH).astype(np.float64)
    with threadpool_limits(2):
        labels = KMeans(10, n_init=1, random_state=0).fit(x50).labels_
        resp = np.zeros((len(x50), 10))
        resp[np.arange(len(x50)), labels] = 1
        weights, means, covariances = _estimate_gaussian_parameters(x50, resp, 1e-6, covariance_type)
        weights /= len(x50)
        chol = _compute_precision_cholesky(covariances, covariance_type)
        precisions = chol @ np.swapaxes(chol, -1, -2) if covariance_type == "full" else chol ** 2
        for name, value in (("weights", weights), ("means", means), ("precisions", precisions)):
            np.save(os.path.join(DATA, f"gmm_start_{name}_{covariance_type}.npy"), value)
        t0 = time.perf_counter()
        g = GaussianMixture(10, covariance_type=covariance_type, weights_init=weights, means_init=means,
                            precisions_init=precisions).fit(x50)
        print(f"gmm_{covariance_type}_same_start wall={time.perf_counter() - t0:.3f} "
              f"objective={g.score(x50):.6f} n_iter={g.n_iter_}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:
        prepare()
    elif sys.argv[1] == "same_start":
        same_start(sys.argv[2])
    else:
        main(sys.argv[1], int(sys.argv[2]))
