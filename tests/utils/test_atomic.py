"""`atomic_output`: a file or folder appears whole at its path, or not at all."""

from tfrec.utils.atomic import atomic_output, remove_stale_temporaries

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


def test_a_killed_processs_temporary_is_removed_and_live_ones_are_kept(tmp_path):
    """A process killed inside the block leaves its temporary; `remove_stale_temporaries`
    removes it (its pid no longer runs) and keeps this live process's own."""
    import signal
    import subprocess
    import sys

    code = (
        "import os, pathlib, sys, time\n"
        "from tfrec.utils.atomic import atomic_output\n"
        "with atomic_output(pathlib.Path(sys.argv[1]) / '1', directory=True) as staging:\n"
        "    (staging / 'saved_model.pb').write_text('half')\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGKILL)
    child.wait()
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(".1.tmp-") and (left / "saved_model.pb").is_file()
    with atomic_output(tmp_path / "2", directory=True) as live:
        assert remove_stale_temporaries(tmp_path) == [left]
        assert sorted(p.name for p in tmp_path.iterdir()) == [live.name]
    assert [p.name for p in tmp_path.iterdir()] == ["2"]
    other_host = tmp_path / ".3.tmp-otherhost-1-abc"
    other_host.mkdir()
    assert remove_stale_temporaries(tmp_path) == [] and other_host.is_dir()


def test_files_get_the_umask_mode_or_keep_the_replaced_files_mode(tmp_path):
    """Not mkstemp's 0600: a metrics file must be readable as any file `open` writes."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        target = tmp_path / "metrics.json"
        with atomic_output(target) as temporary:
            temporary.write_text("first")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        target.chmod(0o640)
        with atomic_output(target) as temporary:
            temporary.write_text("second")
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
    finally:
        os.umask(old)
