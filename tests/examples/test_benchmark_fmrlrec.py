"""examples/benchmark_fmrlrec.py --widths projects a Beauty run's length by width."""

import itertools
import re
import subprocess
import sys

from tests.helpers import REPO_ROOT, data_dir

SCRIPT = str(REPO_ROOT / "examples" / "benchmark_fmrlrec.py")


def _half_unit(printed: str) -> float:
    """Half a unit of a printed figure's last digit: "118.8" -> 0.05, "12" -> 0.5."""
    decimals = len(printed.partition(".")[2])
    return 0.5 * 10.0**-decimals


def _agrees(printed: str, formula, *inputs: str) -> bool:
    """Whether a printed figure can be `formula` of printed inputs, given their rounding.

    Each input (and the printed result) is off its true value by at most half a unit of its
    last digit. `formula` must be monotone in each input, so its extremes over that box lie
    at the box's corners.
    """
    boxes = [(float(x) - _half_unit(x), float(x) + _half_unit(x)) for x in inputs]
    values = [formula(*corner) for corner in itertools.product(*boxes)]
    slack = _half_unit(printed)
    return min(values) - slack <= float(printed) <= max(values) + slack


def test_widths_mode_times_each_width_beside_the_matmul_rate():
    beauty = data_dir("amazon-beauty-p5")  # skips (or fails in CI) without the datasets
    result = subprocess.run(
        [sys.executable, SCRIPT, "--widths", "8,16", "--repeats", "1", "--epochs", "3",
         "--data-dir", str(beauty)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert re.match(r"before: fp32 matmul [0-9.]+ GFLOP/s", lines[1]), lines
    assert re.match(r"after: fp32 matmul [0-9.]+ GFLOP/s", lines[-1]), lines
    pattern = (r"width +(\d+) .*step +([0-9.]+) ms, validation +([0-9.]+) s, pass +([0-9.]+) s, "
               r"run +([0-9.]+) min")  # fmt: skip
    rows = [re.search(pattern, line) for line in lines if "width" in line and "step" in line]
    assert [int(row.group(1)) for row in rows] == [8, 16]
    for row in rows:
        step_ms, validation_s, pass_s, run_min = (row.group(i) for i in (2, 3, 4, 5))
        assert float(step_ms) > 0 and float(validation_s) > 0
        # A pass is 175 updates (22,363 / 128) and one validation; the run is 3 passes.
        assert _agrees(pass_s, lambda step, val: step / 1000 * 175 + val, step_ms, validation_s)
        assert _agrees(run_min, lambda one_pass: one_pass * 3 / 60, pass_s)
    assert "a pass is 175 updates and 22363 validation users; 3 passes" in result.stdout
    assert "sizes 8-8)" in result.stdout and "sizes 8-16)" in result.stdout


def test_widths_must_be_powers_of_two():
    result = subprocess.run(
        [sys.executable, SCRIPT, "--widths", "48"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2
    assert "powers of two >= 8, got '48'" in result.stderr


def test_quick_mode_times_training_and_scoring_at_the_tested_sizes():
    result = subprocess.run(
        [sys.executable, SCRIPT, "--quick", "--repeats", "1"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"^before: fp32 matmul [0-9.]+ GFLOP/s", out, re.M), out
    assert re.search(r"^after: fp32 matmul [0-9.]+ GFLOP/s", out, re.M), out
    assert "paper (Beauty, width 1024)" not in out  # --quick: the tested sizes only
    steps = re.findall(r"training step +([0-9.]+) ms +([0-9.]+) sequences/s", out)
    scoring = re.findall(
        r"one pass +([0-9.]+) ms, one pass per size +([0-9.]+) ms \(ratio ([0-9.]+)x\)", out
    )
    assert len(steps) == len(scoring) == 2, out
    # Printed figures are rounded (faster machines print smaller times, whose rounding moves
    # a quotient more): each quotient must agree with its printed inputs given that rounding.
    for (step_ms, per_second), batch in zip(steps, (256, 128)):
        assert _agrees(per_second, lambda step, b=batch: b / (step / 1000), step_ms), out
    for one_pass, per_size, ratio in scoring:
        assert _agrees(ratio, lambda whole, each: each / whole, one_pass, per_size), out
