"""Entry point of the ``tfrec`` command.

Each trainable model is a sub-command of ``tfrec train``. Its flags live in a module of
``tfrec.cli`` that provides ``add_arguments(parser, model)`` and ``make_experiment(args)``; the
protocol is a `tfrec.training.Experiment` run by `tfrec.training.run_experiment`, the same for
every model. The table below maps sub-command names to those modules.

``tfrec recommend`` and ``tfrec evaluate`` query and evaluate an export, ``tfrec plot`` draws
training runs; their modules provide ``add_arguments(parser)`` and ``run(args)``, which returns
the exit status.
"""

import argparse
import importlib
import sys

# sub-command -> (module, one-line help). Several sub-commands share one module.
TRAIN_COMMANDS = {
    "mult-vae": ("tfrec.cli.train_autoencoder", "Mult-VAE (Liang et al., 2018)."),
    "mult-dae": ("tfrec.cli.train_autoencoder", "Mult-DAE (Liang et al., 2018)."),
    "ease": ("tfrec.cli.train_autoencoder", "EASE baseline (Steck, 2019)."),
    "popularity": ("tfrec.cli.train_autoencoder", "Popularity baseline."),
    "vbpr": ("tfrec.cli.train_bpr", "VBPR with item image features (He and McAuley, 2016)."),
    "bpr-mf": ("tfrec.cli.train_bpr", "BPR matrix factorisation (Rendle et al., 2009)."),
    "fmrlrec": (
        "tfrec.cli.train_fmrlrec",
        "fMRLRec, or its ID-only LRU ablation with --features id (Wang et al., 2024).",
    ),
    "lrurec": ("tfrec.cli.train_lrurec", "LRURec on item ids (Yue et al., 2024)."),
}

# Top-level commands beside ``train`` -> (module, one-line help).
COMMANDS = {
    "recommend": (
        "tfrec.cli.recommend",
        "Print the top-k items of a SavedModel export for a history (--items) or a user (--user).",
    ),
    "evaluate": (
        "tfrec.cli.evaluate",
        "Evaluate a SavedModel export on its protocol's test users, through its signatures.",
    ),
    "plot": (
        "tfrec.cli.plot",
        "Plot the validation curves of `tfrec train --metrics-out` files on one figure.",
    ),
}


def build_parser(recipe_defaults=None) -> argparse.ArgumentParser:
    """The ``tfrec`` parser; `recipe_defaults` ({command: {dest: value}}) overrides defaults."""
    parser = argparse.ArgumentParser(prog="tfrec", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="Train, evaluate and export a model.")
    models = train.add_subparsers(dest="model", required=True, metavar="MODEL")
    for name, (module_name, help_text) in TRAIN_COMMANDS.items():
        sub = models.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        importlib.import_module(module_name).add_arguments(sub, name)
        sub.set_defaults(**(recipe_defaults or {}).get(name, {}))
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        importlib.import_module(module_name).add_arguments(sub)
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    """Parses `argv`; a ``--recipe`` sets defaults that the command line's own flags override."""
    args = build_parser().parse_args(argv)
    recipe = getattr(args, "recipe", None)
    if recipe:
        module = importlib.import_module(args._module)
        args = build_parser({args.model: module.RECIPES[recipe]}).parse_args(argv)
    return args


def main(argv=None) -> int:
    """Runs the command; returns 0, 2 for a user's mistake, 1 when training diverged.

    A user's mistake (a bad flag value, a missing or unwritable path, a bad input file: a
    `tfrec.data.DataError`, a `tfrec.training.ConfigError` or an `OSError` on a path) prints one
    line, without a traceback, and returns 2; argparse does the same for a flag it rejects.
    Any other exception is a bug: it propagates with its traceback.
    """
    from tfrec.cli.common import print_error, training_config
    from tfrec.data.data_error import DataError
    from tfrec.training import ConfigError, TrainingDiverged, run_experiment

    user_errors = (
        DataError,
        ConfigError,
        FileNotFoundError,
        NotADirectoryError,
        IsADirectoryError,
        PermissionError,
        FileExistsError,
    )
    args = parse_args(argv)
    module = importlib.import_module(args._module)
    try:
        if args.command != "train":
            return module.run(args)
        run_experiment(module.make_experiment(args), training_config(args))
    except user_errors as error:
        print_error(error)
        return 2
    except TrainingDiverged as error:
        print(f"tfrec: training diverged: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
