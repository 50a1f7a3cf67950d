"""`tfrec.plots.plot_runs` and ``tfrec plot``: figures of metrics files."""

import json

from tfrec.cli.main import main
from tfrec.data import DataError
from tfrec.plots import plot_runs

import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _write(path, payload) -> str:
    path.write_text(json.dumps(payload))
    return str(path)


def _mult_vae_run(scale: float) -> dict:
    return {
        "model": "mult-vae",
        "best_epoch": 2,
        "validation_curve": {
            "loss": [9.0 * scale, 8.0 * scale, 7.5 * scale],
            "beta": [0.01, 0.02, 0.03],
            "val_ndcg@100": [0.30, 0.40 * scale, 0.35],
        },
    }


def _fmrlrec_run() -> dict:
    return {
        "model": "fmrlrec",
        "best_epoch": 1,
        "matryoshka_sizes": [4, 8, 16],
        "test": {
            size: {"ndcg@10": value} for size, value in (("4", 0.1), ("8", 0.2), ("16", 0.25))
        },
        "validation_curve": {"loss": [5.0, 4.0], "val_ndcg@10": [0.2, 0.19]},
    }


def _lines(axes) -> dict:
    """{label: (xs, ys)} of an axes' labelled lines."""
    return {
        line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
        for line in axes.get_lines()
        if not line.get_label().startswith("_")
    }


def test_two_runs_share_one_panel_per_metric_with_the_best_epoch_marked(tmp_path):
    first = _write(tmp_path / "small.json", _mult_vae_run(1.0))
    second = _write(tmp_path / "large.json", _mult_vae_run(1.1))
    figure = plot_runs([first, second])
    titles = [axes.get_title() for axes in figure.axes]
    assert titles == ["loss", "val_ndcg@100", "beta"]  # loss, validation metrics, the rest
    panel = figure.axes[titles.index("val_ndcg@100")]
    lines = _lines(panel)
    assert set(lines) == {"small", "large"}
    assert lines["small"] == ([1, 2, 3], [0.30, 0.40, 0.35])
    # One unlabelled star per run at its best epoch (2).
    stars = [line for line in panel.get_lines() if line.get_marker() == "*"]
    assert [list(star.get_xdata()) for star in stars] == [[2], [2]]
    assert sorted(star.get_ydata()[0] for star in stars) == pytest.approx([0.40, 0.44])
    # Epochs are whole numbers: a three-epoch run gets no tick at 1.5.
    ticks = [tick for tick in panel.get_xticks() if 1 <= tick <= 3]
    assert ticks and all(float(tick).is_integer() for tick in ticks)


def test_fmrlrec_run_adds_a_log2_panel_by_size(tmp_path):
    figure = plot_runs([_write(tmp_path / "fmrlrec.json", _fmrlrec_run())])
    axes = figure.axes[-1]
    assert "Matryoshka size" in axes.get_title()
    assert axes.get_xscale() == "log"
    assert _lines(axes)["fmrlrec"] == ([4, 8, 16], [0.1, 0.2, 0.25])
    assert [axes.get_title() for axes in figure.axes[:-1]] == ["loss", "val_ndcg@10"]


def test_metrics_choose_the_panels_and_a_dict_is_labelled_by_its_model():
    figure = plot_runs(_mult_vae_run(1.0), metrics=["val_ndcg@100"])
    assert [axes.get_title() for axes in figure.axes] == ["val_ndcg@100"]
    assert set(_lines(figure.axes[0])) == {"mult-vae"}


def test_a_file_without_validation_curve_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="validation_curve"):
        plot_runs(_write(tmp_path / "other.json", {"model": "x"}))


