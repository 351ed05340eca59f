#!/usr/bin/env python3
"""Cake and PyTorch, step by step, on DEC's pretraining: is the same recipe the same computation?

bench/peer_dec_pretraining.py compares whole 300-epoch runs, whose scores move with the seed.
This script removes the seed: it writes PyTorch's starting weights (that script's seed-SEED
network) and EPOCHS epochs of its batch order to DIR, trains PyTorch 1.13 on them, runs Cake's
half (bench/dec_steps.cpp, the program DEC_STEPS) on the same files, and prints both losses at
chosen steps. Equal losses over the first steps mean equal forward passes, gradients and
updates. Later the two drift apart, as any two float32 programs that round differently do: the
script shows the yardstick, PyTorch against itself with the first layer's product summed in
float64 and rounded once (a change of about one unit in the last place of some activations).

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/peer_dec_steps.py DIR build/release/bench/dec_steps [EPOCHS [SEED]]

docs/algorithms/dec.md has what it measured.
"""
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_dec_pretraining as peer  # noqa: E402  (the same data reader and network)

BATCH = 256


def cake_name(torch_name):
    """'0.4.weight' (encoder's third Linear) -> 'encoder.5.weight'; '1.2.bias' -> 'decoder.2.bias'."""
    half, index, kind = torch_name.split(".")
    return f"encoder.{int(index) + 1}.{kind}" if half == "0" else f"decoder.{index}.{kind}"


def starting_network(seed):
    """The encoder and decoder of peer_dec_pretraining.py's seed: the first draws after seeding."""
    torch.manual_seed(seed)
    dims = [784, 500, 500, 2000, 10]
    return peer.mlp(dims), peer.mlp(dims[::-1])


def train_pytorch(images, orders, seed, round_first_layer_once=False):
    """The loss of every step of the peer's recipe on the given batch orders."""
    encoder, decoder = starting_network(seed)
    optimizer = torch.optim.SGD([*encoder.parameters(), *decoder.parameters()], lr=1.0, momentum=0.9)
    losses = []
    for order in orders:
        for i in range(0, len(images), BATCH):  # the last, partial batch included
            batch = images[order[i:i + BATCH]]
            if round_first_layer_once:
                first = encoder[0]
                hidden = (batch.double() @ first.weight.double().t()).float() + first.bias
                output = decoder(encoder[1:](hidden))
            else:
                output = decoder(encoder(batch))
            loss = torch.nn.functional.mse_loss(output, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return np.array(losses)


def main():
    out, dec_steps = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    os.makedirs(os.path.join(out, "init"), exist_ok=True)
    torch.set_num_threads(1)
    x = np.concatenate([peer.read_idx("train-images-idx3-ubyte.gz", 16), peer.read_idx("t10k-images-idx3-ubyte.gz", 16)])
    images = torch.from_numpy(x.reshape(-1, 784).astype(np.float32) / 255.0)
    np.save(os.path.join(out, "images.npy"), images.numpy().reshape(-1, 1, 28, 28))

    encoder, decoder = starting_network(seed)
    for name, parameter in torch.nn.Sequential(encoder, decoder).named_parameters():
        np.save(os.path.join(out, "init", cake_name(name) + ".npy"), parameter.detach().numpy())
    orders = [torch.randperm(len(images)) for _ in range(epochs)]  # as the peer: after the network's draws
    np.save(os.path.join(out, "order.npy"), np.concatenate([o.numpy().astype(np.int64) for o in orders]))
    torch_losses = train_pytorch(images, orders, seed)
    rounded_losses = train_pytorch(images, orders, seed, round_first_layer_once=True)

    subprocess.run([dec_steps, out, str(epochs)], check=True)
    cake_losses = np.load(os.path.join(out, "cake_losses.npy"))
    print(" step  PyTorch loss  Cake: loss, relative difference  PyTorch, first layer rounded once: loss, difference")
    for step in [1, 2, 5, 10, 20, 50, 100, 200, len(torch_losses) // 2, len(torch_losses)]:
        t, c, r = torch_losses[step - 1], cake_losses[step - 1], rounded_losses[step - 1]
        print(f"{step:5d}  {t:.8f}    {c:.8f}  {c / t - 1:+.1e}            {r:.8f}  {r / t - 1:+.1e}")
    for name, other in (("Cake", cake_losses), ("PyTorch, first layer rounded once", rounded_losses)):
        apart = np.flatnonzero(np.abs(other / torch_losses - 1) > 1e-6)
        print(f"{name}: first step more than 1e-6 (relative) from PyTorch:", apart[0] + 1 if len(apart) else "none")


if __name__ == "__main__":
    main()
