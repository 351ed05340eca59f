"""peer_data.py: what the Python peers read: Fashion-MNIST from Debian's dataset-fashion-mnist,
as the IDX files Cake reads (gzip-compressed, big-endian dimensions after a 4-byte magic).

    from peer_data import read_idx, fashion_mnist
    x, y = fashion_mnist("train")      # float32 [60000, 784] in [0, 1], int64 [60000]
"""
import gzip

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_mnist(split):
    """The images of a split ("train" or "test") as float32 rows of pixels / 255, and their labels."""
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(f"{FASHION}/{prefix}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    y = read_idx(f"{FASHION}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return x, y
