"""Training and scoring speed of FMRLRec on synthetic sequences (no data files needed).

Prints, for each configuration, the training step time and sequences per second, and the time
of one forward pass that scores every item at all Matryoshka sizes against one pass per size
(a separately sliced model per size, `FMRLRec.sliced`), measured in the same run.

Usage:
    python examples/benchmark_fmrlrec.py              # tested sizes and the paper's sizes
    python examples/benchmark_fmrlrec.py --quick      # tested sizes only
"""

import argparse
import time

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
from tfrec.models.fmrlrec import FMRLRec

import numpy as np
import tensorflow as tf
import tf_keras as keras

CONFIGS = {
    # name: (num_items, sizes, max_len, batch, text_dim, image_dim)
    "tested (Beauty, width 64)": (12101, [8, 16, 32, 64], 20, 256, 384, 0),
    "tested (ML-100K, width 64)": (1682, [8, 16, 32, 64], 50, 128, 384, 1280),
    "paper (Beauty, width 1024)": (12101, [8, 16, 32, 64, 128, 256, 512, 1024], 50, 32, 1024, 1024),
}


def _timed(function, repeats):
    function()  # trace and warm up
    started = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - started) / repeats


def benchmark(name, num_items, sizes, max_len, batch, text_dim, image_dim, repeats):
    rng = np.random.default_rng(0)
    model = FMRLRec(
        num_items,
        sizes,
        item_text_features=rng.normal(size=(num_items, text_dim)).astype(np.float32),
        item_image_features=(
            rng.random((num_items, image_dim)).astype(np.float32) if image_dim else None
        ),
    )
    model.compile(optimizer=keras.optimizers.AdamW(1e-3))
    lengths = rng.integers(3, max_len + 1, size=batch)
    inputs = rng.integers(1, num_items + 1, size=(batch, max_len))
    inputs[np.arange(max_len)[None, :] < (max_len - lengths)[:, None]] = 0
    labels = np.where(inputs > 0, rng.integers(1, num_items + 1, size=inputs.shape), 0)
    data = (tf.constant(inputs), tf.constant(labels))
    train_step = tf.function(model.train_step)
    step = _timed(lambda: train_step(data), repeats)
    print(f"{name}: {num_items} items, sizes {sizes}, max_len {max_len}, batch {batch}")
    print(f"  training step {step * 1000:8.1f} ms   {batch / step:8.1f} sequences/s")

    all_sizes = tf.function(lambda x: model(x, training=False))
    one_pass = _timed(lambda: all_sizes(data[0]), repeats)
    sliced = [tf.function(model.sliced(size)) for size in sizes[:-1]] + [all_sizes]
    per_size = _timed(lambda: [f(data[0]) for f in sliced], repeats)
    print(
        f"  scoring all {len(sizes)} sizes: one pass {one_pass * 1000:8.1f} ms, one pass per "
        f"size {per_size * 1000:8.1f} ms (ratio {per_size / one_pass:.2f}x)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Tested sizes only.")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        f"TensorFlow {tf.__version__}, {len(tf.config.list_physical_devices('CPU'))} CPU device(s)"
    )
    for name, config in CONFIGS.items():
        if args.quick and name.startswith("paper"):
            continue
        benchmark(name, *config, repeats=args.repeats)


if __name__ == "__main__":
    main()
