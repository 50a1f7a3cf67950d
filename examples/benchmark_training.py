"""Training, evaluation and serving speed of every tfrec model, beside this CPU's matmul rate.

One run measures, in this order:

1. the fp32 matmul rate of TensorFlow at the Mult-VAE output-layer shape
   ([500 x 600] . [600 x items of the ML-1M split]) and at 2048 x 2048 x 2048;
2. each model's time per training epoch, with the epochs of all models interleaved round-robin
   (so load from other processes falls on all of them alike), each epoch timed from its start
   to its end by a callback (not `fit`'s once-per-call set-up): the first epoch (tracing, graph
   building) is reported on its own, then the median of the others; throughput in users,
   triples or sequences per second; the matmul FLOPs of an epoch computed from the model's
   shapes, and the fraction of the measured matmul rate they run at. Workloads too large for
   whole epochs in a benchmark (marked ``~``) time a fixed number of steps and extrapolate;
3. full-ranking evaluation: Mult-VAE on the 600 ML-1M test users, fMRLRec on every Beauty user
   at every Matryoshka size;
4. SavedModel top-100 latency from a fresh process (no tfrec) after warm-up requests, p50 and
   p99 at batch 1 and 256 (`examples/serving_latency.py`);
5. with ``--ablation``, the speed levers one at a time against each model's default.

It prints markdown tables and writes everything as JSON (``--out``). CPU figures are not GPU
figures: only ratios measured in the same run mean much on a shared machine.

Usage:
    python examples/benchmark_training.py --out runs/benchmark.json
    python examples/benchmark_training.py --ablation --out runs/ablation.json
    python examples/benchmark_training.py --quick     # small shapes, seconds (used by tests)
"""

import argparse
import json
import os
import pathlib
import platform
import resource
import statistics
import sys
import tempfile
import time

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
from tfrec.data.heldout_users import split_heldout_users
from tfrec.data.interactions import Interactions
from tfrec.data.item_features import load_item_features
from tfrec.data.leave_one_out import split_leave_one_out
from tfrec.data.movielens import read_movielens
from tfrec.data.paths import resolve_data_dir
from tfrec.data.pipeline import sparse_user_batches
from tfrec.data.sequences import DATA_FOLDERS, next_item_examples, read_sequences
from tfrec.data.sequences import training_dataset as sequence_batches
from tfrec.data.triples import bpr_triples
from tfrec.models import BPRMF, VBPR, FMRLRec, MultDAE, MultVAE
from tfrec.optimizers import LazyAdam
from tfrec.utils.machine import matmul_rate  # fp32 GFLOP/s of tf.matmul on [m, k] . [k, n]

import numpy as np
import scipy.sparse as sp
import tensorflow as tf
import tf_keras as keras

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from serving_latency import measure_serving_latency  # noqa: E402

HIDDEN = 600  # Mult-VAE [I-600-200-600-I]
LATENT = 200


# --- workloads -------------------------------------------------------------------------------


class Workload:
    """One model on one dataset: `run_epoch(timer)` trains one epoch (or `steps` steps)."""

    def __init__(self, name, unit, units, flops, run_epoch, steps=None, steps_per_epoch=None):
        self.name = name
        self.unit = unit  # "users", "triples", "sequences"
        self.units = units  # per epoch
        self.flops = flops  # matmul FLOPs per epoch
        self.run_epoch = run_epoch
        self.steps = steps  # None: whole epochs; else timed steps, extrapolated
        self.steps_per_epoch = steps_per_epoch
        self.seconds = []

    def time_once(self):
        timer = EpochTimer()
        self.run_epoch(timer)
        seconds = timer.seconds
        if self.steps is not None:
            seconds *= self.steps_per_epoch / self.steps
        self.seconds.append(seconds)

    def result(self, rate):
        later = self.seconds[1:] or self.seconds
        epoch = statistics.median(later)
        return {
            "model": self.name,
            "first_epoch_s": self.seconds[0],
            "epoch_s": epoch,
            "epochs_timed": len(later),
            "extrapolated_from_steps": self.steps,
            "unit": self.unit,
            "per_second": self.units / epoch,
            "gflop_per_epoch": self.flops / 1e9,
            "gflop_per_s": self.flops / epoch / 1e9,
            "fraction_of_matmul_rate": self.flops / epoch / 1e9 / rate,
        }


