import json

from tfrec.cli.main import main
from tfrec.export import export_saved_model
from tfrec.export.bpr_serving import BPRServing
from tfrec.models.bpr_mf import BPRMF
from tfrec.models.vbpr import VBPR

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tests.helpers import run_in_fresh_process, write_ml100k_ratings

TEST_KEYS = {"auc", "cold_auc", "cold_users", "new_item_auc", "recall@50", "ndcg@50"}


@pytest.fixture(scope="module")
def tiny_movielens(tmp_path_factory):
    """A made-up ML-100K-format folder: 25 users x 70 items, 8-d features for most items."""
    folder = tmp_path_factory.mktemp("ml-100k")
    rng = np.random.default_rng(0)
    write_ml100k_ratings(folder, 25, 70, interactions=(6, 20), ratings=(1, 6), rng=rng)
    item_ids = np.arange(1, 66)  # items 66-70 have no vector: zero features
    np.savez(folder / "image_features.npz", item_ids=item_ids, features=rng.random((65, 8)))
    return folder


def _train(folder, tmp_path, model, *extra):
    out = tmp_path / f"{model}.json"
    argv = ["train", model, "--dataset", "ml-100k", "--data-dir", str(folder), "--epochs", "2"]
    argv += ["--batch-size", "64", "--verbose", "0", "--metrics-out", str(out), *extra]
    return main(argv), out


def test_vbpr_cli_writes_metrics_and_exports(tiny_movielens, tmp_path):
    code, out = _train(
        tiny_movielens,
        tmp_path,
        "vbpr",
        "--export-dir",
        str(tmp_path / "export"),
        "--popularity-baseline",
    )
    assert code == 0
    payload = json.loads(out.read_text())
    assert TEST_KEYS <= set(payload["test"])
    assert 0.0 <= payload["test"]["auc"] <= 1.0
    assert payload["popularity"]["new_item_auc"] == 0.5  # every withheld item has count 0
    assert (tmp_path / "export" / "1" / "saved_model.pb").is_file()
    # Only the model's weights are exported, not the optimizer's slots.
    names = [
        name for name, _ in tf.train.list_variables(str(tmp_path / "export/1/variables/variables"))
    ]
    assert names and not [name for name in names if "optimizer" in name.lower()], names


