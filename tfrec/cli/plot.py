"""``tfrec plot RUN.json [RUN.json ...] --out FIGURE.png``: training runs on one figure.

The validation curves of the metrics files written by ``tfrec train --metrics-out`` (one panel
per metric, one line per run, the chosen epoch marked) and, for fMRLRec runs, test NDCG@10 by
Matryoshka size; `tfrec.plots.plot_runs` draws it.
"""

import argparse


def add_arguments(parser) -> None:
    """Adds RUN.json (one or more), --out (required), --metrics, --labels and --history."""
    parser.add_argument(
        "runs", nargs="+", metavar="RUN.json", help="Metrics files of `tfrec train --metrics-out`."
    )
    parser.add_argument(
        "--out", required=True, help="The figure's file; PNG unless the suffix says otherwise."
    )
    parser.add_argument(
        "--metrics",
        type=_names,
        default=None,
        help="Comma-separated curve names to plot, e.g. loss,val_ndcg@100 (default: all).",
    )
    parser.add_argument(
        "--labels",
        type=_labels,
        default=None,
        help="Comma-separated legend names, one per RUN.json in order (default: file names).",
    )
    parser.add_argument(
        "--history",
        choices=["masked", "not_masked"],
        default=None,
        help="History rule of the by-size panel's test NDCG@10, to compare next-item runs "
        "trained under different rules (default: each run's own).",
    )


def _names(text: str) -> list:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated curve names, got {text!r}")
    return names


def _labels(text: str) -> list:
    labels = [part.strip() for part in text.split(",")]
    if not all(labels):
        raise argparse.ArgumentTypeError(f"expected comma-separated non-empty labels, got {text!r}")
    return labels


def run(args) -> int:
    """Runs ``tfrec plot``: draws the runs with `tfrec.plots.plot_runs` and saves --out.

    Args:
        args: `argparse.Namespace` of `add_arguments`' flags.

    Returns:
        int. 0.

    Raises:
        DataError: (a `ValueError`) for a file that is not a metrics file, nothing to plot, an
            unknown --metrics name, --labels not one per run, or a suffix of --out that
            matplotlib cannot write.
        OSError: if a file cannot be read or --out cannot be written.
    """
    from tfrec.plots import plot_runs

    plot_runs(
        args.runs, out=args.out, metrics=args.metrics, history=args.history, labels=args.labels
    )
    print(f"Figure written to {args.out}")
    return 0