class EpochTimer(keras.callbacks.Callback):
    """Times one epoch from `on_epoch_begin` to `on_epoch_end`: the epoch's data and steps,
    without the set-up `fit` does once per call (each timed epoch here is its own `fit` call,
    so that the models' epochs can be interleaved)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.started


def _fit(model, dataset, steps=None):
    def run(timer):
        model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer])

    return run


def autoencoder_flops(model_class, matrix, batch_size, max_density):
    """Matmul FLOPs of an epoch of Mult-VAE/DAE: forward, input and weight gradients.

    The first layer multiplies the sparse batch (2 x non-zeros x 600 per product) or a dense
    batch (2 x batch x items x 600), as `sparse_input_layer` chooses; it needs no input
    gradient. Every other layer costs 3 products (forward, input gradient, weight gradient).
    """
    users, items = matrix.shape
    first_width = HIDDEN
    density = matrix.nnz / (users * items)
    first = 2 * 2 * first_width * (matrix.nnz if density <= max_density else users * items)
    if model_class is MultVAE:
        dims = [(HIDDEN, 2 * LATENT), (LATENT, HIDDEN), (HIDDEN, items)]
    else:
        first = 2 * 2 * LATENT * (matrix.nnz if density <= max_density else users * items)
        dims = [(LATENT, items)]
    return first + 3 * 2 * users * sum(a * b for a, b in dims)


def mult_vae_workload(name, matrix, model_class=MultVAE, batch_size=500, steps=None, **compile):
    keras.utils.set_random_seed(0)
    model = model_class(matrix.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), **compile)
    dataset = sparse_user_batches(matrix, batch_size, seed=0)
    steps_per_epoch = int(np.ceil(matrix.shape[0] / batch_size))
    if steps is not None:
        dataset = dataset.repeat()
    flops = autoencoder_flops(model_class, matrix, batch_size, model.sparse_input_max_density)
    return Workload(
        name,
        "users",
        matrix.shape[0],
        flops,
        _fit(model, dataset, steps),
        steps=steps,
        steps_per_epoch=steps_per_epoch,
    ), model


def synthetic_interactions(num_users, num_items, interactions, seed=0):
    """A CSR matrix with `interactions` non-zeros, item popularity Zipf-like (as MovieLens)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, num_items + 1) ** 0.8
    items = rng.choice(num_items, size=interactions, p=popularity / popularity.sum())
    users = rng.integers(0, num_users, size=interactions)
    matrix = sp.csr_matrix(
        (np.ones(interactions, np.float32), (users, items)), shape=(num_users, num_items)
    )
    matrix.data[:] = 1.0
    return matrix


def bpr_flops(num_triples, num_factors, unique_items_per_step=0, feature_dim=0, visual=0):
    """Matmul-like FLOPs of a BPR epoch: the dot products (forward and two gradients) and, for
    VBPR, the projection E f of each step's unique items (forward and weight gradient)."""
    per_triple = 3 * 2 * 2 * (num_factors + visual)
    return num_triples * per_triple + unique_items_per_step * 2 * 2 * feature_dim * visual


def bpr_workload(name, split, batch_size, features=None, steps=None, optimizer="adam", **compile):
    keras.utils.set_random_seed(0)
    if features is None:
        model = BPRMF(split.num_users, split.num_items, num_factors=20)
    else:
        model = VBPR(split.num_users, split.num_items, features.shape[1], 10, 10)
        model.set_item_features(features)
    optimizer = LazyAdam(5e-3) if optimizer == "lazy-adam" else keras.optimizers.Adam(5e-3)
    model.compile(optimizer=optimizer, **compile)
    dataset = bpr_triples(split.train, batch_size, seed=0, candidate_items=split.warm_items)
    steps_per_epoch = len(dataset)
    num_triples = split.train.nnz
    unique = 0
    if features is not None:
        sample = next(iter(dataset))
        batch_items = np.concatenate([sample["positive_item"], sample["negative_item"]])
        unique = len(np.unique(batch_items)) * steps_per_epoch
    flops = bpr_flops(
        num_triples,
        model.num_factors,
        unique,
        0 if features is None else features.shape[1],
        model.num_visual_factors,
    )
    unit_name = "triples"
    return Workload(
        name, unit_name, num_triples, flops, _fit(model, dataset), steps_per_epoch=steps_per_epoch
    )


