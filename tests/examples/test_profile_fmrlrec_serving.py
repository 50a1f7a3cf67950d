"""examples/profile_fmrlrec_serving.py prints the load, the matmul rate and every part's time."""

import re
import subprocess
import sys

from tests.helpers import REPO_ROOT


def test_small_profile_prints_every_part():
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "examples" / "profile_fmrlrec_serving.py"),
            "--num-items",
            "300",
            "--width",
            "64",
            "--k",
            "10",
            "--repeats",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "1-minute load average at start:" in out
    assert float(re.search(r"fp32 matmul rate: ([\d.]+) GFLOP/s", out).group(1)) > 0
    rows = re.findall(r"^\| (.+) \| ([\d.]+) \|$", out, flags=re.M)
    labels = [label for label, _ in rows]
    assert len(rows) == 6 and "top-10" in labels, out
    assert all(float(ms) > 0 for _, ms in rows)
