import json

from tfrec.cli.main import main

import pytest

from tests.helpers import data_dir, run_in_fresh_process


def _run(tmp_path, *argv):
    metrics = tmp_path / "metrics.json"
    code = main(["train", *argv, "--metrics-out", str(metrics), "--verbose", "0"])
    return code, (json.loads(metrics.read_text()) if metrics.exists() else None)


def test_mult_vae_trains_evaluates_exports_and_writes_metrics(tmp_path, capsys):
    code, metrics = _run(
        tmp_path,
        "mult-vae",
        "--dataset",
        "ml-100k",
        "--data-dir",
        str(data_dir("ml-100k")),
        "--epochs",
        "2",
        "--batch-size",
        "128",
        "--export-dir",
        str(tmp_path / "models" / "mult_vae"),
    )
    assert code == 0
    for key in ("recall@20", "recall@50", "ndcg@100"):
        assert 0.0 < metrics["test"][key] <= 1.0
    assert len(metrics["validation_curve"]["val_ndcg@100"]) == 2
    assert metrics["validation"]["ndcg@100"] == max(metrics["validation_curve"]["val_ndcg@100"])
    export = tmp_path / "models" / "mult_vae" / "1"
    assert metrics["export"] == str(export)
    # The export answers in MovieLens ids in a process that never imports tfrec.
    out = run_in_fresh_process(
        f"""
        import tensorflow as tf
        serve = tf.saved_model.load({str(export)!r}).signatures["serving_default"]
        out = serve(item_ids=tf.constant([[50, 181, 100, -1, 99999]], tf.int64), k=tf.constant(20))
        print(" ".join(map(str, out["top_ids"].numpy()[0])))
        """
    )
    top_ids = [int(i) for i in out.split()]
    assert len(top_ids) == 20 and len(set(top_ids)) == 20
    assert not {50, 181, 100} & set(top_ids)
    assert all(1 <= i <= 1682 for i in top_ids)
    out = capsys.readouterr().out
    assert "ndcg@100" in out and "training users" in out


def test_popularity_is_beaten_by_ease_on_ml100k(tmp_path):
    results = {}
    for model in ("popularity", "ease"):
        code, metrics = _run(
            tmp_path,
            model,
            "--dataset",
            "ml-100k",
            "--data-dir",
            str(data_dir("ml-100k")),
            "--no-export",
        )
        assert code == 0
        results[model] = metrics["test"]["ndcg@100"]
    assert results["ease"] > results["popularity"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data-dir", "/nonexistent/ml-1m"], "/nonexistent/ml-1m"),
        (["--validation-users", "0"], "--validation-users"),
        (["--validation-users", "5000"], "no training users"),
    ],
)
def test_bad_input_gives_clear_error_and_writes_nothing(tmp_path, capsys, argv, message):
    if "--data-dir" not in argv:
        argv = argv + ["--data-dir", str(data_dir("ml-100k")), "--dataset", "ml-100k"]
    argv = argv + ["--epochs", "1"]
    try:
        code, metrics = _run(tmp_path, "mult-dae", *argv, "--export-dir", str(tmp_path / "m"))
    except SystemExit as exit:  # argparse rejects a malformed flag value before anything runs
        code, metrics = exit.code, None
    assert code == 2
    assert message in capsys.readouterr().err
    assert metrics is None and not (tmp_path / "m").exists()
