"""On-disk size of an fMRLRec export with every Matryoshka size against one export per size.

Builds an `FMRLRec` over the Amazon Beauty catalogue with its real text features
(``text_features.npz``), read with tfrec's own readers, and exports it with `SequenceServing`,
as ``tfrec train fmrlrec`` does (warm-up requests included):

(a) one SavedModel with a signature per Matryoshka size, all sharing one table of projected
    item representations ``[num_items + 1, largest size]``;
(b) one SavedModel per size (``SequenceServing(..., sizes=[m])``), each with its own
    ``[num_items + 1, m]`` table, as separate per-size deployments would be.

and prints a markdown table of their sizes on disk. The weights are untrained: an export's size
depends on the shapes of what it stores, not on their values, so no training is needed. The
frozen text features themselves are not exported (only their projection is), so the item
representation chosen for training does not change these sizes.

Usage:
    python examples/export_size.py --data-dir ../shared/data/amazon-beauty-p5
    python examples/export_size.py --data-dir ../shared/data/amazon-beauty-p5 \\
        --sizes 8,16,32,64,128,256,512,1024
"""

import argparse
import gc
import pathlib
import tempfile

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
from tfrec.cli.common import increasing_ints
from tfrec.data.item_features import load_item_features
from tfrec.data.paths import resolve_data_dir
from tfrec.data.sequences import DATA_FOLDERS, read_sequences
from tfrec.export import SequenceServing, export_saved_model
from tfrec.models.fmrlrec import FMRLRec

import numpy as np


def megabytes(folder: pathlib.Path) -> float:
    """Size of a SavedModel folder: the sum of its files' sizes (as ``du -sb``), in 10^6 bytes."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def export(model, item_ids, max_len: int, folder: pathlib.Path, sizes=None):
    """Exports `model` (the given sizes; None: all) as version 1 under `folder`."""
    serving = SequenceServing(model, item_ids, max_len=max_len, sizes=sizes)
    path = export_saved_model(
        serving,
        folder,
        signatures=serving.signatures(),
        version=1,
        warmup_requests=serving.warmup_requests(),
    )
    signatures = list(serving.signatures())  # serving_default, then increasing sizes
    del serving  # its sliced per-size models hold copies of the feature tables
    gc.collect()
    return path, signatures


def row(name: str, signatures, path: pathlib.Path) -> str:
    return (
        f"| {name} | {', '.join(signatures)} | {megabytes(path):.2f} | "
        f"{megabytes(path / 'variables'):.2f} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", default=None, help="Amazon Beauty folder (default: found as the CLI does)."
    )
    parser.add_argument(
        "--sizes",
        type=increasing_ints,
        default=[8, 16, 32, 64],
        help="Comma-separated Matryoshka sizes; the last is the model width. Default 8,16,32,64.",
    )
    parser.add_argument("--max-len", type=int, default=20, help="History length. Default 20.")
    parser.add_argument(
        "--output-dir",
        default=None,
        help="Keep the exports in this (new) folder; default: a temporary folder, removed.",
    )
    args = parser.parse_args()

    folder = resolve_data_dir(args.data_dir, DATA_FOLDERS["beauty"])
    item_ids = read_sequences("beauty", folder).item_ids
    text, has_text = load_item_features(folder / "text_features.npz", item_ids)
    model = FMRLRec(len(item_ids), args.sizes, item_text_features=text)
    model(np.zeros((1, args.max_len), np.int64))  # build
    rows = len(item_ids) + 1
    print(
        f"Amazon Beauty: {len(item_ids):,} items, text features {text.shape[1]} wide "
        f"({int(has_text.sum()):,} items have one); Matryoshka sizes {args.sizes}. Untrained "
        "weights: sizes on disk depend on the stored shapes only, not on the values."
    )
    print(
        f"Shared item table [{rows:,} x {args.sizes[-1]:,}] float32: "
        f"{rows * args.sizes[-1] * 4 / 1e6:.2f} MB; the per-size tables together: "
        f"{rows * sum(args.sizes) * 4 / 1e6:.2f} MB."
    )

    with tempfile.TemporaryDirectory() as temporary:
        base = pathlib.Path(args.output_dir or temporary)
        shared, shared_signatures = export(model, item_ids, args.max_len, base / "all_sizes")
        lines = [row("every size (one shared item table)", shared_signatures, shared)]
        total, total_variables = 0.0, 0.0
        for size in args.sizes:
            path, signatures = export(
                model, item_ids, args.max_len, base / f"size_{size}", sizes=[size]
            )
            lines.append(row(f"size {size} alone", signatures, path))
            total += megabytes(path)
            total_variables += megabytes(path / "variables")
        print("\n| export | signatures | MB on disk | of which variables MB |\n|---|---|---|---|")
        print("\n".join(lines))
        print(
            f"| {len(args.sizes)} per-size exports, total | {2 * len(args.sizes)} (2 each) | "
            f"{total:.2f} | {total_variables:.2f} |"
        )
        print(
            f"\nper-size total / every-size export: {total / megabytes(shared):.2f}x on disk, "
            f"{total_variables / megabytes(shared / 'variables'):.2f}x in variables"
        )
        if args.output_dir:
            print(f"Exports kept in {base}")


if __name__ == "__main__":
    main()
