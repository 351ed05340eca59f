#!/usr/bin/python3
"""peer_autoencoders.py: PyTorch 1.13 (CPU, OMP_NUM_THREADS threads, default 2) time of one training epoch of the
convolutional autoencoder and of the convolutional VAE of Bortoletto 2021 on Fashion-MNIST train,
the same work `cake run conv-autoencoder` / `cake run conv-vae` time as epoch_time_s.

The models are layer for layer those of algorithms/networks/autoencoder.h and algorithms/networks/vae.h, with
the same losses (per-pixel MSE; the VAE's summed squared error per image plus the KL term),
Adam (lr 1e-3, weight decay 1e-5) and batch sizes (256 for the AE, 128 for the VAE: the
defaults of the cake commands; Bortoletto 2021 does not state one). One epoch = a random permutation
of the 60000 images, then for each batch: gather the batch, zero the gradients, forward,
loss.item() (as Cake's trainer reads every batch loss), backward, step. The images sit in one
float32 tensor in memory, as in Cake's TensorDataset, so no DataLoader worker overhead is
counted on either side.

    /usr/bin/python3 bench/peer_autoencoders.py conv-autoencoder [epochs]
    /usr/bin/python3 bench/peer_autoencoders.py conv-vae [epochs]

prints one line per epoch: "model epoch seconds mean_loss".
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


def load_images(path=DATA):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[4:8], "big")
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 1, 28, 28)
    return torch.from_numpy(pixels.astype(np.float32) / 255.0)


class ConvAutoencoder(nn.Module):
    """Bortoletto 2021, section 2: algorithms::ConvAutoencoder(16)."""

    def __init__(self, latent=16):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=0), nn.ReLU(),
            nn.Flatten(), nn.Linear(288, 64), nn.ReLU(), nn.Linear(64, latent))
        self.decoder = nn.Sequential(
            nn.Linear(latent, 64), nn.ReLU(), nn.Linear(64, 288), nn.ReLU(), nn.Unflatten(1, (32, 3, 3)),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=0, output_padding=0), nn.ReLU(),
            nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def loss(self, x):
        return nn.functional.mse_loss(self.decoder(self.encoder(x)), x)


class ConvVAE(nn.Module):
    """Bortoletto 2021, section 5: algorithms::ConvVAE(16) with the Gaussian likelihood (conv-vae's default)."""

    def __init__(self, latent=16):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.ReLU(), nn.Flatten())
        self.fc_mu = nn.Linear(6272, latent)
        self.fc_logvar = nn.Linear(6272, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, 6272), nn.ReLU(), nn.Unflatten(1, (128, 7, 7)),
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1))

    def loss(self, x):
        h = self.encoder(x)
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        x_hat = torch.sigmoid(self.decoder(z))
        n = x.shape[0]
        reconstruction = nn.functional.mse_loss(x_hat, x, reduction="sum") / n
        kl = -0.5 * torch.sum(1 + logvar - mu.square() - logvar.exp()) / n
        return reconstruction + kl


def epoch(model, optimizer, images, batch_size, generator):
    order = torch.randperm(images.shape[0], generator=generator)
    total = 0.0
    for start in range(0, images.shape[0], batch_size):
        x = images.index_select(0, order[start:start + batch_size])
        optimizer.zero_grad()
        loss = model.loss(x)
        total += loss.item() * x.shape[0]
        loss.backward()
        optimizer.step()
    return total / images.shape[0]


def main():
    which = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    torch.manual_seed(0)
    model, batch_size = (ConvAutoencoder(), 256) if which == "conv-autoencoder" else (ConvVAE(), 128)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    images = load_images()
    generator = torch.Generator().manual_seed(0)
    for e in range(1, epochs + 1):
        start = time.perf_counter()
        mean_loss = epoch(model, optimizer, images, batch_size, generator)
        print(f"{which} {e} {time.perf_counter() - start:.3f} {mean_loss:.6f}", flush=True)


if __name__ == "__main__":
    main()
