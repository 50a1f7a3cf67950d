import os
import shutil
import subprocess
import sys

from tfrec.cli.main import main

import numpy as np
import pytest
import tensorflow as tf

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _rows(out: str) -> list:
    """The (item id, rest of the line) of each ranked line of ``tfrec recommend``'s output."""
    rows = []
    for line in out.splitlines():
        fields = line.split(maxsplit=3)
        if len(fields) >= 3 and fields[0].isdigit():
            rows.append((int(fields[1]), fields[3] if len(fields) > 3 else ""))
    return rows


def _served_top_ids(version_dir, **inputs):
    serve = tf.saved_model.load(str(version_dir)).signatures[inputs.pop("signature")]
    out = serve(**{name: tf.constant(value) for name, value in inputs.items()})
    return out["top_ids"].numpy()[0].tolist()


def test_history_export_prints_titles_and_names_unknown_ids(mult_vae_export, capsys):
    argv = ["recommend", str(mult_vae_export.export), "--items", "1,2,3,99999", "--k", "5",
            "--data-dir", str(mult_vae_export.data)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    rows = _rows(captured.out)
    assert len(rows) == 5
    # The ids are the export's own answer for the known items; titles from u.item.
    expected = _served_top_ids(
        mult_vae_export.export / "1",
        signature="serving_default",
        item_ids=np.array([[1, 2, 3]], np.int64),
        k=np.int32(5),
    )
    assert [item for item, _ in rows] == expected
    assert all(title == f"Movie {item} (1995)" for item, title in rows)
    assert "99999" in captured.err and "not in the export's catalogue" in captured.err
    # Without --data-dir: ids only.
    assert main(argv[:-2]) == 0
    rows = _rows(capsys.readouterr().out)
    assert [item for item, _ in rows] == expected and all(not title for _, title in rows)


def test_user_export_takes_a_user(vbpr_export, capsys):
    assert main(["recommend", str(vbpr_export.export), "--user", "3", "--k", "4"]) == 0
    rows = _rows(capsys.readouterr().out)
    expected = _served_top_ids(
        vbpr_export.export / "1",
        signature="serving_default",
        user_id=np.array([3], np.int64),
        k=np.int32(4),
    )
    assert [item for item, _ in rows] == expected


def test_sequence_export_answers_at_a_matryoshka_size(fmrlrec_export, capsys):
    argv = ["recommend", str(fmrlrec_export.export), "--items", "101,102,103", "--k", "3",
            "--signature", "serving_size_4"]  # fmt: skip
    assert main(argv) == 0
    rows = _rows(capsys.readouterr().out)
    expected = _served_top_ids(
        fmrlrec_export.export / "1",
        signature="serving_size_4",
        history=np.array([[0, 0, 0, 101, 102, 103]], np.int64),
        k=np.int32(3),
    )
    assert [item for item, _ in rows] == expected


def test_the_highest_version_of_a_model_folder_is_used(mult_vae_export, tmp_path, capsys):
    base = tmp_path / "mult_vae"
    for version in ("2", "10"):
        shutil.copytree(mult_vae_export.export / "1", base / version)
    assert main(["recommend", str(base), "--items", "1"]) == 0
    assert f"{base / '10'} (mult-vae on ml-100k" in capsys.readouterr().out


def test_fresh_process_without_the_training_data(mult_vae_export, tmp_path):
    # A copy of the export, queried by a new `tfrec` process while the data folder is away.
    export = tmp_path / "served" / "mult_vae"
    shutil.copytree(mult_vae_export.export, export)
    away = tmp_path / "data-away"
    shutil.move(mult_vae_export.data, away)
    try:
        env = {**os.environ, "PYTHONPATH": REPO_ROOT, "TFREC_DATA_DIR": str(tmp_path / "none")}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tfrec.cli.main",
                "recommend",
                str(export),
                "--items",
                "1,2,3",
                "--k",
                "7",
            ],  # fmt: skip
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
        )
    finally:
        shutil.move(away, mult_vae_export.data)
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout)
    assert len(rows) == 7 and not {1, 2, 3} & {item for item, _ in rows}


@pytest.mark.parametrize(
    "fixture, argv, message",
    [
        ("mult_vae_export", ["--items", "1,x"], "--items: expected comma-separated integer"),
        ("mult_vae_export", ["--items", "1", "--signature", "nope"], "no signature 'nope'"),
        ("mult_vae_export", ["--user", "3"], "pass --items, not --user"),
        ("mult_vae_export", ["--items", "1", "--k", "1000"], "exceeds the export's"),
        ("vbpr_export", ["--items", "1,2"], "pass --user, not --items"),
        ("vbpr_export", ["--user", "9999"], "user 9999 is not a training user"),
        ("vbpr_export", ["--user", "3", "--signature", "score_new_items"], "does not return top-k"),
        (None, ["--items", "1"], "No SavedModel in"),
    ],
)
def test_bad_input_is_a_one_line_error(request, tmp_path, capsys, fixture, argv, message):
    export = request.getfixturevalue(fixture).export if fixture else tmp_path / "missing"
    assert main(["recommend", str(export), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tfrec: error:") and err.count("\n") == 1, err
    assert message in err
