#!/usr/bin/python3
"""peer_recurrent.py: PyTorch 1.13 (CPU, 2 threads) timing of the same work as bench_recurrent.cpp.

A 2-layer LSTM and a 2-layer GRU of 256 hidden units over T = 50 steps of 128 features, batch 32,
float32, sequence-first. Each case: warm-up, then 5 repetitions of >= 0.5 s (peer_timing.py); one
line per case, times per call in ms: "name median_ms best_ms cpu_ms", as run_pair.sh reads.

    /usr/bin/python3 bench/peer_recurrent.py            # Debian's python3-torch
"""
import torch

from peer_timing import run_cases

STEPS, BATCH, FEATURES, HIDDEN, LAYERS = 50, 32, 128, 256, 2


def sequence(features):
    """[T, B, features] with element i (row-major) = (i % 97) / 97 - 0.5, as bench_recurrent.cpp's."""
    n = STEPS * BATCH * features
    return ((torch.arange(n) % 97).float() / 97 - 0.5).reshape(STEPS, BATCH, features)


def cases():
    x = sequence(FEATURES)
    x_g = x.clone().requires_grad_(True)
    grad_out = sequence(HIDDEN)
    result = []
    for name, layer_type in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)):
        torch.manual_seed(0)
        layer = layer_type(FEATURES, HIDDEN, num_layers=LAYERS)
        inputs = list(layer.parameters()) + [x_g]

        def forward(layer=layer):
            with torch.no_grad():
                return layer(x)

        def backward(layer=layer, inputs=inputs):
            out, _ = layer(x_g)
            return torch.autograd.grad(out, inputs, grad_out)

        result += [(f"{name}_forward", forward), (f"{name}_backward", backward)]
    return result


if __name__ == "__main__":
    run_cases(cases)
