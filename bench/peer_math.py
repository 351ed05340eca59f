#!/usr/bin/python3
"""peer_math.py: PyTorch 1.13 (CPU, 2 threads) timing of the same work as bench_math.cpp.

Elementwise special functions over 4M float32 elements; scans, median and quantile along the
rows of 1024 x 1024; searchsorted of 1M values in 1M sorted ones; multinomial from 1000 rows of
1000 weights. The inputs have bench_math.cpp's distributions. Each case: warm-up, then 5
repetitions of >= 0.5 s (peer_timing.py); one line per case, "name median_ms best_ms cpu_ms".

    /usr/bin/python3 bench/peer_math.py            # Debian's python3-torch
"""
import torch

from peer_timing import run_cases

ELEMENTS, ROWS = 1 << 22, 1024


def cases():
    torch.manual_seed(0)
    gamma_arguments = torch.rand(ELEMENTS) * 9.9 + 0.1
    inside_unit = torch.rand(ELEMENTS) * 1.98 - 0.99
    a, b = torch.randn(ELEMENTS), torch.randn(ELEMENTS)
    matrix = torch.randn(ROWS, ROWS)
    near_one = torch.rand(ROWS, ROWS) * 0.02 + 0.99
    sorted_values = torch.rand(1 << 20).sort().values
    points = torch.rand(1 << 20)
    weights = torch.rand(1000, 1000)
    positive = torch.rand(ELEMENTS) + 0.5
    table = [
        ("exp", lambda: torch.exp(a)),
        ("log", lambda: torch.log(positive)),
        ("tanh", lambda: torch.tanh(a)),
        ("sigmoid", lambda: torch.sigmoid(a)),
        ("sin", lambda: torch.sin(a)),
        ("pow", lambda: torch.pow(positive, b)),
        ("softmax_rows", lambda: torch.softmax(matrix, 1)),
        ("lgamma", lambda: torch.lgamma(gamma_arguments)),
        ("digamma", lambda: torch.digamma(gamma_arguments)),
        ("erfinv", lambda: torch.erfinv(inside_unit)),
        ("tan", lambda: torch.tan(inside_unit)),
        ("atan2", lambda: torch.atan2(a, b)),
        ("logaddexp", lambda: torch.logaddexp(a, b)),
        ("cumprod_rows", lambda: torch.cumprod(near_one, 1)),
        ("cumprod_columns", lambda: torch.cumprod(near_one, 0)),
        ("cummax_rows", lambda: torch.cummax(matrix, 1).values),
        ("logcumsumexp_rows", lambda: torch.logcumsumexp(matrix, 1)),
        ("median_rows", lambda: torch.median(matrix, 1).values),
        ("quantile_rows", lambda: torch.quantile(matrix, 0.3, dim=1)),
        ("tril", lambda: torch.tril(matrix)),
        ("searchsorted", lambda: torch.searchsorted(sorted_values, points)),
        ("multinomial_with_replacement", lambda: torch.multinomial(weights, 100, True)),
        ("multinomial_without_replacement", lambda: torch.multinomial(weights, 10, False)),
    ]

    def no_grad(step):
        def run():
            with torch.no_grad():
                return step()
        return run

    return [(name, no_grad(step)) for name, step in table]


if __name__ == "__main__":
    run_cases(cases)
