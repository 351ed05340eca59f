#!/usr/bin/python3
"""peer_conv.py: PyTorch 1.13 (CPU, 2 threads) timing of the same work as bench_conv.cpp.

Forward + backward of each convolution layer of the convolutional autoencoder (Bortoletto 2021,
section 2) at batch 256 on 28x28 inputs. One iteration = the layer's forward, then
torch.autograd.grad of input (except the first layer's, the images), weight and bias for a
fixed output gradient. Inputs, weights and the output gradient are allocated once, as in
bench_conv.cpp. Each layer: warm-up, then 5 repetitions of >= 0.5 s (peer_timing.py); one line
per layer, times per iteration in ms: "name median_ms best_ms cpu_ms" (the median and the least
repetition's wall time, the median process CPU time of all threads), as run_pair.sh reads.

    /usr/bin/python3 bench/peer_conv.py            # Debian's python3-torch
"""
import os

import torch

from peer_timing import time_step

BATCH = 256
# name, transposed, in_channels, out_channels, input size, stride, padding, output_padding,
# input needs grad
LAYERS = [
    ("enc_conv1", False, 1, 8, 28, 2, 1, 0, False),
    ("enc_conv2", False, 8, 16, 14, 2, 1, 0, True),
    ("enc_conv3", False, 16, 32, 7, 2, 0, 0, True),
    ("dec_deconv1", True, 32, 16, 3, 2, 0, 0, True),
    ("dec_deconv2", True, 16, 8, 7, 2, 1, 1, True),
    ("dec_deconv3", True, 8, 1, 14, 2, 1, 1, True),
]


def time_layer(transposed, cin, cout, size, stride, padding, output_padding, input_grad):
    torch.manual_seed(0)
    if transposed:
        layer = torch.nn.ConvTranspose2d(cin, cout, 3, stride=stride, padding=padding,
                                         output_padding=output_padding)
    else:
        layer = torch.nn.Conv2d(cin, cout, 3, stride=stride, padding=padding)
    x = torch.randn(BATCH, cin, size, size, requires_grad=input_grad)
    wrt = ([x] if input_grad else []) + [layer.weight, layer.bias]
    grad_y = torch.randn_like(layer(x).detach())

    def step():
        y = layer(x)
        return torch.autograd.grad(y, wrt, grad_y)

    return time_step(step, warmup=10, min_seconds=0.5, repetitions=5)


def main():
    # Threads: 2 unless CAKE_BENCH_THREADS says otherwise (as bench_conv.cpp).
    torch.set_num_threads(int(os.environ.get("CAKE_BENCH_THREADS", "2")))
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"mkldnn {torch.backends.mkldnn.is_available()}")
    for name, *spec in LAYERS:
        median, best, cpu = time_layer(*spec)
        print(f"{name} {median * 1e3:.4f} {best * 1e3:.4f} {cpu * 1e3:.4f}", flush=True)


if __name__ == "__main__":
    main()
