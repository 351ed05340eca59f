#!/usr/bin/env python3
"""Peer timings for bench/bench_classical.cpp (bench/run_classical.sh runs both): scikit-learn 1.2 on the same Fashion-MNIST tasks.

Run with Debian's interpreter (python3-sklearn, python3-numpy), two threads:
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/peer_classical.py [task ...]
Tasks: kmeans_pixels kmeans_pixels_elkan kmeans_pca gmm_diag gmm_full pca pca_full tsne logreg (default: all).
Prints one line per task: name, wall seconds, process CPU seconds, objective, and extra fields,
in the same format as bench_classical, so the two can be compared row by row.
"""
import gzip
import os
import sys
import time

import numpy as np

DATA = os.environ.get("CAKE_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


def load_images(name, limit=None):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)
    x = raw.reshape(-1, 784).astype(np.float32) / 255.0
    return x if limit is None else x[:limit]


def load_labels(name, limit=None):
    with gzip.open(os.path.join(DATA, name)) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return y if limit is None else y[:limit]


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def report(name, wall, cpu, objective, **extra):
    fields = " ".join(f"{k}={v}" for k, v in extra.items())
    print(f"{name:22s} wall={wall:8.3f} cpu={cpu:8.3f} objective={objective:.6g} {fields}", flush=True)


def clustering_scores(y_true, y_pred):
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import normalized_mutual_info_score
    k = max(y_true.max(), y_pred.max()) + 1
    counts = np.zeros((k, k), np.int64)
    np.add.at(counts, (y_pred, y_true), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(y_true), normalized_mutual_info_score(y_true, y_pred)


def standardise(train, test):
    mean, std = train.mean(0), np.maximum(train.std(0), 1e-8)
    return (train - mean) / std, (test - mean) / std


def logreg(x, y):
    """The linear probe's solver (train::LogisticRegression): multinomial logistic regression on the
    standardised pixels of the 60,000 training images, float64, L-BFGS from zero, at most 500
    iterations. Cake's l2 = 1e-4 beside the mean cross-entropy is scikit-learn's C = 1 / (l2 N).
    Objective: that mean cross-entropy + (l2 / 2) |W|^2 at the solution (lower is better), the
    same formula on both sides; extra: iterations and test accuracy."""
    from sklearn.linear_model import LogisticRegression
    l2 = 1e-4
    train, test = standardise(x.astype(np.float64), load_images("t10k-images-idx3-ubyte.gz").astype(np.float64))
    model = LogisticRegression(C=1.0 / (l2 * len(train)), max_iter=500, multi_class="multinomial", solver="lbfgs")
    _, wall, cpu = timed(lambda: model.fit(train, y))
    log_p = model.predict_log_proba(train)
    objective = -log_p[np.arange(len(y)), y].mean() + 0.5 * l2 * (model.coef_ ** 2).sum()
    accuracy = (model.predict(test) == load_labels("t10k-labels-idx1-ubyte.gz")).mean()
    report("logreg_pixels", wall, cpu, objective, n_iter=int(model.n_iter_[0]), test_accuracy=f"{accuracy:.4f}")


def main(tasks):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE, trustworthiness
    from sklearn.mixture import GaussianMixture

    x = load_images("train-images-idx3-ubyte.gz")
    y = load_labels("train-labels-idx1-ubyte.gz")
    x50 = PCA(50, svd_solver="randomized", random_state=0).fit_transform(x) if any(
        t in tasks for t in ("kmeans_pca", "gmm_diag", "gmm_full")) else None

    if "kmeans_pixels" in tasks or "kmeans_pixels_elkan" in tasks:
        for algo in ("lloyd", "elkan"):
            if f"kmeans_pixels{'_elkan' if algo == 'elkan' else ''}" not in tasks:
                continue
            km, wall, cpu = timed(lambda: KMeans(10, n_init=10, random_state=0, algorithm=algo).fit(x))
            acc, nmi = clustering_scores(y, km.labels_)
            report(f"kmeans_pixels_{algo}", wall, cpu, km.inertia_, n_iter=km.n_iter_, acc=f"{acc:.4f}", nmi=f"{nmi:.4f}")
    if "kmeans_pca" in tasks:
        km, wall, cpu = timed(lambda: KMeans(10, n_init=10, random_state=0).fit(x50))
        acc, nmi = clustering_scores(y, km.labels_)
        report("kmeans_pca50_lloyd", wall, cpu, km.inertia_, n_iter=km.n_iter_, acc=f"{acc:.4f}", nmi=f"{nmi:.4f}")
    for cov in ("diag", "full"):
        if f"gmm_{cov}" in tasks:
            g, wall, cpu = timed(lambda: GaussianMixture(10, covariance_type=cov, random_state=0).fit(x50))
            acc, nmi = clustering_scores(y, g.predict(x50))
            report(f"gmm_{cov}_pca50", wall, cpu, g.score(x50), lower_bound=f"{g.lower_bound_:.6g}", n_iter=g.n_iter_,
                   acc=f"{acc:.4f}", nmi=f"{nmi:.4f}")
    if "pca" in tasks:
        p, wall, cpu = timed(lambda: PCA(50, random_state=0).fit(x))
        report("pca50_auto", wall, cpu, p.explained_variance_ratio_.sum(), solver=p._fit_svd_solver)
    if "pca_full" in tasks:
        p, wall, cpu = timed(lambda: PCA(50, svd_solver="full").fit(x))
        report("pca50_full", wall, cpu, p.explained_variance_ratio_.sum(), solver="full")
    if "logreg" in tasks:
        logreg(x, y)
    if "tsne" in tasks:
        t = load_images("t10k-images-idx3-ubyte.gz", 5000)
        t50 = PCA(50, random_state=0).fit_transform(t)
        e, wall, cpu = timed(lambda: TSNE(2, random_state=0, init="pca", learning_rate="auto").fit(t50))
        report("tsne_bh_5000", wall, cpu, e.kl_divergence_, n_iter=e.n_iter_,
               trustworthiness=f"{trustworthiness(t50, e.embedding_, n_neighbors=12):.4f}")


if __name__ == "__main__":
    all_tasks = ["kmeans_pixels", "kmeans_pixels_elkan", "kmeans_pca", "gmm_diag", "gmm_full", "pca", "pca_full", "tsne",
                 "logreg"]
    main(sys.argv[1:] or all_tasks)
