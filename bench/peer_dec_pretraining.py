#!/usr/bin/env python3
"""DEC's pretraining in PyTorch, for comparing Cake's `cake run dec` with a second framework.

The recipe is the one DEC-keras (X. Guo's re-implementation of Xie, Girshick & Farhadi 2016,
run_exp.py) uses for Fashion-MNIST, and the one `cake run dec --set val_fraction=0` runs:
784-500-500-2000-10 ReLU autoencoder with a linear code and output, weights U(-sqrt(1/fan_in),
sqrt(1/fan_in)) (Keras' VarianceScaling(1/3, fan_in, uniform)), zero biases, SGD lr 1 momentum
0.9, batches of 256 reshuffled every epoch, per-pixel MSE, all 70,000 images / 255, 300 epochs.
AE + k-means is scikit-learn's KMeans(10, n_init=20) on the raw codes, as DEC-keras' first
DEC row. Every EVAL_EVERY epochs the script prints a JSON row with NMI / ACC / ARI and saves
the codes; the training state is saved every 5 epochs and a second call with the same OUTDIR
continues from it.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/peer_dec_pretraining.py SEED OUTDIR

docs/algorithms/dec.md has what it measured.
"""
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

DATA = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
EPOCHS, BATCH, EVAL_EVERY = 300, 256, int(os.environ.get("EVAL_EVERY", "50"))


def read_idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def clustering_accuracy(y, p):
    """ACC: the share of points in the best one-to-one matching of clusters to classes (Hungarian)."""
    counts = np.zeros((p.max() + 1, y.max() + 1))
    np.add.at(counts, (p, y), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(y)


def mlp(sizes):
    """Linear layers of the given sizes, ReLU between them, none after the last."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            limit = (1.0 / fan_in) ** 0.5
            linear.weight.uniform_(-limit, limit)
            linear.bias.zero_()
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def main():
    seed, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    x = np.concatenate([read_idx("train-images-idx3-ubyte.gz", 16), read_idx("t10k-images-idx3-ubyte.gz", 16)])
    y = np.concatenate([read_idx("train-labels-idx1-ubyte.gz", 8), read_idx("t10k-labels-idx1-ubyte.gz", 8)]).astype(np.int64)
    images = torch.from_numpy(x.reshape(-1, 784).astype(np.float32) / 255.0)

    torch.manual_seed(seed)
    dims = [784, 500, 500, 2000, 10]
    encoder, decoder = mlp(dims), mlp(dims[::-1])
    model = torch.nn.Sequential(encoder, decoder)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
    first, log = 1, []
    state_path = os.path.join(out, "state.pt")
    if os.path.exists(state_path):
        state = torch.load(state_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        first, log = state["epoch"] + 1, state["log"]

    def ae_kmeans(epoch):
        with torch.no_grad():
            codes = torch.cat([encoder(images[i:i + 10000]) for i in range(0, len(images), 10000)]).double().numpy()
        np.save(os.path.join(out, f"codes_{epoch}.npy"), codes.astype(np.float32))
        kmeans = KMeans(10, n_init=20, random_state=seed).fit(codes)
        p = kmeans.labels_
        return dict(nmi=normalized_mutual_info_score(y, p), acc=clustering_accuracy(y, p),
                    ari=adjusted_rand_score(y, p), inertia=kmeans.inertia_)

    for epoch in range(first, EPOCHS + 1):
        start, total = time.perf_counter(), 0.0
        order = torch.randperm(len(images))
        for i in range(0, len(images), BATCH):  # the last, partial batch included, as Keras' fit
            batch = images[order[i:i + BATCH]]
            loss = torch.nn.functional.mse_loss(model(batch), batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        row = dict(epoch=epoch, loss=total / len(images), seconds=time.perf_counter() - start)
        if epoch % EVAL_EVERY == 0 or epoch == EPOCHS:
            row.update(ae_kmeans(epoch))
        log.append(row)
        print(json.dumps(row), flush=True)
        if epoch % 5 == 0 or epoch == EPOCHS:
            torch.save(dict(model=model.state_dict(), optimizer=optimizer.state_dict(), rng=torch.get_rng_state(),
                            epoch=epoch, log=log), state_path + ".tmp")
            os.replace(state_path + ".tmp", state_path)


if __name__ == "__main__":
    main()
