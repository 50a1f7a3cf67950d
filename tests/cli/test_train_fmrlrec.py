import gzip
import json

from tfrec.cli.main import main

import numpy as np

from tests.helpers import run_in_fresh_process

NUM_ITEMS = 25


def _write_dataset(folder):
    rng = np.random.default_rng(0)
    folder.mkdir()
    with gzip.open(folder / "sequential_data.txt.gz", "wt") as handle:
        for user in range(1, 41):
            items = rng.choice(
                np.arange(101, 101 + NUM_ITEMS), size=rng.integers(4, 9), replace=False
            )
            handle.write(" ".join(map(str, [user, *items])) + "\n")
    np.savez(
        folder / "text_features.npz",
        item_ids=np.arange(101, 101 + NUM_ITEMS),
        features=rng.normal(size=(NUM_ITEMS, 6)).astype(np.float32),
    )


def test_train_prints_table_writes_metrics_and_exports_every_size(tmp_path, capsys):
    data = tmp_path / "beauty"
    _write_dataset(data)
    metrics_path = tmp_path / "metrics.json"
    export = tmp_path / "export"
    argv = [
        "train", "fmrlrec", "--dataset", "beauty", "--data-dir", str(data),
        "--features", "text,id", "--matryoshka-sizes", "4,8", "--max-len", "6",
        "--epochs", "1", "--batch-size", "16", "--verbose", "0",
        "--metrics-out", str(metrics_path), "--export-dir", str(export),
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "ndcg@10" in printed and "recall@20" in printed
    payload = json.loads(metrics_path.read_text())
    assert set(payload["test"]) == {"4", "8"}
    names = {f"{m}@{k}" for m in ("ndcg", "recall") for k in (5, 10, 20)}
    for values in payload["test"].values():
        # Ranked with the history (the run's rule) and, reported beside it, without it.
        assert set(values) == names | {f"history_masked/{name}" for name in names}
        assert all(0.0 <= v <= 1.0 for v in values.values())
        assert values["recall@5"] <= values["recall@10"] <= values["recall@20"]
    assert payload["mask_history"] is False
    assert "history masked" in printed and "history not masked" in printed

    code = f"""
    import numpy as np, tensorflow as tf
    loaded = tf.saved_model.load({str(export / "1")!r})
    history = np.array([[0, 0, 0, 101, 102, 103], [0, 0, 0, 0, 0, 125]], np.int64)
    out = {{}}
    # Every size's signature, from the one export that shares the item table between them.
    assert sorted(loaded.signatures) == ["serving_default", "serving_size_4", "serving_size_8"]
    for name in loaded.signatures:
        result = loaded.signatures[name](history=tf.constant(history), k=tf.constant(3))
        ids, scores = result["top_ids"].numpy(), result["top_scores"].numpy()
        assert ids.shape == (2, 3) and scores.shape == (2, 3), name
        assert set(ids.ravel()) <= set(range(101, 126)), ids
        assert np.all(np.diff(scores, axis=1) <= 0)
        out[name] = scores
    np.testing.assert_allclose(out["serving_default"], out["serving_size_8"])
    print("OK", sorted(loaded.signatures))
    """
    stdout = run_in_fresh_process(code)
    assert "OK" in stdout and "serving_size_4" in stdout


def test_missing_feature_file_is_a_clear_error(tmp_path, capsys):
    data = tmp_path / "beauty"
    _write_dataset(data)
    argv = ["train", "fmrlrec", "--dataset", "beauty", "--data-dir", str(data),
            "--features", "image", "--epochs", "1", "--no-export"]  # fmt: skip
    assert main(argv) == 2
    assert "image_features.npz" in capsys.readouterr().err


def test_serving_signatures_score_as_the_model_at_each_size():
    # The export scores against one precomputed table of item representations; each size's
    # top-k must be the model's own top-k at that Matryoshka size.
    from tfrec.export import SequenceServing
    from tfrec.models.fmrlrec import FMRLRec

    import tensorflow as tf

    rng = np.random.default_rng(4)
    model = FMRLRec(
        NUM_ITEMS,
        [4, 8],
        item_text_features=rng.normal(size=(NUM_ITEMS, 6)).astype(np.float32),
        item_id_embedding_dim=8,
        r_min=0.5,
        r_max=0.9,
    )
    item_ids = np.arange(101, 101 + NUM_ITEMS)
    history = np.array([[0, 0, 101, 102, 103], [0, 0, 0, 0, 125]], np.int64)
    indices = history - 100
    indices[history == 0] = 0
    scores = model(indices).numpy()  # [batch, sizes, items + 1]
    signatures = SequenceServing(model, item_ids, max_len=5).signatures()
    for position, size in enumerate([4, 8]):
        result = signatures[f"serving_size_{size}"](history=tf.constant(history), k=tf.constant(5))
        want = np.sort(scores[:, position], axis=1)[:, ::-1][:, :5]
        np.testing.assert_allclose(result["top_scores"].numpy(), want, rtol=1e-5, atol=1e-5)
        top_index = np.argsort(-scores[:, position], axis=1)[:, 0]
        np.testing.assert_array_equal(result["top_ids"].numpy()[:, 0], item_ids[top_index - 1])
