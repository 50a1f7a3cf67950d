"""Flags shared by the ``tfrec`` sub-commands, each with one meaning and one check.

Values are checked by argparse ``type=`` functions as the command line is parsed, so a bad value
stops the command with a usage error naming the flag before any data is read. `print_error`
prints the one line of a user's mistake.
"""

import argparse
import sys

from tfrec.training.training_config import PRECISIONS, TrainingConfig


def _number(convert, accept, expected: str):
    """An argparse ``type=`` function: `convert` the text, then require `accept(value)`."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = expected  # argparse names the type in its messages
    return parse


# argparse ``type=`` functions; each raises `argparse.ArgumentTypeError` for a value it rejects.
positive_int = _number(int, lambda value: value >= 1, "a positive integer")
non_negative_int = _number(int, lambda value: value >= 0, "an integer >= 0")
non_negative_float = _number(float, lambda value: value >= 0, "a number >= 0")
positive_float = _number(float, lambda value: value > 0, "a number > 0")
fraction = _number(float, lambda value: 0 <= value < 1, "a number in [0, 1)")


def comma_separated(choices):
    """argparse type: a comma-separated list of `choices` (at least one).

    Args:
        choices: sequence of str. The accepted values.

    Returns:
        A function of the flag's text that returns the list of str, in the given order, and
        raises `argparse.ArgumentTypeError` for an empty list or a value not in `choices`.
    """

    def parse(text: str) -> list:
        items = [part.strip() for part in str(text).split(",") if part.strip()]
        unknown = sorted(set(items) - set(choices))
        if not items or unknown:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {', '.join(choices)}, got {text!r}"
            )
        return items

    return parse


def increasing_ints(text: str) -> list:
    """argparse type: comma-separated strictly increasing positive ints, e.g. ``16,32,64``.

    Args:
        text: str. The flag's value.

    Returns:
        list of int.

    Raises:
        argparse.ArgumentTypeError: for a non-integer, an empty list, a value < 1 or a value
            not above the one before.
    """
    try:
        values = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or values[0] < 1 or any(b <= a for a, b in zip(values, values[1:])):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated strictly increasing positive ints, got {text!r}"
        )
    return values


def add_data_arguments(parser, datasets, default_dataset: str, downloadable: bool) -> None:
    """Adds --dataset --data-dir (and --download --cache-dir for downloadable datasets).

    Args:
        parser: `argparse.ArgumentParser`. Gets a "data" argument group.
        datasets: sequence of str. The choices of --dataset.
        default_dataset: str. The default of --dataset.
        downloadable: bool. Add --download and --cache-dir.
    """
    group = parser.add_argument_group("data")
    group.add_argument("--dataset", default=default_dataset, choices=list(datasets))
    group.add_argument(
        "--data-dir",
        default=None,
        help="Folder holding the dataset files (default: $TFREC_DATA_DIR/<dataset>, then "
        "../shared/data/<dataset>).",
    )
    if downloadable:
        group.add_argument(
            "--download",
            action="store_true",
            help="Download the official archive (checksum verified) when no local folder is found.",
        )
        group.add_argument("--cache-dir", default=None, help="Download cache (default ~/.keras).")


def add_next_item_arguments(
    group,
    max_len: int | None,
    num_blocks: int,
    dropout_rate: float,
    weight_decay: float,
    r_min: float,
    r_max: float,
    mask_history: bool,
    all_windows: bool,
    adam_epsilon: float,
    decay_norms_and_biases: bool,
    max_len_help: str = "",
) -> None:
    """Adds the flags of the LRU next-item models (fmrlrec, lrurec) to `group`, with defaults.

    --max-len --num-blocks --dropout-rate --weight-decay --r-min --r-max --mask-history
    --all-windows --eval-batch-size --adam-epsilon --decay-norms-and-biases.

    Args:
        group: an argparse parser or argument group.
        max_len: int or None. Default of --max-len, in items; None: the experiment chooses
            per dataset, and `max_len_help` ends the flag's help, e.g.
            ``" (default: 50 on beauty)."``.
        num_blocks, dropout_rate, weight_decay, r_min, r_max, mask_history, all_windows,
            adam_epsilon, decay_norms_and_biases: the model's defaults of the flags of the
            same names (ints, floats, bools).
        max_len_help: str. See `max_len`. Default "".
    """

    def on_off(value: bool) -> str:
        return "on" if value else "off"

    group.add_argument(
        "--max-len",
        type=positive_int,
        default=max_len,
        help="History length in items" + (f" (default {max_len})." if max_len else max_len_help),
    )
    group.add_argument(
        "--num-blocks", type=positive_int, default=num_blocks, help=f"Default {num_blocks}."
    )
    group.add_argument(
        "--dropout-rate", type=fraction, default=dropout_rate, help=f"Default {dropout_rate:g}."
    )
    group.add_argument(
        "--weight-decay",
        type=non_negative_float,
        default=weight_decay,
        help=f"AdamW weight decay (default {weight_decay:g}).",
    )
    group.add_argument(
        "--r-min",
        type=non_negative_float,
        default=r_min,
        help=f"Smallest initial LRU eigenvalue modulus (default {r_min:g}).",
    )
    group.add_argument(
        "--r-max",
        type=non_negative_float,
        default=r_max,
        help=f"Largest initial LRU eigenvalue modulus (default {r_max:g}).",
    )
    group.add_argument(
        "--mask-history",
        action=argparse.BooleanOptionalAction,
        default=mask_history,
        help="Exclude items already in the history from the ranking and the export's "
        f"recommendations (LRURec does; fMRLRec does not). Default {on_off(mask_history)}.",
    )
    group.add_argument(
        "--all-windows",
        action=argparse.BooleanOptionalAction,
        default=all_windows,
        help="Train on every max-len window of long histories (a stride of max-len), not only "
        f"the last one. Default {on_off(all_windows)}.",
    )
    group.add_argument("--eval-batch-size", type=positive_int, default=512)
    group.add_argument(
        "--adam-epsilon",
        type=positive_float,
        default=adam_epsilon,
        help=f"AdamW's epsilon (default {adam_epsilon:g}).",
    )
    group.add_argument(
        "--decay-norms-and-biases",
        action=argparse.BooleanOptionalAction,
        default=decay_norms_and_biases,
        help="Apply --weight-decay to biases and layer norms too or, with --no-..., to weights "
        "only (the reference AdamW groups of fMRLRec and LRURec). Default "
        f"{on_off(decay_norms_and_biases)}.",
    )


def add_output_arguments(parser, model: str) -> None:
    """Adds --seed --export-dir --no-export --metrics-out --verbose.

    Args:
        parser: `argparse.ArgumentParser`. Gets an "output" argument group.
        model: str. The model's command name; the default export folder is
            ``saved_models/<model with - as _>``.
    """
    group = parser.add_argument_group("output")
    group.add_argument("--seed", type=int, default=98765, help="Seeds the split and training.")
    group.add_argument(
        "--export-dir",
        default=None,
        help="TF Serving model folder; a new numbered version is written inside (default: "
        f"saved_models/{model.replace('-', '_')}).",
    )
    group.add_argument("--no-export", action="store_true", help="Skip the SavedModel export.")
    group.add_argument("--metrics-out", default=None, help="Write the metrics as JSON here.")
    group.add_argument(
        "--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras verbosity (0: quiet)."
    )


def add_training_arguments(
    parser,
    epochs: int | None,
    batch_size: int | None,
    learning_rate: float,
    steps_per_execution: int,
    patience: int | None,
    distribute: bool,
    epochs_help: str | None = None,
) -> None:
    """Adds the flags of `fit`-trained models, with the model's defaults.

    --epochs --batch-size --learning-rate --patience --precision --checkpoint-dir
    --tensorboard-dir --profile-batch --steps-per-execution --jit-compile --base-batch-size
    --lr-scaling --warmup-epochs, and with `distribute` also --distribute --threads-per-worker.

    Args:
        parser: `argparse.ArgumentParser`. Gets "training", "execution speed" and "scaling"
            argument groups.
        epochs: int or None. Default of --epochs (None: the experiment's).
        batch_size: int or None. Default global batch, in examples (None: the experiment's).
        learning_rate: float. Default rate, at --base-batch-size.
        steps_per_execution: int. Default of --steps-per-execution, in batches.
        patience: int or None. Default early-stopping patience, in epochs (None: never).
        distribute: bool. Add --distribute and --threads-per-worker.
        epochs_help: str or None. Replaces the help of --epochs (for a model whose epochs are
            not passes over the data, or whose cap depends on it).
    """
    from tfrec.distribute import DISTRIBUTE_KINDS
    from tfrec.schedules.linear_scaling_warmup import SCALING_RULES

    group = parser.add_argument_group("training")
    group.add_argument(
        "--epochs",
        type=positive_int,
        default=epochs,
        help=epochs_help or f"Epoch cap (default {epochs}).",
    )
    group.add_argument(
        "--batch-size",
        type=positive_int,
        default=batch_size,
        help="Global batch"
        + (
            f" (default {batch_size})."
            if batch_size
            else " (default: chosen from the number of training interactions)."
        ),
    )
    group.add_argument(
        "--learning-rate",
        type=positive_float,
        default=learning_rate,
        help=f"Learning rate at --base-batch-size (default {learning_rate:g}).",
    )
    group.add_argument(
        "--patience",
        type=positive_int,
        default=patience,
        help="Stop after this many epochs without a better validation metric; the best epoch's "
        "weights are restored either way (default: "
        + (f"{patience})." if patience else "never stop early)."),
    )
    group.add_argument("--precision", default="float32", choices=PRECISIONS)
    group.add_argument(
        "--checkpoint-dir",
        default=None,
        help="Save the training state here every epoch; rerunning the same command with the "
        "same folder resumes a killed run. Removed once the run has finished.",
    )
    group.add_argument(
        "--tensorboard-dir",
        default=None,
        help="Write TensorBoard logs here: per epoch the loss, every validation metric, the "
        "learning rate (and Mult-VAE's KL weight beta). View with `tensorboard --logdir DIR`.",
    )
    group.add_argument(
        "--profile-batch",
        type=non_negative_int,
        default=0,
        help="Profile this training batch into --tensorboard-dir (default 0: off).",
    )
    group = parser.add_argument_group("execution speed")
    group.add_argument(
        "--steps-per-execution",
        type=positive_int,
        default=steps_per_execution,
        help="Batches run by one call of the compiled training function (Keras `compile`'s "
        "steps_per_execution): fewer Python round trips per epoch, the same updates; the "
        f"progress bar and batch callbacks update every N batches. Default {steps_per_execution}.",
    )
    group.add_argument(
        "--jit-compile",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Compile the training step with XLA (Keras `compile`'s jit_compile). Fuses the "
        "step's ops into one program; same model, float-rounding differences only. Default off "
        "(measured slower or unsupported for tfrec's models on CPU).",
    )
    group = parser.add_argument_group("scaling (Goyal et al., 2017)")
    if distribute:
        group.add_argument(
            "--distribute",
            default="none",
            choices=DISTRIBUTE_KINDS,
            help="none: one process; horovod: launch with `horovodrun -np N tfrec train ...`; "
            "multiworker: tf.distribute.MultiWorkerMirroredStrategy, one process per TF_CONFIG "
            "task. --batch-size stays the global batch and is split evenly across workers.",
        )
        group.add_argument(
            "--threads-per-worker",
            type=positive_int,
            default=None,
            help="TensorFlow threads per worker (e.g. cores / workers when workers share a "
            "machine).",
        )
    group.add_argument(
        "--base-batch-size",
        type=positive_int,
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
        type=non_negative_float,
        default=0.0,
        help="Ramp the rate linearly per step from --learning-rate to the scaled rate over this "
        "many epochs (Goyal et al. use 5). Default 0.",
    )


def training_config(args) -> TrainingConfig:
    """The `TrainingConfig` of parsed arguments (flags a command lacks keep their defaults).

    Args:
        args: `argparse.Namespace` of a ``tfrec train`` command (it must have ``no_export``).

    Returns:
        `tfrec.training.TrainingConfig`, not yet validated.
    """
    import dataclasses

    values = {}
    for field in dataclasses.fields(TrainingConfig):
        if hasattr(args, field.name):
            values[field.name] = getattr(args, field.name)
    values["export"] = not args.no_export
    return TrainingConfig(**values)


def print_error(error) -> None:
    """Prints a user's mistake as one ``tfrec: error:`` line on stderr, whatever it holds.

    Args:
        error: the exception (or any object); its text's whitespace runs become one space.
    """
    message = " ".join(str(error).split())
    print(f"tfrec: error: {message}", file=sys.stderr)
