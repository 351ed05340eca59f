#!/usr/bin/python3
"""peer_train_step.py: PyTorch 1.13 (CPU) timing of the same training steps as bench_train_step.cpp.

One step = zero_grad, forward, loss, backward, optimiser step, at batch 256 on 28x28 grey images:
  jule  conv5x5 1->50 (no bias), BN, ReLU, max-pool 2, conv5x5 50->50 (no bias), BN, ReLU,
        Linear 3200->160, L2 normalisation; MSE to a fixed target; SGD lr 0.01, momentum 0.9,
        weight decay 5e-5.
  vgg   fixed Sobel filter (grey -> 2 channels), [conv3x3 (no bias), BN, ReLU] x [32, 32] pool
        [64, 64] pool [128] pool, Linear 1152->512, ReLU, Dropout 0.5, Linear 512->512, ReLU,
        Linear 512->10; cross-entropy on fixed labels; SGD lr 0.05, momentum 0.9, weight decay 1e-5.
  dec   Linear 784-500-500-2000-10 with ReLUs, mirrored decoder, linear output (DEC's autoencoder);
        MSE to the input; SGD lr 0.01, momentum 0.9.
  n2d   the same network, Adam lr 1e-3 (N2D's optimiser; PyTorch's default Adam implementation).
Each: warm-up, then 3 repetitions of >= 1 s (peer_timing.py); prints "name median_ms best_ms cpu_ms" per net
(cpu = process CPU time per step, all threads).

    CAKE_BENCH_THREADS=2 /usr/bin/python3 bench/peer_train_step.py
"""
import os

import torch
from torch import nn

from peer_timing import time_step

BATCH = 256


def conv_bn_relu(cin, cout, k, padding):
    return [nn.Conv2d(cin, cout, k, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class JuleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*conv_bn_relu(1, 50, 5, 0), nn.MaxPool2d(2), *conv_bn_relu(50, 50, 5, 0),
                                  nn.Flatten(), nn.Linear(50 * 8 * 8, 160))

    def forward(self, x):
        y = self.body(x)
        return y / (y.square().sum(1, keepdim=True) + 1e-12).sqrt()


class VggNet(nn.Module):
    def __init__(self):
        super().__init__()
        sobel = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
        self.register_buffer("sobel", torch.stack([sobel, sobel.t()]).unsqueeze(1))
        self.features = nn.Sequential(*conv_bn_relu(2, 32, 3, 1), *conv_bn_relu(32, 32, 3, 1), nn.MaxPool2d(2),
                                      *conv_bn_relu(32, 64, 3, 1), *conv_bn_relu(64, 64, 3, 1), nn.MaxPool2d(2),
                                      *conv_bn_relu(64, 128, 3, 1), nn.MaxPool2d(2), nn.Flatten())
        self.classifier = nn.Sequential(nn.Linear(128 * 3 * 3, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 512))
        self.head = nn.Linear(512, 10)

    def forward(self, x):
        # The fixed Sobel filter is outside autograd, as Cake's (a transform of the images).
        with torch.no_grad():
            x = nn.functional.conv2d(x, self.sobel, padding=1)
        return self.head(self.classifier(self.features(x)).relu())


def dec_autoencoder():
    sizes = [784, 500, 500, 2000, 10]
    layers = []
    for path in (sizes, sizes[::-1]):
        for i in range(len(path) - 1):
            layers.append(nn.Linear(path[i], path[i + 1]))
            if i < len(path) - 2:
                layers.append(nn.ReLU())
    return nn.Sequential(nn.Flatten(), *layers, nn.Unflatten(1, (1, 28, 28)))


def make(name):
    torch.manual_seed(0)
    x = torch.rand(BATCH, 1, 28, 28)
    if name == "jule":
        net = JuleNet()
        target = torch.randn(BATCH, 160) * 0.1
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-5)
        loss_fn = lambda out: nn.functional.mse_loss(out, target)
    elif name == "dec":
        net = dec_autoencoder()
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        loss_fn = lambda out: nn.functional.mse_loss(out, x)
    elif name == "n2d":
        net = dec_autoencoder()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = lambda out: nn.functional.mse_loss(out, x)
    else:
        net = VggNet()
        labels = torch.randint(0, 10, (BATCH,))
        opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-5)
        loss_fn = lambda out: nn.functional.cross_entropy(out, labels)
    net.train()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def main():
    torch.set_num_threads(int(os.environ.get("CAKE_BENCH_THREADS", "2")))
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"mkldnn {torch.backends.mkldnn.is_available()}")
    for name in ("jule", "vgg", "dec", "n2d"):
        median, best, cpu = time_step(make(name), warmup=3, min_seconds=1.0, repetitions=3)
        print(f"{name} {median * 1e3:.2f} {best * 1e3:.2f} {cpu * 1e3:.2f}", flush=True)


if __name__ == "__main__":
    main()
