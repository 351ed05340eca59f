#!/usr/bin/env python3
"""The reference UMAP (umap-learn) on an .npy, timed, and N2D's clustering of its embedding.

`cake run umap` and `cake run n2d` (McInnes et al. 2018; McConville et al. 2020) beside the
reference implementation, on the same rows:

    PYTHONPATH=DIR /usr/bin/python3 bench/peer_umap.py CODES.npy OUT \
        --n-components 10 --n-neighbors 20 --min-dist 0 --seed 0 --labels LABELS.npy --gmm-seeds 5

DIR holds umap-learn and pynndescent (neither is packaged in Debian 12; their sources, e.g.
umap-learn 0.5.5 and pynndescent 0.5.11 from github.com/lmcinnes, run as they are, with a
`NAME-VERSION.dist-info/METADATA` beside each package because umap-learn asks for
pynndescent's version); numba and tqdm are Debian's python3-numba and python3-tqdm.

What it does:
- compiles numba's functions first on random rows of the same width with the same settings (as
  many rows below 4096, 5000 above: the same neighbour search), so that the timed fit does not
  include the one-off compilation (reported apart, `compile_s`);
- times `UMAP(...).fit_transform(CODES)` (`fit_s`) and writes OUT/embedding.npy (float32);
- with --labels: fits scikit-learn's `GaussianMixture(k, covariance_type="full",
  random_state=r)` to the embedding for r = 0 .. gmm-seeds - 1, N2D's clusterer (the authors'
  n2d.py fixes random_state 0 for both UMAP and the mixture), and prints the NMI / ACC / ARI
  and the mean log-likelihood of each fit; writes OUT/gmm_labels_r.npy and OUT/scores.json.

With --seed, umap-learn runs its layout on one thread (it says so: a seed rules out its
parallel SGD); without it, on NUMBA_NUM_THREADS threads. Score the embedding as Cake scores its
own with `cake eval --data CODES.npy --embedding OUT/embedding.npy --labels LABELS.npy`
(trustworthiness T(5), 10-NN preservation and 1-NN accuracy on the same random rows).
"""
import argparse
import json
import os
import time

import numpy as np


def clustering_accuracy(truth, predicted):
    """The best one-to-one matching of clusters to classes (Hungarian), as Cake's metrics::acc."""
    from scipy.optimize import linear_sum_assignment
    counts = np.zeros((predicted.max() + 1, truth.max() + 1), dtype=np.int64)
    np.add.at(counts, (predicted, truth), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(truth)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("codes", help="float .npy [N, D]")
    p.add_argument("out", help="folder for embedding.npy, scores.json, gmm_labels_r.npy")
    p.add_argument("--n-components", type=int, default=2)
    p.add_argument("--n-neighbors", type=int, default=15)
    p.add_argument("--min-dist", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=None, help="random_state; none: umap-learn's parallel layout")
    p.add_argument("--labels", default=None, help="int .npy [N] of true classes: fit and score GMMs")
    p.add_argument("--gmm-seeds", type=int, default=1)
    p.add_argument("--clusters", type=int, default=0, help="mixture components (0: the number of classes)")
    return p.parse_args()


def main():
    args = parse_args()
    import umap  # noqa: E402  (after argparse, so that --help works without umap-learn)
    os.makedirs(args.out, exist_ok=True)
    codes = np.load(args.codes).astype(np.float32)
    settings = dict(n_components=args.n_components, n_neighbors=args.n_neighbors,
                    min_dist=args.min_dist, metric="euclidean", random_state=args.seed)

    # The warm-up takes the same path as the timed fit: umap-learn computes the neighbours exactly
    # below 4096 rows and by NN-descent above, each with its own compiled functions.
    start = time.perf_counter()
    warm_rows = codes.shape[0] if codes.shape[0] < 4096 else 5000
    warm = np.random.RandomState(0).randn(warm_rows, codes.shape[1]).astype(np.float32)
    umap.UMAP(**settings).fit_transform(warm)
    compile_s = time.perf_counter() - start

    start = time.perf_counter()
    embedding = umap.UMAP(**settings).fit_transform(codes)
    fit_s = time.perf_counter() - start
    np.save(os.path.join(args.out, "embedding.npy"), embedding.astype(np.float32))
    report = {"umap_version": umap.__version__ if hasattr(umap, "__version__") else "unknown",
              "settings": settings, "rows": int(codes.shape[0]), "compile_s": compile_s, "fit_s": fit_s,
              "numba_threads": int(os.environ.get("NUMBA_NUM_THREADS", "0")) or None}
    print(f"umap-learn: {codes.shape[0]} x {codes.shape[1]} -> {args.n_components}, fit {fit_s:.1f} s "
          f"(numba compilation before it {compile_s:.1f} s)", flush=True)

    if args.labels:
        from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
        from sklearn.mixture import GaussianMixture
        truth = np.load(args.labels).astype(np.int64)
        k = args.clusters or int(truth.max() + 1)
        fits = []
        for r in range(args.gmm_seeds):
            gmm = GaussianMixture(k, covariance_type="full", random_state=r).fit(embedding)
            predicted = gmm.predict(embedding)
            np.save(os.path.join(args.out, f"gmm_labels_{r}.npy"), predicted.astype(np.int64))
            fit = {"random_state": r, "log_likelihood": float(gmm.score(embedding)),
                   "nmi": float(normalized_mutual_info_score(truth, predicted)),
                   "acc": float(clustering_accuracy(truth, predicted)),
                   "ari": float(adjusted_rand_score(truth, predicted))}
            fits.append(fit)
            print("GMM random_state {random_state}: log-likelihood {log_likelihood:.4f}, NMI {nmi:.4f} "
                  "ACC {acc:.4f} ARI {ari:.4f}".format(**fit), flush=True)
        report["gmm"] = fits
    with open(os.path.join(args.out, "scores.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
