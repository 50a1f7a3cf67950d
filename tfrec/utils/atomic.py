"""Atomic outputs: a file or folder appears whole at its final path, or not at all."""

import contextlib
import os
import pathlib
import shutil
import tempfile


@contextlib.contextmanager
def atomic_output(path, directory: bool = False):
    """Yields a temporary path beside `path`; renames it onto `path` when the block succeeds.

    A kill or an exception inside the block leaves `path` as it was (absent, or its previous
    version for a file), never half-written: the temporary is a hidden ``.<name>.tmp-*`` entry
    in the same folder (so the rename is atomic), removed on error.

    Args:
        path: str or path. The final file or folder; its parent folders are created.
        directory: bool. Yield an empty temporary folder instead of a file path. A folder
            replaces only a missing or empty `path` (`os.replace` semantics).

    Yields:
        pathlib.Path of the temporary file (not yet created) or folder (created, mode 0700).

    Raises:
        Whatever the block raises, after removing the temporary.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        temporary = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    else:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
        os.close(handle)
        temporary = pathlib.Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)
        raise