def large_bpr_workload(name, num_users, num_items, num_triples, batch_size, steps, optimizer):
    """BPR-MF on a synthetic catalogue too large to hold its triples: random triples, `steps`
    steps timed and extrapolated to an epoch of `num_triples`."""
    keras.utils.set_random_seed(0)
    model = BPRMF(num_users, num_items, num_factors=20)
    model.compile(
        optimizer=LazyAdam(5e-3) if optimizer == "lazy-adam" else keras.optimizers.Adam(5e-3),
        steps_per_execution=1,
    )

    def random_triples(seed):
        seeds = tf.random.experimental.stateless_split(tf.stack([seed, seed]), 3)
        users = tf.random.stateless_uniform([batch_size], seeds[0], 0, num_users, tf.int32)
        positives = tf.random.stateless_uniform([batch_size], seeds[1], 0, num_items, tf.int32)
        negatives = tf.random.stateless_uniform([batch_size], seeds[2], 0, num_items, tf.int32)
        return {"user": users, "positive_item": positives, "negative_item": negatives}

    dataset = tf.data.Dataset.range(10**9).map(random_triples).prefetch(tf.data.AUTOTUNE)
    steps_per_epoch = int(np.ceil(num_triples / batch_size))
    return Workload(
        name,
        "triples",
        num_triples,
        bpr_flops(num_triples, 20),
        _fit(model, dataset, steps),
        steps=steps,
        steps_per_epoch=steps_per_epoch,
    )


def fmrlrec_flops(model, inputs, labels, feature_dim, steps_per_epoch):
    """Matmul FLOPs of an fMRLRec epoch: the blocks' dense maps per token (3 products each),
    the full-softmax head per labelled position (the nested sizes sum to one full-width
    product; 3 products) and the projection of the whole catalogue's features each step
    (forward and weight gradient)."""
    d = model.matryoshka_sizes[-1]
    hidden = d * model.feed_forward_multiplier
    per_token = 2 * (4 * d * d + 3 * d * hidden) * model.num_blocks
    labelled = int((labels > 0).sum())
    return (
        3 * per_token * inputs.size
        + 3 * 2 * d * model.num_items * labelled
        + 2 * 2 * (model.num_items + 1) * feature_dim * d * steps_per_epoch
    )


def fmrlrec_workload(name, num_items, sizes, text, inputs, labels, batch_size, steps=None, **c):
    keras.utils.set_random_seed(0)
    model = FMRLRec(num_items, sizes, item_text_features=text, item_id_embedding_dim=sizes[-1])
    model.compile(optimizer=keras.optimizers.AdamW(1e-3, global_clipnorm=5.0), **c)
    dataset = sequence_batches(inputs, labels, batch_size, seed=0)
    steps_per_epoch = len(dataset)
    if steps is not None:
        dataset = dataset.repeat()
    flops = fmrlrec_flops(model, inputs, labels, text.shape[1] + sizes[-1], steps_per_epoch)
    return Workload(
        name,
        "sequences",
        len(inputs),
        flops,
        _fit(model, dataset, steps),
        steps=steps,
        steps_per_epoch=steps_per_epoch,
    ), model


# --- evaluation and serving ------------------------------------------------------------------


