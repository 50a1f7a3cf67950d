"""Builds and installs Horovod's TensorFlow integration into the running Python environment.

Horovod 0.28.1 (the last release) does not build against TensorFlow >= 2.19 as published: its
optional XLA lowering (``horovod/tensorflow/xla_mpi_ops.cc``) includes TensorFlow headers that
moved. This installer applies the verified recipe:

1. does nothing when ``horovod.tensorflow`` already imports (idempotent);
2. installs the Debian build dependencies that are missing (``cmake``, ``g++``,
   ``libhighwayhash-dev``, ``libfarmhash-dev``) when it runs as root with ``apt-get``;
3. downloads the sdist from PyPI with pip (``--no-binary :all: --no-deps``);
4. deletes the one line of ``horovod/tensorflow/CMakeLists.txt`` that appends ``xla_mpi_ops.cc``;
5. builds it with ``HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1
   HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1`` against the TensorFlow installed in this
   interpreter (no build isolation, so the build sees that TensorFlow) and installs it;
6. checks that ``horovod.tensorflow`` imports and ``horovodrun`` exists.

The build takes about 10 minutes on 2 CPU cores. It runs unattended (no prompts), so CI can call
it. Usage::

    python tools/install_horovod.py [--version 0.28.1] [--force]

Exit status 0 on success (or when Horovod is already importable), 1 with a message naming the
failed step otherwise.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

HOROVOD_VERSION = "0.28.1"

# Only the Gloo controller and TensorFlow frameworks: no MPI, PyTorch or MXNet on our machines.
BUILD_ENVIRONMENT = {
    "HOROVOD_WITH_TENSORFLOW": "1",
    "HOROVOD_WITH_GLOO": "1",
    "HOROVOD_WITHOUT_MPI": "1",
    "HOROVOD_WITHOUT_PYTORCH": "1",
    "HOROVOD_WITHOUT_MXNET": "1",
    # Horovod's Keras code must bind to tf_keras, as tfrec does.
    "TF_USE_LEGACY_KERAS": "1",
    # Gloo's CMakeLists asks for CMake < 3.5 compatibility, which CMake 4 removed.
    "CMAKE_POLICY_VERSION_MINIMUM": "3.5",
}

# Debian package -> a file whose presence shows the package (or an equivalent) is installed.
DEBIAN_BUILD_DEPENDENCIES = {
    "cmake": "cmake",
    "g++": "g++",
    "libhighwayhash-dev": "/usr/include/highwayhash/highwayhash.h",
    "libfarmhash-dev": "/usr/include/farmhash.h",
}

_PATCH_MARKER = "xla_mpi_ops.cc"


class InstallError(RuntimeError):
    """A step of the Horovod installation failed; the message names the step."""


def _log(message: str) -> None:
    print(f"[install_horovod] {message}", flush=True)


def horovod_tensorflow_imports(python: str = sys.executable) -> bool:
    """Returns whether ``import horovod.tensorflow`` works in a fresh interpreter.

    A fresh process is used because a failed import of a compiled extension can leave the
    current interpreter in a half-imported state.

    Args:
        python: path of the Python interpreter to check.

    Returns:
        True when Horovod's TensorFlow integration imports under ``TF_USE_LEGACY_KERAS=1``.
    """
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [python, "-c", "import horovod.tensorflow as hvd; hvd.size"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return result.returncode == 0


def _search_path() -> str:
    """PATH with this interpreter's scripts folder first (where pip's ``cmake`` lands)."""
    scripts = os.path.dirname(sys.executable)
    return os.pathsep.join([scripts, os.environ.get("PATH", "")])


def _missing_debian_packages() -> list:
    missing = []
    for package, probe in DEBIAN_BUILD_DEPENDENCIES.items():
        if probe.startswith("/"):
            present = os.path.exists(probe)
        else:
            present = shutil.which(probe, path=_search_path()) is not None
        if not present:
            missing.append(package)
    return missing


def _run(command: list, step: str, env=None, cwd=None) -> None:
    _log(f"{step}: {' '.join(command)}")
    result = subprocess.run(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0:
        raise InstallError(f"step '{step}' failed with exit status {result.returncode}: {command}")


def install_debian_dependencies() -> None:
    """Installs missing build dependencies with apt-get when possible.

    Raises:
        InstallError: if packages are missing and cannot be installed (not root or no apt-get).
    """
    missing = _missing_debian_packages()
    if not missing:
        _log("build dependencies present: " + ", ".join(DEBIAN_BUILD_DEPENDENCIES))
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise InstallError(
            "missing build dependencies "
            + ", ".join(missing)
            + " and cannot install them (needs root and apt-get); install them with your "
            "system's package manager and re-run"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "update"], "apt-get update", env=env)
    _run(
        ["apt-get", "install", "-y", "--no-install-recommends", *missing],
        "apt-get install",
        env=env,
    )


def download_sdist(version: str, directory: str) -> str:
    """Downloads Horovod's source distribution from PyPI and unpacks it.

    Args:
        version: Horovod version, e.g. ``"0.28.1"``.
        directory: scratch directory for the archive and the unpacked tree.

    Returns:
        Path of the unpacked source tree (the directory holding ``setup.py``).

    Raises:
        InstallError: if pip cannot download it or the archive has an unexpected layout.
    """
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-binary",
            ":all:",
            "--no-deps",
            "--no-input",
            "-d",
            directory,
            f"horovod=={version}",
        ],
        "download sdist",
    )
    archives = glob.glob(os.path.join(directory, f"horovod-{version}.tar.gz"))
    if not archives:
        raise InstallError(f"pip did not leave horovod-{version}.tar.gz in {directory}")
    with tarfile.open(archives[0]) as archive:
        try:
            archive.extractall(directory, filter="data")
        except TypeError:  # Python < 3.11.4 has no extraction filters.
            archive.extractall(directory)
    source = os.path.join(directory, f"horovod-{version}")
    if not os.path.exists(os.path.join(source, "setup.py")):
        raise InstallError(f"unpacked sdist has no setup.py at {source}")
    return source


def patch_cmakelists(source: str) -> int:
    """Removes the line that adds the XLA lowering from ``horovod/tensorflow/CMakeLists.txt``.

    Args:
        source: the unpacked Horovod source tree.

    Returns:
        The number of lines removed (1 for 0.28.1; 0 if already patched).

    Raises:
        InstallError: if the CMake file is missing.
    """
    path = os.path.join(source, "horovod", "tensorflow", "CMakeLists.txt")
    if not os.path.exists(path):
        raise InstallError(f"cannot patch: {path} does not exist")
    with open(path) as handle:
        lines = handle.readlines()
    kept = [line for line in lines if _PATCH_MARKER not in line]
    with open(path, "w") as handle:
        handle.writelines(kept)
    removed = len(lines) - len(kept)
    _log(f"patched {path}: removed {removed} line(s) mentioning {_PATCH_MARKER}")
    return removed


def build_and_install(source: str) -> None:
    """Builds the patched source and installs it into this interpreter's environment.

    Raises:
        InstallError: if the build or installation fails.
    """
    env = dict(os.environ, **BUILD_ENVIRONMENT, PATH=_search_path())
    # Horovod's own runtime dependencies; installed first so the no-isolation build finds them.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-input",
            "cloudpickle",
            "psutil",
            "pyyaml",
            "packaging",
            "cffi>=1.4.0",
            "setuptools",
            "wheel",
        ],
        "install runtime dependencies",
        env=env,
    )
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-input",
            "--no-build-isolation",
            "--no-deps",
            "--no-cache-dir",
            "-v",
            source,
        ],
        "build and install horovod",
        env=env,
    )


def install(version: str = HOROVOD_VERSION, force: bool = False) -> None:
    """Runs the whole recipe; see the module docstring.

    Args:
        version: Horovod version to build.
        force: rebuild even if ``horovod.tensorflow`` already imports.

    Raises:
        InstallError: naming the step that failed.
    """
    if not force and horovod_tensorflow_imports():
        _log("horovod.tensorflow already imports in " + sys.executable + "; nothing to do")
        return
    start = time.time()
    install_debian_dependencies()
    with tempfile.TemporaryDirectory(prefix="tfrec-horovod-") as scratch:
        source = download_sdist(version, scratch)
        patch_cmakelists(source)
        build_and_install(source)
    if not horovod_tensorflow_imports():
        raise InstallError("horovod installed but 'import horovod.tensorflow' still fails")
    bin_dir = os.path.dirname(sys.executable)
    if not os.path.exists(os.path.join(bin_dir, "horovodrun")):
        raise InstallError(f"horovod installed but horovodrun is missing from {bin_dir}")
    _log(f"horovod {version} installed in {time.time() - start:.0f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/install_horovod.py",
        description="Build and install Horovod (TensorFlow + Gloo) for this interpreter.",
    )
    parser.add_argument("--version", default=HOROVOD_VERSION, help="Horovod version to build.")
    parser.add_argument("--force", action="store_true", help="Rebuild even if Horovod imports.")
    args = parser.parse_args(argv)
    try:
        install(args.version, force=args.force)
    except InstallError as error:
        print(f"install_horovod: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
