#!/usr/bin/python3
"""peer_spatial.py: PyTorch 1.13 (CPU, 2 threads) timing of the same work as bench_spatial.cpp.

The Stacked Capsule Autoencoder's template decoder: affine_grid + grid_sample moving 128 x 40
templates of 2 x 11 x 11 onto 28 x 28 images, with the same fixed poses and templates as
bench_spatial.cpp. Each case: warm-up, then 5 repetitions of >= 0.5 s (peer_timing.py); one line
per case, times per call in ms: "name median_ms best_ms cpu_ms", as run_pair.sh reads.

    /usr/bin/python3 bench/peer_spatial.py            # Debian's python3-torch
"""
import torch
import torch.nn.functional as F

from peer_timing import run_cases

ITEMS, CHANNELS, TEMPLATE, IMAGE = 128 * 40, 2, 11, 28
OUTPUT = (ITEMS, CHANNELS, IMAGE, IMAGE)


def poses():
    """theta[i] = [[s, 0, tx], [0, s, ty]], the formula of bench_spatial.cpp's poses()."""
    theta = torch.zeros(ITEMS, 2, 3)
    for i in range(ITEMS):
        s = 2.2 + 0.6 * ((i * 37) % 100) / 100
        theta[i, 0, 0] = theta[i, 1, 1] = s
        theta[i, 0, 2] = ((i * 53) % 100) / 50 - 1
        theta[i, 1, 2] = ((i * 71) % 100) / 50 - 1
    return theta


def templates():
    n = ITEMS * CHANNELS * TEMPLATE * TEMPLATE
    return ((torch.arange(n) % 97).float() / 97).reshape(ITEMS, CHANNELS, TEMPLATE, TEMPLATE)


def cases():
    torch.manual_seed(0)
    sheets = templates()
    grid = F.affine_grid(poses(), OUTPUT, align_corners=False)

    def grid_sample_forward():
        with torch.no_grad():
            return F.grid_sample(sheets, grid, align_corners=False)

    sheets_g = sheets.clone().requires_grad_(True)
    grid_g = grid.clone().requires_grad_(True)
    grad_y = torch.randn(OUTPUT)

    def grid_sample_backward():
        y = F.grid_sample(sheets_g, grid_g, align_corners=False)
        return torch.autograd.grad(y, [sheets_g, grid_g], grad_y)

    theta = poses().requires_grad_(True)
    grad_grid = torch.randn(ITEMS, IMAGE, IMAGE, 2)

    def affine_grid_backward():
        g = F.affine_grid(theta, OUTPUT, align_corners=False)
        return torch.autograd.grad(g, [theta], grad_grid)

    def spatial_transformer_backward():
        y = F.grid_sample(sheets_g, F.affine_grid(theta, OUTPUT, align_corners=False), align_corners=False)
        return torch.autograd.grad(y, [sheets_g, theta], grad_y)

    return [("grid_sample_forward", grid_sample_forward), ("grid_sample_backward", grid_sample_backward),
            ("affine_grid_backward", affine_grid_backward), ("spatial_transformer_backward", spatial_transformer_backward)]


if __name__ == "__main__":
    run_cases(cases)
