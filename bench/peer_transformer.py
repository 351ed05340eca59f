#!/usr/bin/python3
"""peer_transformer.py: PyTorch 1.13 (CPU, 2 threads) timing of the same work as bench_transformer.cpp.

A TransformerEncoderLayer of d_model 256, 8 heads, feed-forward 1024, over 64 tokens, batch 32,
float32, sequence-first, dropout 0. Each case: warm-up, then 5 repetitions of >= 0.5 s
(peer_timing.py); one line per case, times per call in ms: "name median_ms best_ms cpu_ms".

    /usr/bin/python3 bench/peer_transformer.py            # Debian's python3-torch
"""
import torch

from peer_timing import run_cases

TOKENS, BATCH, MODEL, HEADS, FEED_FORWARD = 64, 32, 256, 8, 1024


def sequence():
    """[S, N, E] with element i (row-major) = (i % 97) / 97 - 0.5, as bench_transformer.cpp's."""
    n = TOKENS * BATCH * MODEL
    return ((torch.arange(n) % 97).float() / 97 - 0.5).reshape(TOKENS, BATCH, MODEL)


def cases():
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(MODEL, HEADS, dim_feedforward=FEED_FORWARD, dropout=0.0)
    x = sequence()
    x_g = x.clone().requires_grad_(True)
    grad_y = sequence()
    inputs = list(layer.parameters()) + [x_g]

    def forward():
        # eval() and no_grad, as the Cake case; PyTorch may take its fused "fast path" here.
        layer.eval()
        with torch.no_grad():
            return layer(x)

    def backward():
        layer.train()
        return torch.autograd.grad(layer(x_g), inputs, grad_y)

    return [("encoder_layer_forward", forward), ("encoder_layer_backward", backward)]


if __name__ == "__main__":
    run_cases(cases)
