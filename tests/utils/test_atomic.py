"""`atomic_output`: a file or folder appears whole at its path, or not at all."""

from tfrec.utils.atomic import atomic_output

import pytest


def test_file_is_written_and_replaces_the_old_one(tmp_path):
    target = tmp_path / "sub" / "metrics.json"
    with atomic_output(target) as temporary:
        assert temporary.parent == target.parent and temporary.name.startswith(".metrics.json")
        temporary.write_text("first")
    with atomic_output(target) as temporary:
        temporary.write_text("second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["metrics.json"]


def test_folder_is_renamed_into_place(tmp_path):
    target = tmp_path / "1"
    with atomic_output(target, directory=True) as staging:
        (staging / "saved_model.pb").write_text("x")
    assert (target / "saved_model.pb").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["1"]


@pytest.mark.parametrize("directory", [False, True])
def test_an_error_leaves_nothing_and_is_raised(tmp_path, directory):
    target = tmp_path / "out"
    if not directory:
        target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(target, directory=directory) as temporary:
            if directory:
                (temporary / "half").write_text("written")
            else:
                temporary.write_text("half written")
            raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ([] if directory else ["out"])
    if not directory:
        assert target.read_text() == "old"