def test_bpr_mf_has_nothing_to_go_on_for_new_items(tiny_movielens, tmp_path):
    code, out = _train(tiny_movielens, tmp_path, "bpr-mf", "--no-export")
    assert code == 0
    assert json.loads(out.read_text())["test"]["new_item_auc"] == 0.5


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"item_ids": np.arange(1, 71), "features": np.zeros(70)}, "must have shape"),
        ({"item_ids": np.arange(1, 71), "features": np.full((70, 2), np.nan)}, "NaN"),
        ({"item_ids": np.arange(1000, 1070), "features": np.zeros((70, 2))}, "do not match"),
    ],
)
def test_bad_feature_files_give_clear_errors(tiny_movielens, tmp_path, capsys, arrays, message):
    bad = tmp_path / "bad_features.npz"
    np.savez(bad, **arrays)
    code, out = _train(
        tiny_movielens, tmp_path, "vbpr", "--no-export", "--image-features", str(bad)
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "bad_features.npz" in error and message in error
    assert not out.exists()


# --- export ------------------------------------------------------------------------------------

USER_IDS = np.array([101, 102, 103], np.int64)
ITEM_IDS = np.array([11, 12, 13, 14, 15, 16], np.int64)
TRAIN = sp.csr_matrix(
    np.array([[1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 0, 1, 1, 1, 0]], np.float32)
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    rng = np.random.default_rng(3)
    model = VBPR(3, 6, feature_dim=4, num_factors=2, num_visual_factors=2)
    model.set_item_features(rng.random((6, 4)).astype(np.float32))
    for weight in model.trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    serving = BPRServing(model, USER_IDS, ITEM_IDS, TRAIN, default_k=2)
    base = tmp_path_factory.mktemp("export") / "vbpr"
    path = export_saved_model(
        serving, base, serving.signatures(), warmup_requests=serving.warmup_requests()
    )
    weights = {w.name.split("/")[-1].split(":")[0]: w.numpy() for w in model.weights}
    return path, weights


def _reference_scores(w):
    # x_ui = beta_i + gamma_u . gamma_i + theta_u . (E f_i) + beta' . f_i, in numpy.
    f = w["item_features"]
    return (
        w["item_bias"][None, :]
        + w["user_factors"] @ w["item_factors"].T
        + w["user_visual_factors"] @ (f @ w["visual_projection"]).T
        + (f @ w["visual_bias"])[None, :]
    )


def test_fresh_process_top_k_excludes_training_items(exported):
    path, weights = exported
    out = run_in_fresh_process(
        f"""
        import json
        import numpy as np
        import tensorflow as tf
        loaded = tf.saved_model.load({str(path)!r})
        serve = loaded.signatures["serving_default"]
        out = serve(user_id=tf.constant([101, 102, 103], tf.int64), k=tf.constant(2))
        new = loaded.signatures["score_new_items"](
            user_id=tf.constant([103, 101], tf.int64),
            item_features=tf.constant([[1.0, 0.0, 0.5, 0.0]], tf.float32),
        )
        print(json.dumps({{
            "top_ids": out["top_ids"].numpy().tolist(),
            "top_scores": out["top_scores"].numpy().tolist(),
            "new": new["scores"].numpy().tolist(),
        }}))
        """
    )
    result = json.loads(out.strip().splitlines()[-1])
    scores = _reference_scores(weights)
    masked = np.where(TRAIN.toarray() > 0, -np.inf, scores)
    expected = np.argsort(-masked, axis=1, kind="stable")[:, :2]
    assert result["top_ids"] == ITEM_IDS[expected].tolist()
    np.testing.assert_allclose(
        result["top_scores"], np.take_along_axis(masked, expected, 1), rtol=1e-5
    )
    feature = np.array([1.0, 0.0, 0.5, 0.0])
    new_expected = (
        weights["user_visual_factors"][[2, 0]] @ (feature @ weights["visual_projection"])
        + feature @ weights["visual_bias"]
    )
    np.testing.assert_allclose(np.ravel(result["new"]), new_expected, rtol=1e-5)


def test_signatures_k_optional_and_unknown_user(exported):
    path, _ = exported
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    signature = proto.meta_graphs[0].signature_def["serving_default"]
    assert set(signature.inputs) == {"user_id", "k"}
    assert set(signature.outputs) == {"top_ids", "top_scores"}
    assert tf.make_ndarray(signature.defaults["k"]) == 2
    assert (path / "assets.extra" / "tf_serving_warmup_requests").is_file()
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a training user"):
        serve(user_id=tf.constant([999], tf.int64), k=tf.constant(1))


def test_bpr_mf_export_has_no_feature_signature(tmp_path):
    model = BPRMF(3, 6, num_factors=2)
    serving = BPRServing(model, USER_IDS, ITEM_IDS, TRAIN, default_k=6)
    assert set(serving.signatures()) == {"serving_default"}
    # k = all items: user 103 gets only its two unseen items on top.
    top = serving.serve(tf.constant([103], tf.int64), tf.constant(2))["top_ids"].numpy()
    assert sorted(top[0].tolist()) == [12, 16]
    with pytest.raises(ValueError, match="do not match"):
        BPRServing(model, USER_IDS[:2], ITEM_IDS, TRAIN)


def test_exported_score_new_items_takes_raw_features(tiny_movielens, tmp_path):
    """`tfrec train vbpr` stores the min-max range of the features file in its export, whose
    ``score_new_items`` scales raw features itself: a row at the file's minimum is the zero
    vector after scaling, which VBPR scores 0 for every user (its new-item score is linear in
    the features, without a bias)."""
    import shutil

    from tfrec.export.saved_model import read_metadata

    folder = tmp_path / "ml-100k"
    shutil.copytree(tiny_movielens, folder)
    with np.load(folder / "image_features.npz") as archive:
        raw = archive["features"] * 50.0 - 7.0  # far from [0, 1]
        np.savez(folder / "image_features.npz", item_ids=archive["item_ids"], features=raw)
    code, _ = _train(folder, tmp_path, "vbpr", "--export-dir", str(tmp_path / "export"))
    assert code == 0
    version = tmp_path / "export" / "1"
    scaling = read_metadata(version)["feature_scaling"]
    assert scaling["scaling"] == "minmax"
    assert scaling["low"] == pytest.approx(raw.min())
    assert scaling["high"] == pytest.approx(raw.max())
    score = tf.saved_model.load(str(version)).signatures["score_new_items"]
    users = tf.constant([1, 2, 3], tf.int64)
    at_low = np.full([1, raw.shape[1]], raw.min(), np.float32)
    np.testing.assert_allclose(score(user_id=users, item_features=at_low)["scores"], 0, atol=1e-5)
    at_high = np.full([1, raw.shape[1]], raw.max(), np.float32)
    assert np.abs(score(user_id=users, item_features=at_high)["scores"].numpy()).max() > 1e-4
