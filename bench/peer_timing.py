"""peer_timing.py: the timing loop the PyTorch peers share (peer_conv.py, peer_spatial.py,
peer_recurrent.py, peer_train_step.py), the same protocol as their Google Benchmark
counterparts: untimed warm-up calls, then `repetitions` repetitions, each of as many calls as
fill `min_seconds` (counted from one timed call); per call, the median and the least wall time
over the repetitions, and the median process CPU time (all threads: on a loaded machine, the
work done).

    from peer_timing import time_step
    median_s, best_s, cpu_s = time_step(step, warmup=5, min_seconds=0.5, repetitions=5)
    run_cases(cases)      # cases() -> [(name, step), ...]; prints a line per case for run_pair.sh
"""
import os
import statistics
import time


def time_step(step, warmup, min_seconds, repetitions):
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    step()
    once = time.perf_counter() - start
    iterations = max(1, int(min_seconds / max(once, 1e-6)))
    wall, cpu = [], []
    for _ in range(repetitions):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(iterations):
            step()
        wall.append((time.perf_counter() - start) / iterations)
        cpu.append((time.process_time() - start_cpu) / iterations)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def run_cases(cases, warmup=5, min_seconds=0.5, repetitions=5):
    """Times each (name, step) of `cases` on CAKE_BENCH_THREADS threads (default 2, as the Google
    Benchmark programs) and prints "name median_ms best_ms cpu_ms", the lines run_pair.sh reads.
    `cases` is called after the thread count is set, so it builds its tensors under it."""
    import torch

    threads = int(os.environ.get("CAKE_BENCH_THREADS", "2"))
    torch.set_num_threads(threads)
    print(f"# torch {torch.__version__}, {threads} threads")
    for name, step in cases():
        median, best, cpu = time_step(step, warmup=warmup, min_seconds=min_seconds, repetitions=repetitions)
        print(f"{name} {median * 1e3:.3f} {best * 1e3:.3f} {cpu * 1e3:.3f}", flush=True)
