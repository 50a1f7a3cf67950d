"""A user's mistake prints one line and exits 2; anything else propagates with its traceback."""

from tfrec.cli.main import main
from tfrec.data import DataError
from tfrec.training import HeldOutUsersExperiment

import pytest


def _train(tmp_path, *flags):
    return main(
        ["train", "popularity", "--dataset", "ml-100k", "--no-export", "--verbose", "0", *flags]
    )


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("tfrec: error: ")
    return lines[0]


def test_data_error_prints_one_line_and_returns_2(tmp_path, capsys):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n1\t-1\t3\t4\n")
    assert _train(tmp_path, "--data-dir", str(tmp_path)) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"{tmp_path / 'u.data'}, line 2: field 'item_id' is negative ('-1')" in line


@pytest.mark.parametrize("what", ["missing data folder", "unwritable metrics file"])
def test_path_and_config_mistakes_return_2(tmp_path, capsys, what):
    (tmp_path / "a_file").write_text("")
    if what == "missing data folder":
        flags = ["--data-dir", str(tmp_path / "nowhere")]
        expected = "nowhere"
    else:  # a ConfigError from check_writable, before any data is read
        flags = ["--data-dir", str(tmp_path), "--metrics-out", str(tmp_path / "a_file" / "m.json")]
        expected = "metrics_out"
    assert _train(tmp_path, *flags) == 2
    assert expected in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("error", [ValueError("internal bug"), RuntimeError("internal bug")])
def test_internal_errors_propagate_with_their_traceback(tmp_path, monkeypatch, capsys, error):
    def broken_load(self, context, seed):
        raise error

    monkeypatch.setattr(HeldOutUsersExperiment, "load", broken_load)
    with pytest.raises(type(error), match="internal bug") as raised:
        _train(tmp_path, "--data-dir", str(tmp_path))
    assert not isinstance(raised.value, DataError)
    assert raised.traceback[-1].name == "broken_load"  # the traceback reaches the bug
    assert "tfrec: error" not in capsys.readouterr().err


@pytest.mark.parametrize("what", ["metrics file at a folder", "export into a version"])
def test_output_path_mistakes_fail_before_training(tmp_path, capsys, what):
    """Each is refused with one line before any data is read (`--data-dir` does not exist)."""
    if what == "metrics file at a folder":
        flags = ["--metrics-out", str(tmp_path)]
        expected = "is a folder; give a file path"
    else:
        version = tmp_path / "saved_models" / "popularity" / "1"
        version.mkdir(parents=True)
        (version / "saved_model.pb").write_bytes(b"")
        flags = ["--export-dir", str(version)]
        expected = "is a SavedModel version folder"
    code = main(
        ["train", "popularity", "--dataset", "ml-100k", "--verbose", "0"]
        + ["--data-dir", str(tmp_path / "nowhere"), *flags]
    )
    assert code == 2
    assert expected in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["lrurec", "--r-min", "0.99", "--r-max", "0.5"], "r_min"),
        (["fmrlrec", "--r-max", "1.5"], "r_max"),
    ],
)
def test_next_item_config_mistakes_fail_before_reading_data(tmp_path, capsys, flags, expected):
    """One line and exit 2, before the (missing) data folder is looked at."""
    model, *rest = flags
    code = main(
        ["train", model, "--dataset", "ml-100k", "--data-dir", str(tmp_path / "nowhere")]
        + ["--no-export", "--verbose", "0", *rest]
    )
    assert code == 2
    assert expected in _one_line(capsys.readouterr().err)
