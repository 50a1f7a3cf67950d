"""examples/benchmark_training.py runs end to end at --quick sizes and reports every section."""

import json
import subprocess
import sys

from tests.helpers import REPO_ROOT, data_dir


def test_quick_benchmark_reports_every_model_evaluation_and_export(tmp_path):
    data_dir("ml-1m")  # skips (or fails in CI) without the datasets
    root = data_dir("amazon-beauty-p5").parent
    out = tmp_path / "benchmark.json"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "examples" / "benchmark_training.py"),
            "--quick",
            "--data-root",
            str(root),
            "--serving-requests",
            "5",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    payload = json.loads(out.read_text())
    rates = payload["matmul_gflop_per_s"]
    assert rates["mult_vae_output_layer"] > 0 and rates["square_2048"] > 0
    models = [row["model"] for row in payload["training"]]
    for name in ("Mult-VAE ML-1M", "Mult-DAE ML-1M", "BPR-MF K=20 ML-1M", "VBPR", "fMRLRec"):
        assert any(model.startswith(name) for model in models), (name, models)
    for row in payload["training"]:
        assert row["epoch_s"] > 0 and row["per_second"] > 0
        assert 0 < row["fraction_of_matmul_rate"] < 1.5, row
    assert len(payload["evaluation"]) == 3
    signatures = {(r["export_dir"].split("/")[-2], r["signature"]) for r in payload["serving"]}
    assert ("mult_vae", "serving_default") in signatures
    assert ("bpr_mf", "serving_default") in signatures
    assert ("fmrlrec", "serving_size_8") in signatures and (
        "fmrlrec",
        "serving_size_64",
    ) in signatures
    for row in payload["serving"]:
        for stats in row["batches"].values():
            assert 0 < stats["p50_ms"] <= stats["p99_ms"]
    assert "| model | first epoch (s) | s/epoch |" in result.stdout
