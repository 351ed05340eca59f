#!/usr/bin/env python3
"""bench/cuda/peer_cuda.py: the cases of bench_cuda.cpp in PyTorch, on the same GPU, printed the
same way ("<case> <milliseconds>"), for tools/cuda-check.sh. Each case runs once to warm up, then
`reps` times between two torch.cuda.synchronize() calls; the figure is the mean wall time.
float32 matmul and convolution run without TF32, as Cake's do by default."""
import time

import torch
import torch.nn.functional as F


def time_ms(run, reps):
    run()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        run()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1000.0 / reps


def report(name, ms):
    print(f"{name} {ms:.4f}", flush=True)


def conv_autoencoder_epoch(dev):
    """bench_cuda's conv_ae_epoch_60k: the same network (algorithms/networks/autoencoder.cpp's
    ConvAutoencoder, latent 16), 60,000 images on the GPU, batches of 256, MSE, Adam 1e-3."""
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=0), nn.ReLU(), nn.Flatten(), nn.Linear(288, 64), nn.ReLU(),
        nn.Linear(64, 16),
        nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 288), nn.ReLU(), nn.Unflatten(1, (32, 3, 3)),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=0, output_padding=0), nn.ReLU(),
        nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid()).to(dev)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.rand(60000, 1, 28, 28, device=dev)

    def epoch():
        for start in range(0, images.shape[0], 256):
            batch = images[start:start + 256]
            adam.zero_grad()
            F.mse_loss(model(batch), batch).backward()
            adam.step()

    with torch.enable_grad():
        report("conv_ae_epoch_60k", time_ms(epoch, 3))


def main():
    if not torch.cuda.is_available():
        print("peer_cuda: no CUDA device")
        raise SystemExit(77)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    dev = torch.device("cuda")
    torch.manual_seed(0)
    with torch.no_grad():
        n = 1 << 28
        a, b = torch.randn(n, device=dev), torch.randn(n, device=dev)
        out = torch.empty(n, device=dev)
        report("copy_256M_f32", time_ms(lambda: out.copy_(a), 20))
        report("add_256M_f32", time_ms(lambda: torch.add(a, b), 20))
        report("mul_256M_f32", time_ms(lambda: torch.mul(a, b), 20))
        report("sum_256M_f32", time_ms(lambda: a.sum(), 20))
        del a, b, out
        torch.cuda.empty_cache()

        a, b = torch.randn(4096, 4096, device=dev), torch.randn(4096, 4096, device=dev)
        report("gemm_4096_f32", time_ms(lambda: a @ b, 10))
        a16, b16 = a.bfloat16(), b.bfloat16()
        report("gemm_4096_bf16", time_ms(lambda: a16 @ b16, 10))
        del a, b, a16, b16
        torch.cuda.empty_cache()

        n, d, k = 1 << 20, 128, 1024
        x, centres = torch.randn(n, d, device=dev), torch.randn(k, d, device=dev)

        def kmeans_iteration():
            # Distances by the same expansion as Cake's: |x|^2 + |c|^2 - 2 x.c, clamped at 0.
            dist = (x.square().sum(1, keepdim=True) + centres.square().sum(1) - 2.0 * x @ centres.T).clamp_(min=0)
            labels = dist.argmin(1)
            sums = torch.zeros_like(centres).index_add_(0, labels, x)
            counts = torch.bincount(labels, minlength=k)
            return sums / counts.clamp(min=1).to(torch.float32).unsqueeze(1)

        report("kmeans_iter_1M_128_1024", time_ms(kmeans_iteration, 5))
        dist = (x.square().sum(1, keepdim=True) + centres.square().sum(1) - 2.0 * x @ centres.T).clamp_(min=0)
        labels = dist.argmin(1)
        report("kmeans_part_distances", time_ms(
            lambda: (x.square().sum(1, keepdim=True) + centres.square().sum(1) - 2.0 * x @ centres.T).clamp_(min=0), 5))
        torch.backends.cuda.matmul.allow_tf32 = True
        report("kmeans_part_distances_tf32", time_ms(
            lambda: (x.square().sum(1, keepdim=True) + centres.square().sum(1) - 2.0 * x @ centres.T).clamp_(min=0), 5))
        report("kmeans_iter_tf32", time_ms(kmeans_iteration, 5))
        torch.backends.cuda.matmul.allow_tf32 = False
        report("kmeans_part_argmin", time_ms(lambda: dist.min(1), 5))
        report("kmeans_part_index_add", time_ms(lambda: torch.zeros_like(centres).index_add_(0, labels, x), 5))
        del dist, labels
        del x, centres
        torch.cuda.empty_cache()

        conv_autoencoder_epoch(dev)
        torch.cuda.empty_cache()

        x, w = torch.randn(256, 32, 28, 28, device=dev), torch.randn(64, 32, 3, 3, device=dev)
        bias = torch.randn(64, device=dev)
        y = F.conv2d(x, w, bias, stride=2, padding=1)
        gy = torch.randn_like(y)
        report("conv2d_fwd_256x32x28x28_k3s2", time_ms(lambda: F.conv2d(x, w, bias, stride=2, padding=1), 20))

        def conv_backward():
            torch.ops.aten.convolution_backward(gy, x, w, [64], [2, 2], [1, 1], [1, 1], False, [0, 0], 1,
                                                [True, True, True])

        report("conv2d_bwd_256x32x28x28_k3s2", time_ms(conv_backward, 20))
        report("max_pool2d_256x32x28x28", time_ms(lambda: F.max_pool2d(x, 2, return_indices=True), 20))
        report("batch_norm_256x32x28x28", time_ms(lambda: F.batch_norm(x, None, None, training=True), 20))
        logits = torch.randn(65536, 1024, device=dev)
        report("softmax_65536x1024", time_ms(lambda: torch.softmax(logits, 1), 20))
        del x, w, bias, y, gy, logits
        torch.cuda.empty_cache()

        # bench_cuda's lstm_fwd_bwd_T50_B32_128_256: a 2-layer LSTM (cuDNN's fused cells here),
        # forward and the gradients of the input and the weights.
        torch.manual_seed(0)
        lstm = torch.nn.LSTM(128, 256, num_layers=2).to(dev)
        seq = torch.randn(50, 32, 128, device=dev, requires_grad=True)
        grad_out = torch.randn(50, 32, 256, device=dev)
        inputs = list(lstm.parameters()) + [seq]
        report("lstm_fwd_bwd_T50_B32_128_256",
               time_ms(lambda: torch.autograd.grad(lstm(seq)[0], inputs, grad_out), 20))


if __name__ == "__main__":
    main()
