"""Training and scoring speed of FMRLRec on synthetic sequences (no data files needed).

Prints, for each configuration, the training step time and sequences per second, and the time
of one forward pass that scores every item at all Matryoshka sizes against one pass per size
(a separately sliced model per size, `FMRLRec.sliced`), measured in the same run.

With ``--widths``, it instead times the training step of the Beauty run of the README (text +
id features, batch 128, ``max_len`` 50, sizes 8 up to the width) on real Beauty batches at each
width, and projects the training time of a run to early stopping: (step time x updates a pass
(175) + one validation of every user (scoring at every size and a top 20, in batches of
1,024)) x ``--epochs`` (30: the width-64 run's best epoch 20 plus patience 10).

Every run prints the machine's fp32 matmul rate and load average before and after, so that the
times can be compared across runs as ratios to that rate.

Usage:
    python examples/benchmark_fmrlrec.py              # tested sizes and the paper's sizes
    python examples/benchmark_fmrlrec.py --quick      # tested sizes only
    python examples/benchmark_fmrlrec.py --widths 64,128,256   # projected run time by width
"""

import argparse
import functools
import time

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
from tfrec.models.fmrlrec import FMRLRec
from tfrec.utils.machine import describe_snapshot, machine_snapshot

import numpy as np
import tensorflow as tf
import tf_keras as keras

CONFIGS = {
    # name: (num_items, sizes, max_len, batch, text_dim, image_dim)
    "tested (Beauty, width 64)": (12101, [8, 16, 32, 64], 20, 256, 384, 0),
    "tested (ML-100K, width 64)": (1682, [8, 16, 32, 64], 50, 128, 384, 1280),
    "paper (Beauty, width 1024)": (12101, [8, 16, 32, 64, 128, 256, 512, 1024], 50, 32, 1024, 1024),
}


def _timed(calls):
    """Seconds per call of `calls[1:]`, zero-argument callables; `calls[0]` traces and warms up."""
    calls[0]()
    started = time.perf_counter()
    for call in calls[1:]:
        call()
    return (time.perf_counter() - started) / (len(calls) - 1)


def _repeated(function, repeats):
    return [function] * (repeats + 1)


def _model_and_batch(num_items, sizes, max_len, batch, text_dim, image_dim, id_dim=0):
    """An `FMRLRec` on random features and one random left-padded batch ``(inputs, labels)``."""
    rng = np.random.default_rng(0)
    model = FMRLRec(
        num_items,
        sizes,
        item_text_features=rng.normal(size=(num_items, text_dim)).astype(np.float32),
        item_image_features=(
            rng.random((num_items, image_dim)).astype(np.float32) if image_dim else None
        ),
        item_id_embedding_dim=id_dim,
    )
    model.compile(optimizer=keras.optimizers.AdamW(1e-3))
    return model, _random_batch(rng, num_items, max_len, batch)


def _random_batch(rng, num_items, max_len, batch):
    """Left-padded random histories `[batch, max_len]` (3 to max_len items) and their labels."""
    lengths = rng.integers(3, max_len + 1, size=batch)
    inputs = rng.integers(1, num_items + 1, size=(batch, max_len))
    inputs[np.arange(max_len)[None, :] < (max_len - lengths)[:, None]] = 0
    labels = np.where(inputs > 0, rng.integers(1, num_items + 1, size=inputs.shape), 0)
    return tf.constant(inputs), tf.constant(labels)


def _top_20(model, histories):
    """Scores at every size and the top 20 items of each, as a validation pass does."""
    return tf.math.top_k(model(histories, training=False), k=20).indices


def benchmark(name, num_items, sizes, max_len, batch, text_dim, image_dim, repeats):
    model, data = _model_and_batch(num_items, sizes, max_len, batch, text_dim, image_dim)
    train_step = tf.function(model.train_step)
    step = _timed(_repeated(lambda: train_step(data), repeats))
    print(f"{name}: {num_items} items, sizes {sizes}, max_len {max_len}, batch {batch}")
    print(f"  training step {step * 1000:8.1f} ms   {batch / step:8.1f} sequences/s")

    all_sizes = tf.function(lambda x: model(x, training=False))
    one_pass = _timed(_repeated(lambda: all_sizes(data[0]), repeats))
    sliced = [tf.function(model.sliced(size)) for size in sizes[:-1]] + [all_sizes]
    per_size = _timed(_repeated(lambda: [f(data[0]) for f in sliced], repeats))
    print(
        f"  scoring all {len(sizes)} sizes: one pass {one_pass * 1000:8.1f} ms, one pass per "
        f"size {per_size * 1000:8.1f} ms (ratio {per_size / one_pass:.2f}x)"
    )