def time_call(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def serving_rows(export_dir, signatures, args):
    rows = []
    for signature in signatures:
        result = measure_serving_latency(
            export_dir,
            signature,
            batch_sizes=(1, 256),
            requests=args.serving_requests,
            warmup=20,
            k=100,
        )
        rows.append(result)
    return rows


# --- main ------------------------------------------------------------------------------------


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def run_rounds(workloads, epochs):
    for round_index in range(epochs):
        for workload in workloads:
            if len(workload.seconds) >= epochs:
                continue  # timed ahead of the rounds (see the ML-20M-shaped workload)
            workload.time_once()
            print(
                f"  round {round_index + 1}/{epochs}: {workload.name}: "
                f"{workload.seconds[-1]:.2f} s",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None, help="Folder of the datasets.")
    parser.add_argument(
        "--epochs", type=int, default=3, help="Epochs per model (the first is reported apart)."
    )
    parser.add_argument("--quick", action="store_true", help="Small shapes (for tests).")
    parser.add_argument("--ablation", action="store_true", help="Time the levers one by one.")
    parser.add_argument(
        "--serving-only",
        action="store_true",
        help="Only the SavedModel latency section (untrained models of the same shapes).",
    )
    parser.add_argument("--serving-requests", type=int, default=200)
    parser.add_argument("--out", default=None, help="Write the results as JSON here.")
    args = parser.parse_args()

    def folder(dataset):
        if args.data_root:
            return pathlib.Path(args.data_root) / dataset
        return resolve_data_dir(None, dataset)

    quick = args.quick
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    machine = {
        "load_average_at_start": load,
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "gpus": len(tf.config.list_physical_devices("GPU")),
    }
    print(f"Machine: {machine}")

    # Data.
    heldout = split_heldout_users(read_movielens("ml-1m", folder("ml-1m")), 600, 600, seed=98765)
    ml1m = heldout.train.matrix
    loo = split_leave_one_out(
        Interactions.from_frame(read_movielens("ml-1m", folder("ml-1m"))), seed=98765
    )
    images, _ = load_item_features(
        folder("ml-1m") / "image_features.npz", loo.item_ids, missing="zero", scaling="minmax"
    )
    beauty_folder = folder(DATA_FOLDERS["beauty"])
    beauty = read_sequences("beauty", beauty_folder)
    text, _ = load_item_features(beauty_folder / "text_features.npz", beauty.item_ids)
    seq_inputs, seq_labels = next_item_examples(beauty.training_sequences(), 20)

    # The input pipelines alone: one epoch of batches, no model (second pass: warm).
    pipelines = []
    for label, make in (
        []
        if args.serving_only
        else [
            ("sparse user rows, ML-1M, batch 500", lambda: sparse_user_batches(ml1m, 500, seed=0)),
            (
                "BPR triples, ML-1M, batch 1024",
                lambda: bpr_triples(loo.train, 1024, seed=0, candidate_items=loo.warm_items),
            ),
            (
                "BPR triples, ML-1M, batch 16384",
                lambda: bpr_triples(loo.train, 16384, seed=0, candidate_items=loo.warm_items),
            ),
            (
                "Beauty sequences, max_len 20, batch 256",
                lambda: sequence_batches(seq_inputs, seq_labels, 256, seed=0),
            ),
        ]
    ):
        dataset = make()
        time_call(lambda d=dataset: sum(1 for _ in d))
        pipelines.append(
            {"pipeline": label, "seconds": time_call(lambda d=dataset: sum(1 for _ in d))}
        )
        print(
            f"  input pipeline alone: {label}: {pipelines[-1]['seconds']:.3f} s/epoch", flush=True
        )

    output_rate = matmul_rate(500, HIDDEN, ml1m.shape[1])
    square_rate = matmul_rate(2048, 2048, 2048)
    print(
        f"fp32 matmul: {output_rate:.1f} GFLOP/s at [500 x 600] . [600 x {ml1m.shape[1]}], "
        f"{square_rate:.1f} GFLOP/s at 2048^3"
    )

    # Training workloads, interleaved.
    if quick:
        ml1m = ml1m[:1000]
        synthetic = synthetic_interactions(2000, 5000, 20000)
        seq_inputs, seq_labels = seq_inputs[:1024], seq_labels[:1024]
        large = (20000, 20000, 200000, 16384, 2)
        widths = [(64, [8, 16, 32, 64], None)]
    else:
        synthetic = synthetic_interactions(136677, 20108, 10_000_000)
        large = (1_000_000, 1_000_000, 20_000_000, 16384, 20)
        widths = [(64, [8, 16, 32, 64], None), (256, [32, 64, 128, 256], 10)]
        widths.append((1024, [8, 16, 32, 64, 128, 256, 512, 1024], 3))
    print(f"synthetic ML-20M shape: {synthetic.shape}, {synthetic.nnz} interactions")
    workloads = []
    # The ML-20M-shaped workload is built and run first, alone, so that the process's peak
    # memory after its first epoch is (nearly all) its own.
    big, _ = mult_vae_workload(
        "Mult-VAE synthetic ML-20M shape, batch 500", synthetic, steps_per_execution=10
    )
    big_peak_rss_mb = 0.0
    if not args.serving_only:
        big.time_once()
        big_peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"  Mult-VAE ML-20M shape: first epoch {big.seconds[0]:.1f} s, peak RSS "
            f"{big_peak_rss_mb:.0f} MB",
            flush=True,
        )
    vae, vae_model = mult_vae_workload("Mult-VAE ML-1M, batch 500", ml1m, steps_per_execution=10)
    dae, _ = mult_vae_workload("Mult-DAE ML-1M, batch 500", ml1m, MultDAE, steps_per_execution=10)
    workloads += [vae, dae, big]
    workloads.append(
        bpr_workload("BPR-MF K=20 ML-1M, batch 16384", loo, 16384, steps_per_execution=8)
    )
    workloads.append(
        bpr_workload("VBPR K=K'=10 ML-1M, batch 16384", loo, 16384, images, steps_per_execution=8)
    )
    fmrlrec_models = {}
    for width, sizes, steps in widths:
        workload, model = fmrlrec_workload(
            f"fMRLRec text+id Beauty, width {width}, max_len 20, batch 256",
            beauty.num_items,
            sizes,
            text,
            seq_inputs,
            seq_labels,
            256,
            steps=steps,
            steps_per_execution=4,
        )
        workloads.append(workload)
        fmrlrec_models[width] = model
    users, items, triples, batch, steps = large
    for optimizer in ("adam", "lazy-adam"):
        workloads.append(
            large_bpr_workload(
                f"BPR-MF K=20 synthetic {users:,} x {items:,}, {optimizer}",
                users,
                items,
                triples,
                batch,
                steps,
                optimizer,
            )
        )
    training = []
    if not args.serving_only:
        run_rounds(workloads, 2 if quick else args.epochs)
        training = [w.result(output_rate) for w in workloads]

    # Evaluation.
    from tfrec.metrics import evaluate_heldout_users
    from tfrec.metrics.next_item_evaluation import evaluate_next_item

    evaluation = []
    if not args.serving_only:
        seconds = time_call(
            lambda: evaluate_heldout_users(
                lambda x: vae_model(x, training=False).numpy(),
                heldout.test_fold_in,
                heldout.test_target,
                (20, 50),
                (100,),
            )
        )
        evaluation.append(
            {"evaluation": "Mult-VAE ML-1M, 600 test users, all items", "seconds": seconds}
        )
        from tfrec.metrics.leave_one_out_evaluation import evaluate_leave_one_out

        bpr_model = BPRMF(loo.num_users, loo.num_items, num_factors=20)
        seconds = time_call(
            lambda: evaluate_leave_one_out(
                lambda users: bpr_model.score_all_items(users).numpy(), loo, "validation", ks=()
            )
        )
        evaluation.append(
            {
                "evaluation": f"BPR-MF ML-1M validation AUC, {loo.num_users} users, all items "
                "(the per-epoch early-stopping check)",
                "seconds": seconds,
            }
        )
        histories, targets = beauty.evaluation_sequences("test")
        if quick:
            histories, targets = histories[:500], targets[:500]
        for width, model in fmrlrec_models.items():
            seconds = time_call(
                lambda m=model: evaluate_next_item(m, histories, targets, 20, 512, False)
            )
            evaluation.append(
                {
                    "evaluation": f"fMRLRec width {width}, {len(targets)} Beauty users, "
                    f"{len(model.matryoshka_sizes)} sizes, all items",
                    "seconds": seconds,
                }
            )

    # Serving.
    from tfrec.export import BPRServing, InteractionServing, SequenceServing, export_saved_model

    serving = []
    with tempfile.TemporaryDirectory() as scratch:
        module = InteractionServing(vae_model, heldout.item_ids, default_k=100)
        path = export_saved_model(
            module,
            pathlib.Path(scratch) / "mult_vae",
            signatures={"serving_default": module.serve},
            warmup_requests=module.warmup_requests(),
        )
        serving += serving_rows(path, ["serving_default"], args)
        bpr = BPRMF(loo.num_users, loo.num_items, num_factors=20)
        bpr({"user": [0], "item": [0]})
        module = BPRServing(bpr, loo.user_ids, loo.item_ids, loo.train, default_k=100)
        path = export_saved_model(
            module,
            pathlib.Path(scratch) / "bpr_mf",
            signatures=module.signatures(),
            warmup_requests=module.warmup_requests(),
        )
        serving += serving_rows(path, ["serving_default"], args)
        model = fmrlrec_models[max(fmrlrec_models)]
        model(tf.zeros([1, 20], tf.int64))  # built (untrained under --serving-only)
        module = SequenceServing(model, beauty.item_ids, max_len=20)
        path = export_saved_model(module, pathlib.Path(scratch) / "fmrlrec", module.signatures())
        sizes = model.matryoshka_sizes
        serving += serving_rows(
            path, [f"serving_size_{sizes[0]}", f"serving_size_{sizes[-1]}"], args
        )

    ablation = []
    if not args.serving_only:
        ablation = run_ablation(
            ml1m, loo, images, seq_inputs, seq_labels, beauty, text, args, quick
        )
    output_rate_end = matmul_rate(500, HIDDEN, heldout.num_items)

    print(f"\nMachine: {machine}")
    print(
        f"fp32 matmul rate: {output_rate:.1f} GFLOP/s at [500 x 600] . [600 x "
        f"{heldout.num_items}] (at the end of the run: {output_rate_end:.1f}), "
        f"{square_rate:.1f} GFLOP/s at 2048^3\n"
    )
    print(
        f"Peak RSS of the process after the ML-20M-shaped first epoch: {big_peak_rss_mb:.0f} MB\n"
    )
    print(
        markdown_table(
            [
                "model",
                "first epoch (s)",
                "s/epoch",
                "throughput",
                "GFLOP/epoch",
                "GFLOP/s",
                "of matmul rate",
            ],
            [
                [
                    r["model"],
                    f"{r['first_epoch_s']:.2f}",
                    ("~" if r["extrapolated_from_steps"] else "") + f"{r['epoch_s']:.2f}",
                    f"{r['per_second']:,.0f} {r['unit']}/s",
                    f"{r['gflop_per_epoch']:.1f}",
                    f"{r['gflop_per_s']:.1f}",
                    f"{r['fraction_of_matmul_rate']:.0%}",
                ]
                for r in training
            ],
        )
    )
    print()
    print(
        markdown_table(
            ["input pipeline alone", "s/epoch"],
            [[r["pipeline"], f"{r['seconds']:.3f}"] for r in pipelines],
        )
    )
    print()
    print(
        markdown_table(
            ["evaluation", "seconds"],
            [[r["evaluation"], f"{r['seconds']:.2f}"] for r in evaluation],
        )
    )
    print()
    print(
        markdown_table(
            ["export", "signature", "batch", "p50 ms", "p99 ms", "export MB"],
            [
                [
                    pathlib.Path(r["export_dir"]).parent.name,
                    r["signature"],
                    batch,
                    f"{stats['p50_ms']:.2f}",
                    f"{stats['p99_ms']:.2f}",
                    f"{r['export_size_mb']:.1f}",
                ]
                for r in serving
                for batch, stats in r["batches"].items()
            ],
        )
    )
    if ablation:
        print()
        print(
            markdown_table(
                ["model", "variant", "first epoch (s)", "s/epoch", "vs default"],
                [
                    [
                        r["model"],
                        r["variant"],
                        f"{r['first_epoch_s']:.2f}",
                        ("~" if r["extrapolated_from_steps"] else "") + f"{r['epoch_s']:.2f}",
                        f"{r['speedup_vs_default']:.2f}x",
                    ]
                    for r in ablation
                ],
            )
        )
    if args.out:
        out = pathlib.Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "machine": machine,
            "matmul_gflop_per_s": {
                "mult_vae_output_layer": output_rate,
                "square_2048": square_rate,
            },
            "training": training,
            "mult_vae_ml20m_shape_peak_rss_mb": big_peak_rss_mb,
            "input_pipelines": pipelines,
            "evaluation": evaluation,
            "serving": serving,
            "ablation": ablation,
        }
        out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
        print(f"\nWritten to {out}")


