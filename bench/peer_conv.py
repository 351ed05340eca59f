#!/usr/bin/python3
"""peer_conv.py: PyTorch 1.13 (CPU, 2 threads) timing of the same work as bench_conv.cpp.

Forward + backward of each convolution layer of the convolutional autoencoder (Bortoletto 2021,
section 2) at batch 256 on 28x28 inputs. One iteration = the layer's forward, then
torch.autograd.grad of input (except the first layer's, the images), weight and bias for a
fixed output gradient. Inputs, weights and the output gradient are allocated once, as in
bench_conv.cpp. Each layer: warm-up, then 5 repetitions of >= 0.5 s; the median repetition's
time per iteration is printed, in ms, one line per layer: "name wall_ms cpu_ms" (cpu = process
CPU time, all threads).

    /usr/bin/python3 bench/peer_conv.py            # Debian's python3-torch
"""
import os
import statistics
import time

import torch

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

    for _ in range(10):
        step()
    # Iterations per repetition so that one repetition takes >= 0.5 s.
    start = time.perf_counter()
    step()
    once = time.perf_counter() - start
    iterations = max(1, int(0.5 / max(once, 1e-6)))
    wall, cpu = [], []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(iterations):
            step()
        wall.append((time.perf_counter() - start) / iterations)
        cpu.append((time.process_time() - start_cpu) / iterations)
    return statistics.median(wall), statistics.median(cpu)


def main():
    # Threads: 2 unless CAKE_BENCH_THREADS says otherwise (as bench_conv.cpp).
    torch.set_num_threads(int(os.environ.get("CAKE_BENCH_THREADS", "2")))
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"mkldnn {torch.backends.mkldnn.is_available()}")
    for name, *spec in LAYERS:
        wall, cpu = time_layer(*spec)
        print(f"{name} {wall * 1e3:.4f} {cpu * 1e3:.4f}", flush=True)


if __name__ == "__main__":
    main()
