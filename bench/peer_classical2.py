#!/usr/bin/python3
"""scikit-learn 1.2 peer for bench/bench_classical2.cpp: agglomerative (ward), spectral,
DBSCAN, NMF and FastICA on the same data, 2 threads, with the same objectives.

    /usr/bin/python3 bench/peer_classical2.py --prepare     # data sets into /tmp/cake_classical2
    /usr/bin/python3 bench/peer_classical2.py --cake build/bench/bench_classical2
        # times scikit-learn, runs Cake's benchmark in the same session, prints both and the ratio

The data: Fashion-MNIST's first 5,000 test images reduced to 50 dimensions by PCA (computed
here once and saved, so both sides cluster the very same numbers), 10,000 two-dimensional
blobs, and the 10,000 test images as 784 pixels in [0, 1]. Objectives, computed the same way on
both sides: ward's within-cluster sum of squares, the normalised cut of the spectral partition
on the symmetrised 10-NN graph, DBSCAN's cluster and noise counts, NMF's ||X - WH||_F and
FastICA's summed |E log cosh(s) - E log cosh(nu)| (negentropy proxy, larger is better).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from peer_data import FASHION, read_idx

DATA = os.environ.get("CAKE_BENCH_DATA", "/tmp/cake_classical2")
THREADS = 2


def prepare():
    from sklearn.datasets import make_blobs
    from sklearn.decomposition import PCA
    os.makedirs(DATA, exist_ok=True)
    images = read_idx(f"{FASHION}/t10k-images-idx3-ubyte.gz").reshape(10000, -1).astype(np.float64) / 255
    pca50 = PCA(50, svd_solver="full").fit_transform(images[:5000])
    np.save(f"{DATA}/fmnist_pca50_5000.npy", np.ascontiguousarray(pca50))
    np.save(f"{DATA}/fmnist_10000.npy", np.ascontiguousarray(images))
    blobs, _ = make_blobs(n_samples=10000, centers=6, cluster_std=0.6, random_state=0)
    np.save(f"{DATA}/blobs2d_10000.npy", np.ascontiguousarray(blobs))
    print("wrote", DATA)


# ---- objectives (mirrored in bench_classical2.cpp) ---------------------------------------------

def within_cluster_ss(x, labels):
    return float(sum(((x[labels == c] - x[labels == c].mean(0)) ** 2).sum() for c in np.unique(labels)))


def normalized_cut(x, labels, n_neighbors=10):
    from sklearn.neighbors import kneighbors_graph
    c = kneighbors_graph(x, n_neighbors, include_self=True)
    a = (0.5 * (c + c.T)).tolil()
    a.setdiag(0)
    a = a.tocsr()
    degree = np.asarray(a.sum(1)).ravel()
    total = 0.0
    for k in np.unique(labels):
        inside = labels == k
        volume = degree[inside].sum()
        within = a[inside][:, inside].sum()
        total += (volume - within) / volume
    return float(total)


def negentropy_proxy(s):
    nu = 0.37456  # E[log cosh(nu)] for a standard normal nu
    return float(np.abs(np.log(np.cosh(s)).mean(0) - nu).sum())


# ---- the runs ----------------------------------------------------------------------------------

def runs():
    from sklearn.cluster import DBSCAN, AgglomerativeClustering, SpectralClustering
    from sklearn.decomposition import NMF, FastICA
    pca50 = np.load(f"{DATA}/fmnist_pca50_5000.npy")
    blobs = np.load(f"{DATA}/blobs2d_10000.npy")
    images = np.load(f"{DATA}/fmnist_10000.npy")

    def agglomerative():
        labels = AgglomerativeClustering(n_clusters=10, linkage="ward").fit_predict(pca50)
        return {"wcss": within_cluster_ss(pca50, labels)}

    def spectral(assign_labels="cluster_qr"):
        labels = SpectralClustering(n_clusters=10, affinity="nearest_neighbors", n_neighbors=10,
                                    assign_labels=assign_labels, random_state=0).fit_predict(pca50)
        return {"ncut": normalized_cut(pca50, labels)}

    def dbscan():
        labels = DBSCAN(eps=0.3, min_samples=10).fit_predict(blobs)
        return {"clusters": int(labels.max() + 1), "noise": int((labels == -1).sum())}

    def nmf():
        model = NMF(n_components=20, init="nndsvda", solver="cd", max_iter=200, tol=1e-4)
        model.fit(images)
        return {"err": float(model.reconstruction_err_), "n_iter": int(model.n_iter_)}

    def fastica():
        model = FastICA(n_components=20, whiten="unit-variance", max_iter=200, tol=1e-4, random_state=0)
        s = model.fit_transform(images)
        return {"negentropy": negentropy_proxy(s), "n_iter": int(model.n_iter_)}

    return {"agglomerative_ward": agglomerative, "spectral_knn": spectral,
            "spectral_knn_discretize": lambda: spectral("discretize"), "dbscan_blobs": dbscan,
            "nmf_cd": nmf, "fastica": fastica}


def time_peer(repeat, only):
    from threadpoolctl import threadpool_limits
    import warnings
    warnings.simplefilter("ignore")
    results = {}
    with threadpool_limits(THREADS):
        for name, fn in runs().items():
            if only and name not in only:
                continue
            times, objective = [], None
            for _ in range(repeat):
                t0 = time.perf_counter()
                objective = fn()
                times.append(time.perf_counter() - t0)
            results[name] = {"seconds": float(np.median(times)), **objective}
            print(f"sklearn {name:20s} {results[name]['seconds']*1e3:9.1f} ms  {objective}", flush=True)
    return results


def time_cake(binary, repeat, only):
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), OPENBLAS_NUM_THREADS=str(THREADS))
    args = [binary, f"--benchmark_repetitions={repeat}", "--benchmark_format=json"]
    if only:
        args.append("--benchmark_filter=" + "|".join(only))
    out = subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout
    results = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"].split("/")[0].removeprefix("BM_")
        extra = {k: v for k, v in b.items() if k in ("wcss", "ncut", "clusters", "noise", "err", "n_iter", "negentropy")}
        results[name] = {"seconds": b["real_time"] / 1e3, **extra}
        print(f"cake    {name:20s} {results[name]['seconds']*1e3:9.1f} ms  {extra}", flush=True)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--cake", help="path of bench_classical2, to time both in one session")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    if args.prepare:
        prepare()
        return
    peer = time_peer(args.repeat, args.only)
    if not args.cake:
        return
    cake = time_cake(args.cake, args.repeat, args.only)
    print(f"\n| benchmark | scikit-learn 1.2 | Cake | Cake / sklearn | objective (sklearn / Cake) |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, p in peer.items():
        c = cake.get(name)
        if not c:
            continue
        objective = ", ".join(f"{k} {p[k]:.6g} / {c[k]:.6g}" for k in p if k != "seconds" and k in c)
        print(f"| {name} | {p['seconds']*1e3:.0f} ms | {c['seconds']*1e3:.0f} ms | "
              f"{c['seconds']/p['seconds']:.2f}x | {objective} |")


if __name__ == "__main__":
    sys.exit(main())
