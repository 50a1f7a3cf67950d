"""Where one fMRLRec top-k request at batch 1 spends its time, at width 1,024.

Times each part of a serving request on its own (`tf.function`s, median of `--repeats` calls
after two warm-up calls): encoding a history over all positions, from the last position only,
and from the last position with the block masks folded into the kernels (`FMRLRec.sliced`);
the score product against the item table; top-k; and, for scale, one numpy pass over the item
table (memory bandwidth). Prints the 1-minute load average and TensorFlow's fp32 matmul rate
measured in the same run. The model is untrained (timings do not depend on the weights) over
random text features of the Beauty catalogue's size.

    .venv/bin/python examples/profile_fmrlrec_serving.py
"""

import argparse
import os
import time

import tfrec  # noqa: F401  (selects tf_keras)
from tfrec.models.fmrlrec import FMRLRec
from tfrec.utils.machine import matmul_rate

import numpy as np
import tensorflow as tf


def median_ms(function, repeats: int) -> float:
    function()
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1e3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-items", type=int, default=12101, help="Beauty's catalogue.")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--max-len", type=int, default=20)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(f"1-minute load average at start: {os.getloadavg()[0]:.2f}")
    rate = matmul_rate(500, 600, 3690)
    print(f"fp32 matmul rate: {rate:.1f} GFLOP/s at [500 x 600] . [600 x 3690]")

    rng = np.random.default_rng(0)
    text = rng.normal(size=(args.num_items, 384)).astype(np.float32)
    sizes = [s for s in (8, 16, 32, 64, 128, 256, 512, 1024) if s < args.width] + [args.width]
    model = FMRLRec(args.num_items, sizes, item_text_features=text, item_id_embedding_dim=sizes[-1])
    history = tf.constant(rng.integers(1, args.num_items, size=(1, args.max_len)), tf.int64)
    model(history)
    deployed = model.sliced(sizes[-1])  # block masks folded into the kernels
    items = tf.constant(model.item_representations())
    weights = sum(int(np.prod(w.shape)) for block in model.blocks for w in block.weights)
    print(
        f"{model.num_blocks} block(s), {weights:,} block weights ({weights * 4 / 1e6:.0f} MB); "
        f"item table {items.shape[0]:,} x {items.shape[1]:,} "
        f"({items.shape.num_elements() * 4 / 1e6:.0f} MB)"
    )

    def encoder(m, last_only):
        return tf.function(
            lambda: m.encode(history, items, training=False, last_only=last_only)[:, -1]
        )

    hidden = encoder(deployed, True)()
    scores = deployed.scores(hidden, items)
    table = np.ones(items.shape, np.float32)
    parts = [
        ("encode, all positions", encoder(model, False), args.repeats),
        ("encode, last position only", encoder(model, True), args.repeats),
        ("encode, last position only, block masks folded", encoder(deployed, True), args.repeats),
        (
            "score product [1 x d] . [d x items]",
            tf.function(lambda: deployed.scores(hidden, items)),
            args.repeats,
        ),
        (f"top-{args.k}", tf.function(lambda: tf.math.top_k(scores, args.k)), args.repeats),
        ("numpy: one pass over the item table", table.sum, max(args.repeats // 4, 5)),
    ]
    print("\n| part | median ms |\n|---|---|")
    for label, function, repeats in parts:
        print(f"| {label} | {median_ms(function, repeats):.3f} |", flush=True)


if __name__ == "__main__":
    main()
