"""Grid over BPR-MF / VBPR L2 weights, chosen on validation AUC (never on test).

Each configuration runs ``tfrec train`` in its own process with a long epoch cap and a large
patience, so that the whole validation curve is recorded; the table then shows, for each
configuration, the validation AUC that early stopping would have chosen with a smaller
patience. Test figures are not read.

    .venv/bin/python examples/tune_bpr_regularization.py --model vbpr --dataset ml-100k \
        --data-dir ../shared/data/ml-100k --factor-regularization 1e-4 1e-3 1e-2 \
        --out-dir runs/tune_vbpr_ml100k
"""

import argparse
import itertools
import json
import os
import subprocess
import sys

PATIENCES = (3, 5, 10, 20)


def selected(curve, patience):
    """(epoch, value) early stopping on `curve` (higher is better) picks with `patience`."""
    best_epoch, best, waited = 0, float("-inf"), 0
    for epoch, value in enumerate(curve, start=1):
        if value > best:
            best_epoch, best, waited = epoch, value, 0
        else:
            waited += 1
            if waited >= patience:
                break
    return best_epoch, best


def run(args, factor, bias, visual, out):
    command = [
        os.path.join(os.path.dirname(sys.executable), "tfrec"),
        "train",
        args.model,
        "--dataset",
        args.dataset,
        "--data-dir",
        args.data_dir,
        "--epochs",
        str(args.epochs),
        "--patience",
        str(args.patience),
        "--learning-rate",
        str(args.learning_rate),
        "--num-factors",
        str(args.num_factors),
        "--factor-regularization",
        str(factor),
        "--bias-regularization",
        str(bias),
        "--verbose",
        "0",
        "--no-export",
        "--metrics-out",
        out,
    ]
    if args.model == "vbpr":
        command += [
            "--num-visual-factors",
            str(args.num_visual_factors),
            "--visual-regularization",
            str(visual),
        ]
        if args.image_features:
            command += ["--image-features", args.image_features]
    subprocess.run(command, check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["vbpr", "bpr-mf"], required=True)
    parser.add_argument("--dataset", choices=["ml-1m", "ml-100k"], required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--image-features", default=None)
    parser.add_argument("--num-factors", type=int, default=None)
    parser.add_argument("--num-visual-factors", type=int, default=10)
    parser.add_argument("--factor-regularization", type=float, nargs="+", required=True)
    parser.add_argument(
        "--bias-regularization",
        type=float,
        nargs="+",
        default=None,
        help="Default: the same value as --factor-regularization (paired, not crossed).",
    )
    parser.add_argument("--visual-regularization", type=float, nargs="+", default=[0.0])
    parser.add_argument("--learning-rate", type=float, default=0.005)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--patience", type=int, default=max(PATIENCES))
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args(argv)
    if args.num_factors is None:
        args.num_factors = 10 if args.model == "vbpr" else 20
    os.makedirs(args.out_dir, exist_ok=True)
    biases = args.bias_regularization or [None]
    visuals = args.visual_regularization if args.model == "vbpr" else [0.0]
    rows = []
    for factor, bias, visual in itertools.product(args.factor_regularization, biases, visuals):
        bias = factor if bias is None else bias
        name = f"{args.model}_{args.dataset}_f{factor:g}_b{bias:g}_v{visual:g}.json"
        out = os.path.join(args.out_dir, name)
        if not os.path.exists(out):
            run(args, factor, bias, visual, out)
        with open(out) as f:
            metrics = json.load(f)
        curve = metrics["validation_curve"]["val_auc"]
        picks = [selected(curve, patience) for patience in PATIENCES]
        rows.append((factor, bias, visual, picks, len(curve), metrics["train_seconds"]))
    header = "| factor | bias | visual (E) | " + " | ".join(
        f"val AUC (epoch), patience {p}" for p in PATIENCES
    )
    print(header + " | epochs run | train s |")
    print("|---" * (len(PATIENCES) + 5) + "|")
    for factor, bias, visual, picks, epochs, seconds in rows:
        cells = " | ".join(f"{value:.4f} ({epoch})" for epoch, value in picks)
        print(f"| {factor:g} | {bias:g} | {visual:g} | {cells} | {epochs} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
