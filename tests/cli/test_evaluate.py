import json
import math
import shutil

from tfrec.cli.main import main

import pytest

# The export ranks as the model did, so the metrics agree to float rounding (measured: exactly).
TOLERANCE = 1e-6


def _flat(metrics: dict, prefix: str = "") -> dict:
    flat = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{name}."))
        else:
            flat[prefix + name] = value
    return flat


def _evaluate(trained, tmp_path, *extra):
    out = tmp_path / "evaluation.json"
    argv = ["evaluate", str(trained.export), "--data-dir", str(trained.data)]
    code = main([*argv, "--metrics-out", str(out), *extra])
    return code, (json.loads(out.read_text()) if out.exists() else None)


@pytest.mark.parametrize(
    "fixture, protocol",
    [
        ("mult_vae_export", "heldout-users"),
        ("vbpr_export", "leave-one-out"),
        ("fmrlrec_export", "next-item"),
    ],
)
def test_evaluate_reproduces_the_training_runs_test_metrics(request, tmp_path, fixture, protocol):
    trained = request.getfixturevalue(fixture)
    code, result = _evaluate(trained, tmp_path)
    assert code == 0
    assert (result["model"], result["dataset"], result["protocol"]) == (
        trained.metrics["model"],
        trained.metrics["dataset"],
        protocol,
    )
    want, got = _flat(trained.metrics["test"]), _flat(result["test"])
    assert set(got) == set(want)
    for name, value in want.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(got[name]), name
        else:
            assert abs(got[name] - value) <= TOLERANCE, (name, got[name], value)


def test_history_excluding_export_reports_its_own_rule_only(lrurec_export, tmp_path, capsys):
    code, result = _evaluate(lrurec_export, tmp_path)
    assert code == 0
    assert "history not masked: not available" in capsys.readouterr().out
    want = {
        name: value
        for name, value in _flat(lrurec_export.metrics["test"]).items()
        if "history_not_masked/" not in name
    }
    got = _flat(result["test"])
    assert set(got) == set(want)
    assert all(abs(got[name] - value) <= TOLERANCE for name, value in want.items())


def test_the_export_records_what_evaluate_needs(mult_vae_export):
    metadata = json.loads((mult_vae_export.export / "1/assets.extra/tfrec.json").read_text())
    assert {key: metadata[key] for key in ("model", "dataset", "protocol", "seed")} == {
        "model": "mult-vae",
        "dataset": "ml-100k",
        "protocol": "heldout-users",
        "seed": 7,
    }
    assert (metadata["input"], metadata["padding_id"], metadata["default_k"]) == (
        "item_ids",
        -1,
        100,
    )
    assert metadata["protocol_settings"]["test_users"] == 10


def test_bad_requests_are_one_line_errors(mult_vae_export, tmp_path, capsys):
    code, _ = _evaluate(mult_vae_export, tmp_path, "--dataset", "ml-1m")
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was trained on ml-100k, not ml-1m" in err
    # An export without tfrec's metadata cannot say which split to rebuild.
    bare = tmp_path / "bare"
    shutil.copytree(mult_vae_export.export / "1", bare)
    (bare / "assets.extra" / "tfrec.json").unlink()
    assert main(["evaluate", str(bare), "--data-dir", str(mult_vae_export.data)]) == 2
    assert "has no tfrec metadata" in capsys.readouterr().err
    # Data whose catalogue is not the export's: the same ratings of other item ids.
    other = tmp_path / "other"
    shutil.copytree(mult_vae_export.data, other)
    rows = [line.split("\t") for line in (other / "u.data").read_text().splitlines()]
    lines = ["\t".join([user, str(int(item) + 1000), *rest]) for user, item, *rest in rows]
    (other / "u.data").write_text("\n".join(lines) + "\n")
    assert main(["evaluate", str(mult_vae_export.export), "--data-dir", str(other)]) == 2
    assert "evaluate with the data folder it was trained on" in capsys.readouterr().err
