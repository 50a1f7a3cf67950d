import json
import pathlib
import subprocess
import sys

from tfrec.export import export_saved_model
from tfrec.export.interaction_serving import InteractionServing
from tfrec.models import MultDAE, Popularity

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tests.helpers import run_in_fresh_process

ITEM_IDS = np.array([10, 20, 30, 40, 50, 60], np.int64)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("export") / "popularity"
    counts = sp.csr_matrix(np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 1]]))
    model = Popularity(len(ITEM_IDS)).fit_closed_form(counts)  # scores: 3, 3, 2, 1, 0, 1
    serving = InteractionServing(model, ITEM_IDS, default_k=3)
    path = export_saved_model(
        serving, base, {"serving_default": serving.serve}, warmup_requests=serving.warmup_requests()
    )
    return base, path


def test_atomic_versioned_layout(exported):
    base, path = exported
    assert path == base / "1"
    assert sorted(p.name for p in base.iterdir()) == ["1"]  # no temporary folder left
    assert (path / "assets.extra" / "tf_serving_warmup_requests").is_file()
    assert (path.stat().st_mode & 0o755) == 0o755


def test_fresh_process_answers_in_dataset_ids(exported):
    _, path = exported
    out = run_in_fresh_process(
        f"""
        import json
        import tensorflow as tf
        loaded = tf.saved_model.load({str(path)!r})
        serve = loaded.signatures["serving_default"]
        # user A saw 10 and 20 (ids 999 unknown, -1 padding); user B saw nothing known.
        items = tf.constant([[10, 20, 999, -1], [-1, -1, -1, -1]], tf.int64)
        out = serve(item_ids=items, k=tf.constant(3))
        print(json.dumps({{k: v.numpy().tolist() for k, v in out.items()}}))
        """
    )
    result = json.loads(out.strip().splitlines()[-1])
    assert result["top_ids"][0] == [30, 40, 60]  # popular items, own items excluded
    assert result["top_ids"][1][:2] in ([10, 20], [20, 10])
    assert result["top_scores"][0] == [2.0, 1.0, 1.0]


def test_k_is_optional_for_tf_serving_and_checked(exported):
    _, path = exported
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    signature = proto.meta_graphs[0].signature_def["serving_default"]
    assert set(signature.inputs) == {"item_ids", "k"}
    assert set(signature.outputs) == {"top_ids", "top_scores"}
    assert tf.make_ndarray(signature.defaults["k"]) == 3
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="number of items"):
        serve(item_ids=tf.constant([[10]], tf.int64), k=tf.constant(7))


def test_saved_model_cli_lists_the_signature(exported):
    _, path = exported
    cli = pathlib.Path(sys.executable).with_name("saved_model_cli")
    result = subprocess.run(
        [str(cli), "show", "--dir", str(path), "--all"], capture_output=True, text=True, check=True
    )
    assert "signature_def['serving_default']" in result.stdout
    assert "inputs['item_ids']" in result.stdout and "outputs['top_ids']" in result.stdout


def test_warmup_file_holds_predict_requests(exported):
    from tensorflow_serving.apis import prediction_log_pb2

    _, path = exported
    records = list(tf.data.TFRecordDataset(str(path / "assets.extra/tf_serving_warmup_requests")))
    assert len(records) == 2
    log = prediction_log_pb2.PredictionLog.FromString(records[0].numpy())
    request = log.predict_log.request
    assert request.model_spec.name == "popularity"
    assert request.model_spec.signature_name == "serving_default"
    assert tf.make_ndarray(request.inputs["item_ids"]).dtype == np.int64


def test_a_trained_models_export_holds_its_weights_not_its_optimizer(tmp_path):
    from tfrec.data.pipeline import sparse_user_batches

    import tf_keras as keras

    counts = sp.random(40, len(ITEM_IDS), density=0.5, format="csr", random_state=0)
    counts.data[:] = 1.0
    model = MultDAE(len(ITEM_IDS), latent_dim=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(sparse_user_batches(counts, 20, seed=0), epochs=1, verbose=0)
    assert model.optimizer.variables()  # Adam has slots to leave out
    serving = InteractionServing(model, ITEM_IDS)
    path = export_saved_model(serving, tmp_path / "m", {"serving_default": serving.serve})
    names = [name for name, _ in tf.train.list_variables(str(path / "variables" / "variables"))]
    assert not [name for name in names if "optimizer" in name.lower()], names
    saved = [name for name in names if name.startswith("model_weights/")]
    assert len(saved) == len(model.weights), names
    assert serving.model is model


def test_failed_export_leaves_nothing(tmp_path):
    model = MultDAE(len(ITEM_IDS), latent_dim=2)
    serving = InteractionServing(model, ITEM_IDS)
    # An input that cannot become a TensorProto makes the warm-up step fail after saving.
    with pytest.raises((TypeError, ValueError)):
        export_saved_model(
            serving,
            tmp_path / "m",
            {"serving_default": serving.serve},
            warmup_requests={"serving_default": [{"item_ids": object()}]},
        )
    assert list((tmp_path / "m").iterdir()) == []
    with pytest.raises(ValueError, match="model has 6 items"):
        InteractionServing(model, ITEM_IDS[:3])


def test_exporting_into_a_version_folder_is_refused(exported):
    """`--export-dir .../1` would nest a SavedModel inside the served version."""
    model = MultDAE(len(ITEM_IDS), latent_dim=2)
    serving = InteractionServing(model, ITEM_IDS)
    _, version = exported
    before = sorted(p.name for p in version.iterdir())
    with pytest.raises(ValueError, match="is a SavedModel version folder"):
        export_saved_model(serving, version, {"serving_default": serving.serve})
    assert sorted(p.name for p in version.iterdir()) == before
