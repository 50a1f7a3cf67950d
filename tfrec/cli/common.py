"""Options and helpers shared by the ``tfrec train`` sub-commands."""

import json
import os
import pathlib
import random
import tempfile

import numpy as np

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def add_common_arguments(parser, default_dataset: str, datasets, default_batch_size: int = 500):
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
    parser.add_argument("--batch-size", type=int, default=default_batch_size, help="Global batch.")
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
    parser.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras verbosity.")


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
