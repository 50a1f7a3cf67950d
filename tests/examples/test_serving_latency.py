"""examples/serving_latency.py measures an exported InteractionServing model in a fresh process."""

import importlib.util
import math

from tfrec.export import export_saved_model
from tfrec.export.interaction_serving import InteractionServing
from tfrec.models import MultVAE

import numpy as np
import pytest

from tests.helpers import REPO_ROOT


def _serving_latency():
    # examples/ is a folder of scripts, not a package: load the script by its path.
    path = REPO_ROOT / "examples" / "serving_latency.py"
    spec = importlib.util.spec_from_file_location("serving_latency", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    model = MultVAE(num_items=20, hidden_dims=(8,), latent_dim=4)
    model(np.zeros((1, 20), np.float32))  # builds the variables
    serving = InteractionServing(model, item_ids=np.arange(1, 21), default_k=5)
    return export_saved_model(
        serving,
        tmp_path_factory.mktemp("export") / "m",
        signatures={"serving_default": serving.serve},
        warmup_requests=serving.warmup_requests(),
    )


def test_measures_percentiles_per_batch_size(export_dir):
    result = _serving_latency().measure_serving_latency(
        export_dir, batch_sizes=(1, 4), requests=5, warmup=2, k=5
    )
    assert result["signature"] == "serving_default"
    assert result["input_source"] == "warmup_requests"
    assert sorted(result["batches"]) == [1, 4]
    for batch, stats in result["batches"].items():
        assert stats["requests"] == 5
        assert stats["input_shapes"]["item_ids"][0] == batch
        assert stats["input_shapes"]["k"] == []
        for key in ("p50_ms", "p99_ms", "mean_ms"):
            assert math.isfinite(stats[key]) and stats[key] > 0, (key, stats)
        assert stats["p50_ms"] <= stats["p99_ms"]
    assert result["load_seconds"] > 0
    assert result["export_size_mb"] > 0


def test_missing_signature_names_the_available_ones(export_dir):
    with pytest.raises(ValueError, match="no signature 'serving_size_8'.*serving_default"):
        _serving_latency().measure_serving_latency(export_dir, signature="serving_size_8")


def test_folder_without_saved_model_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        _serving_latency().measure_serving_latency(tmp_path)
