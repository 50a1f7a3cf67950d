"""examples/benchmark_scaling.py: `--recipe nvidia` adds one labelled row beside the sqrt rule."""

import argparse
import importlib.util
import subprocess
import sys

from tests.helpers import REPO_ROOT

SCRIPT = REPO_ROOT / "examples" / "benchmark_scaling.py"


def _script():
    spec = importlib.util.spec_from_file_location("benchmark_scaling", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _args(**overrides):
    values = dict(
        epochs=3,
        synthetic_steps=3,
        synthetic_epochs=1,
        sweep_only=True,
        ml1m_batches=[],
        synthetic_batches=[500, 24_576],
        horovod=False,
        recipe=None,
    )
    values.update(overrides)
    return argparse.Namespace(**values)


def test_recipe_adds_one_synthetic_row_at_its_batch_and_nothing_otherwise():
    script = _script()
    plain = script.configurations(_args())
    assert [c["global_batch"] for c in plain] == [500, 24_576]
    assert not any(c.get("recipe") for c in plain)
    with_recipe = script.configurations(_args(recipe="nvidia"))
    assert with_recipe[:2] == plain
    assert with_recipe[2] == dict(plain[1], recipe="nvidia")
    full = script.configurations(_args(sweep_only=False, recipe="nvidia"))
    assert [c for c in full if c.get("recipe")] == [dict(plain[1], recipe="nvidia")]


def test_sqrt_rule_and_recipe_rows_at_batch_24576_on_a_tiny_synthetic_matrix():
    # 1.6% of the users: 186 training users, so batch 24,576 is one full-batch update.
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--sweep-only", "--ml1m-batches",
         "--synthetic-batches", "24576", "--synthetic-epochs", "1",
         "--synthetic-scale", "0.016", "--recipe", "nvidia"],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| synthetic ")]
    assert len(rows) == 2, result.stdout
    assert "| 24576 | 7.01e-03 |" in rows[0]  # sqrt rule from 1e-3 at batch 500
    assert "| 24576 | 4.00e-03 (nvidia recipe) |" in rows[1]  # not rescaled
    assert "nvidia recipe (`tfrec train mult-vae --recipe nvidia`)" in result.stdout