def project_widths(widths, epochs, data_dir, repeats):
    """Prints Beauty text + id step and validation times by width, and a run's projected length.

    The training step runs on `repeats` real Beauty batches (tfrec's default windows, batch 128,
    ``max_len`` 50): its cost grows with the labelled positions, so random histories would
    overstate it. A validation pass is timed on random histories: a forward pass at every size
    and a top 20 over all items for every user, in batches of 1,024 (its cost does not depend
    on the histories' lengths).
    """
    from tfrec.training import NextItemExperiment

    experiment = NextItemExperiment("beauty", data_dir, features=("text", "id"))
    experiment.load(None, 0)
    text = experiment.tables["text"]
    num_items, num_users = experiment.split.num_items, experiment.split.num_users
    updates = experiment.steps_per_epoch(None, 128)
    rows = np.random.default_rng(0).permutation(len(experiment.inputs))[: 128 * (repeats + 1)]
    batches = [
        (tf.constant(experiment.inputs[part]), tf.constant(experiment.labels[part]))
        for part in np.split(rows, repeats + 1)
    ]
    histories, _ = _random_batch(np.random.default_rng(1), num_items, 50, 1024)
    print(
        f"Beauty text + id ({num_items} items, {text.shape[1]}-d text, batch 128, max_len 50): "
        f"a pass is {updates} updates and {num_users} validation users; {epochs} passes"
    )
    for width in widths:
        sizes = [2**e for e in range(3, width.bit_length()) if 2**e < width] + [width]
        model = FMRLRec(num_items, sizes, item_text_features=text, item_id_embedding_dim=width)
        model.compile(optimizer=keras.optimizers.AdamW(1e-3))
        train_step = tf.function(model.train_step)
        step = _timed([functools.partial(train_step, batch) for batch in batches])
        score = functools.partial(tf.function(functools.partial(_top_20, model)), histories)
        validation = _timed(_repeated(score, repeats)) * -(-num_users // 1024)
        one_pass = step * updates + validation
        print(
            f"  width {width:5d} (sizes {sizes[0]}-{width}): step {step * 1000:8.1f} ms, "
            f"validation {validation:6.1f} s, pass {one_pass:7.1f} s, "
            f"run {one_pass * epochs / 60:7.1f} min"
        )


def _widths(text):
    widths = [int(part) for part in text.split(",") if part.strip()]
    if not widths or any(width < 8 or width & (width - 1) for width in widths):
        raise argparse.ArgumentTypeError(f"widths must be powers of two >= 8, got {text!r}")
    return widths


def _print_machine(when):
    print(f"{when}: {describe_snapshot(machine_snapshot(seconds=2.0))}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Tested sizes only.")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--widths",
        type=_widths,
        help="Comma-separated powers of two: time the Beauty text + id step at each width and "
        "project a run's training time instead of the configurations above.",
    )
    parser.add_argument(
        "--epochs", type=int, default=30, help="Passes a run takes (--widths; default 30)."
    )
    parser.add_argument(
        "--data-dir",
        help="Amazon Beauty folder for --widths (default: $TFREC_DATA_DIR/amazon-beauty-p5, "
        "then ../shared/data/amazon-beauty-p5).",
    )
    args = parser.parse_args()
    print(
        f"TensorFlow {tf.__version__}, {len(tf.config.list_physical_devices('CPU'))} CPU device(s)"
    )
    _print_machine("before")
    if args.widths:
        project_widths(args.widths, args.epochs, args.data_dir, args.repeats)
    else:
        for name, config in CONFIGS.items():
            if args.quick and name.startswith("paper"):
                continue
            benchmark(name, *config, repeats=args.repeats)
    _print_machine("after")


if __name__ == "__main__":
    main()
