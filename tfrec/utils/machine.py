"""The machine a run trained on: its fp32 matmul rate and load, recorded beside durations.

A training time means little on a shared CPU without the rate the machine delivered at that
moment; `tfrec.training.run_experiment` stores both in every metrics file, and the benchmarks
in ``examples/`` quote their speeds beside the same measurement.
"""

import os
import time

# A square product large enough to reach the BLAS rate on a CPU, short enough (about 20 ms at
# 100 GFLOP/s) to repeat many times within the measuring window.
SQUARE = 1024


def matmul_rate(m: int = SQUARE, k: int = SQUARE, n: int = SQUARE, seconds: float = 2.0) -> float:
    """Measures fp32 ``tf.matmul`` throughput on `[m, k] . [k, n]` (2mkn FLOPs a product).

    Three warm-up products are not timed; then products are repeated for `seconds`.

    Args:
        m, k, n: ints >= 1. The product's shape.
        seconds: float > 0. Length of the timed window, in seconds (at least one product runs).

    Returns:
        float. GFLOP/s (1e9 floating-point operations per second) over the timed window.
    """
    import tensorflow as tf

    a = tf.random.normal([m, k])
    b = tf.random.normal([k, n])
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    for _ in range(3):
        product().numpy()
    repeats, started = 0, time.perf_counter()
    while repeats == 0 or time.perf_counter() - started < seconds:
        product().numpy()
        repeats += 1
    return 2.0 * m * k * n * repeats / (time.perf_counter() - started) / 1e9


def load_average() -> float | None:
    """The 1-minute load average, or None where the platform has none (Windows)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def machine_snapshot(seconds: float = 0.5) -> dict:
    """The machine's fp32 matmul rate (`SQUARE`-sized product) and load average, now.

    Args:
        seconds: float > 0. How long to time the product.

    Returns:
        dict with ``fp32_matmul_gflops`` (float, GFLOP/s) and ``load_average`` (1-minute, or
        None).
    """
    load = load_average()  # before the measurement adds its own load
    return {"fp32_matmul_gflops": round(matmul_rate(seconds=seconds), 1), "load_average": load}


def describe_snapshot(snapshot: dict) -> str:
    """One line for a `machine_snapshot`, as runs and benchmarks print it.

    Args:
        snapshot: dict from `machine_snapshot`.

    Returns:
        str, e.g. ``"fp32 matmul 119.7 GFLOP/s, load average 0.33"``.
    """
    return (
        f"fp32 matmul {snapshot['fp32_matmul_gflops']} GFLOP/s, "
        f"load average {snapshot['load_average']}"
    )
