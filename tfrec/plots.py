"""Figures of training runs from the metrics files of ``tfrec train --metrics-out``.

`plot_runs` draws one or several runs on one figure, for a notebook or, through ``tfrec plot``,
a file. It uses matplotlib's object API (no pyplot, no global state): saving renders with Agg.
"""

import json
import math
import pathlib
from collections import Counter

from tfrec.data.data_error import DataError

__all__ = ["SIZE_METRIC", "plot_runs"]

# The test metric of the by-size panel of fMRLRec runs (a key of each size's ``test`` entry).
SIZE_METRIC = "ndcg@10"


HISTORY_RULES = ("masked", "not_masked")


def plot_runs(runs, out=None, metrics=None, history=None, labels=None):
    """Plots the validation curves of runs, and fMRLRec's test NDCG@10 by Matryoshka size.

    One panel per metric of the runs' ``validation_curve`` (``loss``, ``val_ndcg@100``, ...),
    one line per run labelled by its file's stem, with the run's chosen epoch (``best_epoch``)
    marked. Runs with ``matryoshka_sizes`` (fMRLRec) add a panel of test NDCG@10 by size, on a
    log2 axis, where a single-size model with a ``width`` (LRURec) is one point.

    Args:
        runs: a metrics file path (str or `pathlib.Path`) or an already loaded metrics dict, or
            a sequence of them. A file is labelled by its stem, a dict by its ``model`` entry.
        out: str or path. Where to save the figure (format from the suffix, PNG when there is
            none; 120 dpi), its parent folders created; None: not saved.
        metrics: sequence of str. The curve names to plot, in this order (default: every
            name, ``loss`` first, then the validation metrics, then the rest).
        history: None, ``"masked"`` or ``"not_masked"``. The history rule of the by-size
            panel's test figures: each next-item run reports both (its own rule unprefixed, the
            other under ``history_masked/`` or ``history_not_masked/``), so runs trained under
            different rules are compared under one. None: each run's own rule.
        labels: sequence of str, one per run, in the order of `runs`: the legend's names
            (default: file stems, or the ``model`` entry of a dict).

    Returns:
        The `matplotlib.figure.Figure`: up to 3 panels a row, x axis in epochs (1-based).

    Raises:
        DataError: (a `ValueError`) for a file that is not UTF-8 JSON, a run without a
            ``validation_curve`` dict, an empty `runs`, runs with no curve at all, a name in
            `metrics` that no run has, `labels` not one per run, or a suffix of `out` that
            matplotlib cannot write (all checked before drawing).
        OSError: if a file cannot be read or `out` cannot be written.

    Example:
        >>> import tfrec.plots
        >>> run = {"model": "mult-vae", "best_epoch": 2,
        ...        "validation_curve": {"loss": [9.0, 8.0], "val_ndcg@100": [0.3, 0.4]}}
        >>> figure = tfrec.plots.plot_runs(run)
        >>> [axes.get_title() for axes in figure.axes]
        ['loss', 'val_ndcg@100']
    """
    from matplotlib.backend_bases import FigureCanvasBase
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    if isinstance(runs, (str, pathlib.Path, dict)):
        runs = [runs]
    if history not in (None, *HISTORY_RULES):
        raise DataError(f"history must be one of {HISTORY_RULES} or None, got {history!r}.")
    if out is not None:
        out = pathlib.Path(out)
        kind = out.suffix.lstrip(".").lower() or "png"
        if kind not in FigureCanvasBase.get_supported_filetypes():
            supported = ", ".join(sorted(FigureCanvasBase.get_supported_filetypes()))
            raise DataError(f"Cannot write a figure as .{kind} ({out}); use one of: {supported}.")
    loaded = [_load(run, index) for index, run in enumerate(runs)]
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(loaded):
            raise DataError(
                f"Got {len(labels)} label(s) for {len(loaded)} run(s); give one per run."
            )
        loaded = [(label, run) for label, (_, run) in zip(labels, loaded)]
    loaded = _unique_labels(loaded)
    if not loaded:
        raise DataError("No runs to plot.")
    available = _curve_names(run for _, run in loaded)
    names = list(metrics) if metrics else available
    missing = [name for name in names if name not in available]
    if missing:
        raise DataError(
            f"No run has the curve(s) {', '.join(missing)}; available: {', '.join(available)}."
        )
    sized = [(label, run) for label, run in loaded if _sizes(run)]
    panels = len(names) + (1 if sized else 0)
    if not panels:
        raise DataError("Nothing to plot: the runs have no validation curves.")
    columns = min(3, panels)
    rows = math.ceil(panels / columns)
    figure = Figure(figsize=(4.5 * columns, 3.2 * rows), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    colors = {label: f"C{index % 10}" for index, (label, _) in enumerate(loaded)}
    for axes, name in zip(grid, names):
        for label, run in loaded:
            _plot_curve(axes, run, name, label, colors[label])
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # no ticks between epochs
        axes.grid(alpha=0.3)
    if sized:
        axes = grid[len(names)]
        sizes = set()
        for label, run in sized:
            sizes.update(_plot_sizes(axes, run, label, colors[label], history))
        rule = f"\n(history {history.replace('_', ' ')})" if history else ""
        axes.set_title(f"test {SIZE_METRIC} by Matryoshka size{rule}")
        axes.set_xlabel("size")
        axes.set_xscale("log", base=2)
        axes.set_xticks(sorted(sizes), [str(size) for size in sorted(sizes)])
        axes.grid(alpha=0.3)
    for axes in grid[panels:]:
        figure.delaxes(axes)
    grid[0].legend(fontsize="small")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(out, format=kind, dpi=120)
    return figure


def _unique_labels(loaded: list) -> list:
    """Numbers the runs that share a label (``a.json`` and ``x/a.json``: ``a (1)``, ``a (2)``)."""
    shared = {label for label, count in Counter(label for label, _ in loaded).items() if count > 1}
    seen: Counter = Counter()
    unique = []
    for label, run in loaded:
        if label in shared:
            seen[label] += 1
            label = f"{label} ({seen[label]})"
        unique.append((label, run))
    return unique


def _load(run, index: int) -> tuple:
    """(label, metrics dict) of a path or a dict; checks the ``validation_curve``."""
    if isinstance(run, dict):
        label = str(run.get("model") or f"run {index + 1}")
        where = f"Run {label!r}"
    else:
        path = pathlib.Path(run)
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DataError(f"{path} is not a JSON metrics file: {error}") from None
        label, where = path.stem, str(path)
    if not isinstance(run, dict) or not isinstance(run.get("validation_curve"), dict):
        raise DataError(
            f"{where} has no validation_curve: not a metrics file of `tfrec train --metrics-out`."
        )
    return label, run


def _curve_names(runs) -> list:
    """Every curve name of the runs: ``loss``, then ``val_`` metrics, then the rest."""
    names: list[str] = []
    for run in runs:
        names += [name for name in run["validation_curve"] if name not in names]
    return sorted(names, key=lambda name: (name != "loss", not name.startswith("val_")))


def _plot_curve(axes, run: dict, name: str, label: str, color: str) -> None:
    values = run["validation_curve"].get(name)
    if not values:
        return
    values = [math.nan if value is None else float(value) for value in values]
    epochs = range(1, len(values) + 1)
    axes.plot(epochs, values, color=color, label=label, marker="." if len(values) < 30 else None)
    best = run.get("best_epoch")
    if isinstance(best, int) and 1 <= best <= len(values):
        axes.plot([best], [values[best - 1]], color=color, marker="*", markersize=12)


def _sizes(run: dict) -> list:
    """fMRLRec's Matryoshka sizes, or the one ``width`` of a single-size model (LRURec)."""
    if run.get("matryoshka_sizes"):
        return list(run["matryoshka_sizes"])
    if run.get("width") and str(run["width"]) in (run.get("test") or {}):
        return [run["width"]]
    return []


def _plot_sizes(axes, run: dict, label: str, color: str, history=None) -> tuple:
    """Plots a run's test metric by size under the `history` rule; returns the sizes plotted."""
    test = run.get("test") or {}
    key = SIZE_METRIC
    own = "masked" if run.get("mask_history") else "not_masked"
    if history is not None and history != own:
        key = f"history_{history}/{SIZE_METRIC}"
    points = [
        (int(size), float(test[str(size)][key]))
        for size in _sizes(run)
        if key in test.get(str(size), {})
    ]
    if not points:
        return ()
    sizes, values = zip(*points)
    axes.plot(sizes, values, color=color, label=label, marker="o")
    return sizes