def run_ablation(ml1m, loo, images, seq_inputs, seq_labels, beauty, text, args, quick):
    """Each lever against its model's default, one change at a time, epochs interleaved."""
    if not args.ablation:
        return []
    variants = []

    def vae(label, max_density=None, **compile):
        keras.utils.set_random_seed(0)
        kwargs = {} if max_density is None else {"sparse_input_max_density": max_density}
        model = MultVAE(ml1m.shape[1], **kwargs)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), **compile)
        dataset = sparse_user_batches(ml1m, 500, seed=0)
        return (
            "Mult-VAE ML-1M",
            label,
            Workload(label, "users", ml1m.shape[0], 0, _fit(model, dataset)),
        )

    variants.append(
        vae(
            "default (steps_per_execution 10, dense first layer at 4.5% density)",
            steps_per_execution=10,
        )
    )
    variants.append(vae("steps_per_execution 1", steps_per_execution=1))
    variants.append(vae("sparse first layer (sparse_dense_matmul)", 1.0, steps_per_execution=10))

    def bpr(label, batch, features=None, optimizer="adam", **compile):
        workload = bpr_workload(label, loo, batch, features, optimizer=optimizer, **compile)
        return ("VBPR ML-1M" if features is not None else "BPR-MF ML-1M", label, workload)

    variants.append(
        bpr("default (batch 16384, steps_per_execution 8)", 16384, steps_per_execution=8)
    )
    variants.append(bpr("batch 1024 (the previous default)", 1024, steps_per_execution=8))
    variants.append(bpr("batch 1024, steps_per_execution 1", 1024, steps_per_execution=1))
    variants.append(bpr("steps_per_execution 1", 16384, steps_per_execution=1))
    variants.append(bpr("XLA (jit_compile)", 16384, steps_per_execution=8, jit_compile=True))
    variants.append(bpr("LazyAdam", 16384, optimizer="lazy-adam", steps_per_execution=8))
    variants.append(
        bpr("default (batch 16384, steps_per_execution 8)", 16384, images, steps_per_execution=8)
    )
    variants.append(bpr("batch 1024 (the previous default)", 1024, images, steps_per_execution=8))

    def fm(label, **compile):
        workload, _ = fmrlrec_workload(
            label,
            beauty.num_items,
            [8, 16, 32, 64],
            text,
            seq_inputs,
            seq_labels,
            256,
            steps=4 if quick else 24,
            **compile,
        )
        return ("fMRLRec Beauty width 64", label, workload)

    variants.append(fm("default (steps_per_execution 4)", steps_per_execution=4))
    variants.append(fm("steps_per_execution 1", steps_per_execution=1))
    variants.append(fm("XLA (jit_compile)", steps_per_execution=4, jit_compile=True))

    workloads = [workload for _, _, workload in variants]
    run_rounds(workloads, 2 if quick else args.epochs)
    rows, defaults = [], {}
    for model_name, label, workload in variants:
        later = workload.seconds[1:] or workload.seconds
        epoch = statistics.median(later)
        defaults.setdefault(model_name, epoch)
        rows.append(
            {
                "model": model_name,
                "variant": label,
                "first_epoch_s": workload.seconds[0],
                "epoch_s": epoch,
                "extrapolated_from_steps": workload.steps,
                "speedup_vs_default": defaults[model_name] / epoch,
            }
        )
    return rows


if __name__ == "__main__":
    main()
