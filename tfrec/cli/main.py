"""Entry point of the ``tfrec`` command.

Each trainable model is a sub-command of ``tfrec train`` that lives in its own module of
``tfrec.cli``. A module provides ``add_arguments(parser)`` and ``run(args) -> dict`` (the metrics
that ``--metrics-out`` writes); the table below maps sub-command names to those modules, so a
module is imported only when its command runs.
"""

import argparse
import importlib
import sys

# sub-command -> (module, one-line help). Several sub-commands may share one module; the module
# then reads ``args.model`` to tell them apart.
TRAIN_COMMANDS = {
    "mult-vae": ("tfrec.cli.train_autoencoder", "Mult-VAE (Liang et al., 2018)."),
    "mult-dae": ("tfrec.cli.train_autoencoder", "Mult-DAE (Liang et al., 2018)."),
    "ease": ("tfrec.cli.train_autoencoder", "EASE baseline (Steck, 2019)."),
    "popularity": ("tfrec.cli.train_autoencoder", "Popularity baseline."),
    "vbpr": ("tfrec.cli.train_bpr", "VBPR with item image features (He and McAuley, 2016)."),
    "bpr-mf": ("tfrec.cli.train_bpr", "BPR matrix factorisation (Rendle et al., 2009)."),
    "fmrlrec": ("tfrec.cli.train_fmrlrec", "fMRLRec / ID-only LRU (Wang et al., 2024)."),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfrec", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="Train, evaluate and export a model.")
    models = train.add_subparsers(dest="model", required=True, metavar="MODEL")
    for name, (module_name, help_text) in TRAIN_COMMANDS.items():
        sub = models.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        importlib.import_module(module_name).add_arguments(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(args._module)
    try:
        module.run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"tfrec: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
