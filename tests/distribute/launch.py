"""Launching 2-process jobs from tests: ``horovodrun --gloo`` and TF_CONFIG workers on 127.0.0.1."""

import functools
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def child_env(extra=None) -> dict:
    """Environment for worker processes: the repository importable, quiet TensorFlow logs."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["TF_USE_LEGACY_KERAS"] = "1"
    env.pop("TF_CONFIG", None)
    env.update(extra or {})
    return env


@functools.lru_cache(maxsize=1)
def horovodrun_path():
    """Path of ``horovodrun`` for this interpreter, or None if Horovod is not usable."""
    candidate = pathlib.Path(sys.executable).parent / "horovodrun"
    path = str(candidate) if candidate.exists() else shutil.which("horovodrun")
    if path is None:
        return None
    probe = subprocess.run(
        [sys.executable, "-c", "import horovod.tensorflow.keras"],
        env=child_env(),
        capture_output=True,
        check=False,
    )
    return path if probe.returncode == 0 else None


# Skips a test where Horovod is not usable; in CI, which must have it, test_context's
# test_ci_has_horovod_so_the_two_process_tests_run fails instead.
requires_horovod = pytest.mark.skipif(
    horovodrun_path() is None,
    reason="Horovod is not installed (python tools/install_horovod.py)",
)


def free_ports(count: int) -> list:
    """`count` TCP ports free on 127.0.0.1 right now."""
    sockets, ports = [], []
    for _ in range(count):
        handle = socket.socket()
        handle.bind(("127.0.0.1", 0))
        sockets.append(handle)
        ports.append(handle.getsockname()[1])
    for handle in sockets:
        handle.close()
    return ports


def run_horovod(argv: list, num_workers: int = 2, timeout: float = 300.0, env=None):
    """Runs ``horovodrun --gloo -np N -H localhost:N python argv...``; returns CompletedProcess."""
    command = [
        horovodrun_path(),
        "--gloo",
        "-np",
        str(num_workers),
        "-H",
        f"localhost:{num_workers}",
        sys.executable,
        *argv,
    ]
    return subprocess.run(
        command,
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def run_multiworker(argv: list, num_workers: int = 2, timeout: float = 300.0, env=None) -> list:
    """Starts `num_workers` ``python argv...`` processes with a TF_CONFIG cluster on 127.0.0.1.

    Returns:
        One ``(returncode, stdout, stderr)`` per worker, in task order.
    """
    ports = free_ports(num_workers)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = []
    for index in range(num_workers):
        config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        processes.append(
            subprocess.Popen(
                [sys.executable, *argv],
                env=child_env(dict(env or {}, TF_CONFIG=config)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        )
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            results.append((process.returncode, out, err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def run_single(argv: list, timeout: float = 300.0, env=None):
    """Runs ``python argv...`` as one process; returns CompletedProcess."""
    return subprocess.run(
        [sys.executable, *argv],
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
