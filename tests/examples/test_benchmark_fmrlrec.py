"""examples/benchmark_fmrlrec.py --widths projects a Beauty run's length by width."""

import re
import subprocess
import sys

from tests.helpers import REPO_ROOT, data_dir

SCRIPT = str(REPO_ROOT / "examples" / "benchmark_fmrlrec.py")


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
        step_ms, validation_s, pass_s, run_min = (float(row.group(i)) for i in (2, 3, 4, 5))
        assert step_ms > 0 and validation_s > 0
        # Half a unit of each printed figure's last digit, carried through the sums.
        rounding = 0.05 * 175 / 1000 + 0.05 + 0.05
        assert abs(pass_s - (step_ms / 1000 * 175 + validation_s)) <= rounding  # 22,363 / 128
        assert abs(run_min - pass_s * 3 / 60) <= 0.05 * 3 / 60 + 0.05  # 3 passes
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
    # Each printed figure is rounded to its last digit (half a unit off at most); the bounds
    # carry that rounding through the division (faster machines print smaller times, whose
    # rounding moves the quotient more).
    for (step_ms, per_second), batch in zip(steps, (256, 128)):
        step_ms = float(step_ms)
        rounding = batch * 1000 * 0.05 / (step_ms - 0.05) ** 2 + 0.05
        assert abs(float(per_second) - batch / (step_ms / 1000)) <= rounding, out
    for one_pass, per_size, ratio in scoring:
        one_pass, per_size = float(one_pass), float(per_size)
        rounding = (per_size + 0.05) / (one_pass - 0.05) - per_size / one_pass + 0.005
        assert abs(float(ratio) - per_size / one_pass) <= rounding, out
