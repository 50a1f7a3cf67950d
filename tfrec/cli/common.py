"""Options and helpers shared by the ``tfrec train`` sub-commands."""

import argparse
import json
import os
import pathlib
import random
import tempfile

import numpy as np

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def add_common_arguments(
    parser, default_dataset: str, datasets, default_batch_size: int | None = 500
):
    """Adds --dataset --data-dir --download --epochs --batch-size --learning-rate --seed
    --precision --export-dir --no-export --metrics-out --verbose to an argparse parser."""
    parser.add_argument("--dataset", default=default_dataset, choices=list(datasets))
    parser.add_argument(
        "--data-dir",
        default=None,
        help="Folder holding the dataset files (default: $TFREC_DATA_DIR/<dataset>, then "
        "../shared/data/<dataset>).",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="Download the official archive (checksum verified) when no local folder is found.",
    )
    parser.add_argument("--cache-dir", default=None, help="Download cache (default ~/.keras).")
    parser.add_argument("--epochs", type=int, default=None, help="Training epochs.")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=default_batch_size,
        help="Global batch"
        + (
            f" (default {default_batch_size})."
            if default_batch_size
            else " (default: chosen from the number of training interactions)."
        ),
    )
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=98765)
    parser.add_argument("--precision", default="float32", choices=PRECISIONS)
    parser.add_argument(
        "--export-dir",
        default=None,
        help="TF Serving model folder; a new numbered version is written inside "
        "(default: saved_models/<model>).",
    )
    parser.add_argument("--no-export", action="store_true", help="Skip the SavedModel export.")
    parser.add_argument("--metrics-out", default=None, help="Write the metrics as JSON here.")
    parser.add_argument(
        "--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras verbosity."
    )


def positive_int(name: str, value) -> int:
    """Returns `value` as an int, raising ValueError naming the option if it is not >= 1."""
    if value is None or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}.")
    return int(value)


def set_seed(seed: int) -> None:
    """Seeds Python, numpy and TensorFlow (`tf_keras.utils.set_random_seed`)."""
    import tf_keras as keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def apply_precision(precision: str) -> None:
    """Sets the global Keras mixed precision policy (``float32`` restores full precision)."""
    import tf_keras as keras

    if precision not in PRECISIONS:
        raise ValueError(f"--precision must be one of {PRECISIONS}, got {precision!r}.")
    keras.mixed_precision.set_global_policy(precision)


def write_metrics(path, payload: dict) -> None:
    """Writes `payload` as JSON to `path` atomically (temporary file, then rename)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(payload, stream, indent=2, sort_keys=True)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def print_table(title: str, rows) -> None:
    """Prints ``name  value`` rows under a title."""
    print(title)
    for name, value in rows:
        print(f"  {name:<12} {value:.4f}" if isinstance(value, float) else f"  {name:<12} {value}")


# === Execution speed (Keras compile settings that keep the numerics) ===


def add_execution_arguments(parser, steps_per_execution: int, jit_compile: bool) -> None:
    """Adds --steps-per-execution and --jit-compile/--no-jit-compile with a model's fast defaults.

    The defaults are the settings `examples/benchmark_training.py` measured fastest for the
    command's model on CPU (README, "Training speed").
    """
    group = parser.add_argument_group("execution speed")
    group.add_argument(
        "--steps-per-execution",
        type=int,
        default=steps_per_execution,
        help="Batches run by one call of the compiled training function (Keras `compile`'s "
        "steps_per_execution): fewer Python round trips per epoch, the same updates; the "
        f"progress bar and batch callbacks update every N batches. Default {steps_per_execution}.",
    )
    group.add_argument(
        "--jit-compile",
        action=argparse.BooleanOptionalAction,
        default=jit_compile,
        help="Compile the training step with XLA (Keras `compile`'s jit_compile). Fuses the "
        "step's ops into one program; same model, float-rounding differences only. Default "
        f"{'on' if jit_compile else 'off'} for this model (measured on CPU).",
    )


def compile_options(args) -> dict:
    """`compile` keyword arguments from --steps-per-execution and --jit-compile."""
    return {
        "steps_per_execution": positive_int("--steps-per-execution", args.steps_per_execution),
        "jit_compile": bool(args.jit_compile),
    }


# === Scaling (distributed training, warmup, linear scaling rule) ===

SCALING_RULES = ("linear", "sqrt", "none")


def add_learning_rate_scaling_arguments(group) -> None:
    """Adds --base-batch-size --lr-scaling --warmup-epochs to an argparse group."""
    group.add_argument(
        "--base-batch-size",
        type=int,
        default=None,
        help="Batch size --learning-rate was tuned at (default: --batch-size, i.e. no scaling).",
    )
    group.add_argument(
        "--lr-scaling",
        default="linear",
        choices=SCALING_RULES,
        help="How the rate grows with global batch / base batch: linear (Goyal), sqrt, none.",
    )
    group.add_argument(
        "--warmup-epochs",
        type=float,
        default=0.0,
        help="Ramp the rate linearly per step from --learning-rate to the scaled rate over this "
        "many epochs (Goyal et al. use 5). Default 0.",
    )


def add_scaling_arguments(parser) -> None:
    """Adds --distribute --base-batch-size --lr-scaling --warmup-epochs --threads-per-worker."""
    from tfrec.distribute import DISTRIBUTE_KINDS

    group = parser.add_argument_group("scaling (Goyal et al., 2017)")
    group.add_argument(
        "--distribute",
        default="none",
        choices=DISTRIBUTE_KINDS,
        help="none: one process; horovod: launch with `horovodrun -np N tfrec train ...`; "
        "multiworker: tf.distribute.MultiWorkerMirroredStrategy, one process per TF_CONFIG task. "
        "--batch-size stays the global batch and is split evenly across workers.",
    )
    add_learning_rate_scaling_arguments(group)
    group.add_argument(
        "--threads-per-worker",
        type=int,
        default=None,
        help="TensorFlow threads per worker (e.g. cores / workers when workers share a machine).",
    )


def make_distribute_context(args):
    """Creates the `tfrec.distribute` context named by --distribute (before any TF op)."""
    from tfrec.distribute import make_context

    if args.threads_per_worker is not None:
        positive_int("--threads-per-worker", args.threads_per_worker)
    return make_context(args.distribute, threads=args.threads_per_worker)


def local_batch_size(args, context) -> int:
    """The per-worker batch: --batch-size (global) / world size, which must divide evenly."""
    global_batch = positive_int("--batch-size", args.batch_size)
    if global_batch % context.world_size:
        raise ValueError(
            f"--batch-size {global_batch} (global) must be divisible by the world size "
            f"{context.world_size}."
        )
    return global_batch // context.world_size


def learning_rate_schedule(args, steps_per_epoch: int):
    """`LinearScalingWarmup` from --learning-rate/--base-batch-size/--lr-scaling/--warmup-epochs.

    Returns the plain float --learning-rate when there is nothing to scale or warm up.
    """
    from tfrec.schedules import LinearScalingWarmup

    base_batch = positive_int("--base-batch-size", args.base_batch_size or args.batch_size)
    if args.warmup_epochs < 0:
        raise ValueError(f"--warmup-epochs must be >= 0, got {args.warmup_epochs}.")
    if base_batch == args.batch_size and not args.warmup_epochs:
        return args.learning_rate
    return LinearScalingWarmup(
        args.learning_rate,
        base_batch_size=base_batch,
        global_batch_size=args.batch_size,
        scaling_rule=args.lr_scaling,
        warmup_epochs=args.warmup_epochs,
        steps_per_epoch=steps_per_epoch,
    )
