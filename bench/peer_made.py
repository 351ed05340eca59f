#!/usr/bin/python3
"""peer_made.py: PyTorch 1.13 (CPU, OMP_NUM_THREADS threads, default 2) time of one training epoch of MADE
(Germain, Gregor, Murray & Larochelle 2015) on binarised Fashion-MNIST, the same work
`cake run made` times as epoch_time_s.

The model is that of algorithms/generative/made.h: 784 inputs, one hidden layer of 500 ReLU units, the
weights multiplied by fixed 0/1 masks (degrees drawn here with NumPy: the masks' pattern, not
their draw, sets the cost), the loss the summed binary cross-entropy of the logits per image,
averaged over the batch; Adam (lr 1e-3), batches of 100. One epoch = 54,000 binarised images
(the 90% that `cake run made` trains on) in a random order, then for each batch: gather, zero
the gradients, forward, loss.item() (as Cake's trainer reads every batch loss), backward, step;
then the validation loss of the other 6,000 without gradients (Cake's epoch includes it).

    /usr/bin/python3 bench/peer_made.py [epochs]

prints one line per epoch: "made epoch seconds train_nll val_nll".
"""
import gzip
import os
import sys
import time

import numpy as np
import torch
from torch import nn

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def load_binarised(path=DATA, seed=0):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[4:8], "big")
    grey = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 784).astype(np.float32) / 255.0
    rng = np.random.default_rng(seed)
    return torch.from_numpy((rng.random(grey.shape, dtype=np.float32) < grey).astype(np.float32))


class MADE(nn.Module):
    def __init__(self, d=784, hidden=500, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        inputs = np.arange(1, d + 1)
        units = rng.integers(1, d, size=hidden)  # degrees in [1, d - 1]
        self.hidden = nn.Linear(d, hidden)
        self.output = nn.Linear(hidden, d)
        self.register_buffer("hidden_mask", torch.from_numpy((units[:, None] >= inputs[None, :]).astype(np.float32)))
        self.register_buffer("output_mask", torch.from_numpy((inputs[:, None] > units[None, :]).astype(np.float32)))

    def forward(self, x):
        h = torch.relu(nn.functional.linear(x, self.hidden.weight * self.hidden_mask, self.hidden.bias))
        return nn.functional.linear(h, self.output.weight * self.output_mask, self.output.bias)

    def nll(self, x):
        return nn.functional.binary_cross_entropy_with_logits(self(x), x, reduction="none").sum(1).mean()


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    x = load_binarised()
    train, val = x[:54000], x[54000:]
    torch.manual_seed(0)
    model = MADE()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(train.shape[0])
        total = 0.0
        for i in range(0, train.shape[0], 100):
            batch = train[order[i:i + 100]]
            adam.zero_grad()
            loss = model.nll(batch)
            total += loss.item() * batch.shape[0]
            loss.backward()
            adam.step()
        with torch.no_grad():
            val_nll = model.nll(val).item()
        print(f"made {epoch} {time.perf_counter() - start:.3f} {total / train.shape[0]:.3f} {val_nll:.3f}", flush=True)


if __name__ == "__main__":
    main()
