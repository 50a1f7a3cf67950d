"""Atomic outputs: a file or folder appears whole at its final path, or not at all."""

import contextlib
import logging
import os
import pathlib
import re
import shutil
import socket
import tempfile

_LOGGER = logging.getLogger(__name__)
# ".<name>.tmp-<host>-<pid>-<random>": whose temporary it is, so leftovers can be told apart.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<host>[^-]*)-(?P<pid>\d+)-[^-]+$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname())


def _prefix(name: str) -> str:
    return f".{name}.tmp-{_host()}-{os.getpid()}-"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(folder) -> list:
    """Removes the temporaries `atomic_output` left in `folder` when its process was killed.

    Only entries named by `atomic_output` on this host whose process no longer runs are
    removed; another host's (shared file system) or a live process's are kept.

    Args:
        folder: str or path. A folder that `atomic_output` writes into; a missing one has
            nothing to remove.

    Returns:
        list of the removed paths (`pathlib.Path`), each also logged as a warning.

    Raises:
        OSError: if `folder` cannot be listed, or a leftover file cannot be removed (a
            leftover folder is removed as far as possible, errors ignored).
    """
    folder = pathlib.Path(folder)
    host = _host()
    removed = []
    for entry in folder.iterdir() if folder.is_dir() else []:
        match = _TEMPORARY.match(entry.name)
        if not match or match["host"] != host or _running(int(match["pid"])):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        _LOGGER.warning("Removed %s, left by a killed process.", entry)
        removed.append(entry)
    return removed


def _file_mode(path: pathlib.Path) -> int:
    """The permission bits `path` keeps (if it exists) or a new file gets under the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(path, directory: bool = False):
    """Yields a temporary path beside `path`; renames it onto `path` when the block succeeds.

    A kill or an exception inside the block leaves `path` as it was (absent, or its previous
    version for a file), never half-written: the temporary is a hidden
    ``.<name>.tmp-<host>-<pid>-*`` entry in the same folder (so the rename is atomic), removed on
    error; one left by a kill is removed by `remove_stale_temporaries`.

    Args:
        path: str or path. The final file or folder; its parent folders are created.
        directory: bool. Yield an empty temporary folder instead of a file. A folder
            replaces only a missing or empty `path` (`os.replace` semantics). Default False.

    Yields:
        `pathlib.Path` of the temporary: an empty file (created by `tempfile.mkstemp`, mode
        0600 while it is written; `path` then gets the mode of the file it replaces, or the
        umask's default for a new file, as `open` would give) or an empty folder (mode 0700),
        for the block to fill.

    Raises:
        OSError: if the parent folders or the temporary cannot be created, or the final
            rename fails (e.g. `path` is a non-empty folder, or a folder where a file is
            written); the temporary is removed first.
        BaseException: whatever the block raises, re-raised after removing the temporary.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        temporary = pathlib.Path(tempfile.mkdtemp(prefix=_prefix(path.name), dir=path.parent))
    else:
        handle, name = tempfile.mkstemp(prefix=_prefix(path.name), dir=path.parent)
        os.close(handle)
        temporary = pathlib.Path(name)
    try:
        yield temporary
        if not directory:
            os.chmod(temporary, _file_mode(path))
        os.replace(temporary, path)
    except BaseException:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)
        raise