def test_cli_writes_a_png_of_two_runs_and_an_fmrlrec_run(tmp_path, capsys):
    runs = [
        _write(tmp_path / "a.json", _mult_vae_run(1.0)),
        _write(tmp_path / "b.json", _mult_vae_run(0.9)),
        _write(tmp_path / "c.json", _fmrlrec_run()),
    ]
    out = tmp_path / "figures" / "runs.png"
    assert main(["plot", *runs, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(PNG_SIGNATURE)
    assert str(out) in capsys.readouterr().out


@pytest.mark.parametrize(
    "payload, message",
    [({"model": "ease", "test": {}}, "has no validation_curve"), ("{not json", "not a JSON")],
)
def test_cli_bad_file_is_a_one_line_error(tmp_path, capsys, payload, message):
    path = tmp_path / "bad.json"
    if isinstance(payload, str):
        path.write_text(payload)
    else:
        _write(path, payload)
    out = tmp_path / "runs.png"
    assert main(["plot", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tfrec: error:") and message in err and "\n" not in err
    assert not out.exists()


def test_runs_with_the_same_file_name_get_distinct_labels(tmp_path):
    (tmp_path / "x").mkdir()
    first = _write(tmp_path / "a.json", _mult_vae_run(1.0))
    second = _write(tmp_path / "x" / "a.json", _mult_vae_run(0.9))
    figure = plot_runs([first, second], metrics=["loss"])
    assert set(_lines(figure.axes[0])) == {"a (1)", "a (2)"}


def test_labels_name_the_runs_in_order_and_must_be_one_per_run(tmp_path, capsys):
    first = _write(tmp_path / "a.json", _mult_vae_run(1.0))
    second = _write(tmp_path / "b.json", _mult_vae_run(0.9))
    figure = plot_runs([first, second], metrics=["loss"], labels=["Mult-VAE", "Mult-DAE"])
    assert _lines(figure.axes[0])["Mult-VAE"][1] == [9.0, 8.0, 7.5]
    assert _lines(figure.axes[0])["Mult-DAE"][1] == pytest.approx([8.1, 7.2, 6.75])
    out = tmp_path / "runs.png"
    assert main(["plot", first, second, "--labels", "only one", "--out", str(out)]) == 2
    assert "Got 1 label(s) for 2 run(s)" in capsys.readouterr().err
    assert not out.exists()
    assert main(["plot", first, second, "--labels", "VAE,DAE", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "metrics, out, message",
    [
        (["val_ndcg@10"], None, "No run has the curve(s) val_ndcg@10; available: loss"),
        (None, "figure.xyz", "Cannot write a figure as .xyz"),
    ],
)
def test_unknown_metric_or_figure_format_fails_before_drawing(tmp_path, metrics, out, message):
    out = tmp_path / out if out else None
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plot_runs(_mult_vae_run(1.0), out=out, metrics=metrics)
    assert out is None or not out.exists()


def test_a_single_size_model_is_one_point_beside_the_matryoshka_sizes():
    lrurec = {
        "model": "lrurec",
        "width": 16,
        "test": {"16": {"ndcg@10": 0.22}},
        "validation_curve": {"loss": [5.0, 4.5]},
    }
    figure = plot_runs([_fmrlrec_run(), lrurec], metrics=["loss"])
    by_size = _lines(figure.axes[1])
    assert by_size["lrurec"] == ([16], [0.22])
    assert by_size["fmrlrec"] == ([4, 8, 16], [0.1, 0.2, 0.25])


def test_history_rule_picks_each_runs_figures_under_one_rule():
    """fMRLRec's own rule is not masked, LRURec's masked: `history` compares them under one."""
    fmrlrec = dict(_fmrlrec_run(), mask_history=False)
    fmrlrec["test"] = {"16": {"ndcg@10": 0.25, "history_masked/ndcg@10": 0.3}}
    lrurec = {
        "model": "lrurec",
        "width": 16,
        "mask_history": True,
        "test": {"16": {"ndcg@10": 0.22, "history_not_masked/ndcg@10": 0.18}},
        "validation_curve": {"loss": [5.0]},
    }
    for history, want in (("not_masked", (0.25, 0.18)), ("masked", (0.3, 0.22))):
        figure = plot_runs([fmrlrec, lrurec], metrics=["loss"], history=history)
        by_size = _lines(figure.axes[1])
        assert (by_size["fmrlrec"][1][-1], by_size["lrurec"][1][0]) == want
        assert history.replace("_", " ") in figure.axes[1].get_title()
