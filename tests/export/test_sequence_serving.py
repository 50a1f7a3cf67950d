"""`SequenceServing`: the shared unknown-id rule, history exclusion and checked k for fMRLRec,
and the one item table that every size signature of an export shares."""

from tfrec.export import RecommenderServing, SequenceServing, export_saved_model
from tfrec.models.fmrlrec import FMRLRec
from tfrec.models.lrurec import LRURec

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

NUM_ITEMS = 12
ITEM_IDS = np.arange(501, 501 + NUM_ITEMS)


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(7)
    model = FMRLRec(
        NUM_ITEMS,
        [4, 8],
        item_text_features=rng.normal(size=(NUM_ITEMS, 5)).astype(np.float32),
        item_id_embedding_dim=8,
        r_min=0.5,
        r_max=0.9,
    )
    model(np.zeros((1, 5), np.int64))  # build
    return model


def _scores(model, history_indices, position):
    return model(np.asarray(history_indices, np.int64), training=False).numpy()[:, position, 1:]


def test_unknown_ids_are_dropped_and_the_rest_kept_in_order(model):
    serve = SequenceServing(model, ITEM_IDS, max_len=5).signatures()["serving_default"]
    with_unknown = serve(
        history=tf.constant([[0, 503, 99999, 504, 77]], tf.int64), k=tf.constant(4)
    )
    without = serve(history=tf.constant([[0, 0, 0, 503, 504]], tf.int64), k=tf.constant(4))
    np.testing.assert_array_equal(with_unknown["top_ids"], without["top_ids"])
    np.testing.assert_allclose(with_unknown["top_scores"], without["top_scores"], rtol=1e-6)
    # And both are the model's own top-4 for the history [503, 504] (indices 3, 4).
    want = np.argsort(-_scores(model, [[0, 0, 0, 3, 4]], 1), axis=1)[:, :4]
    np.testing.assert_array_equal(without["top_ids"].numpy(), ITEM_IDS[want])


def test_exclude_history_removes_the_history_items(model):
    history = tf.constant([[0, 0, 501, 502, 503]], tf.int64)
    serving = SequenceServing(model, ITEM_IDS, max_len=5, exclude_history=True)
    for name, position in (("serving_size_4", 0), ("serving_size_8", 1)):
        top = serving.signatures()[name](history=history, k=tf.constant(NUM_ITEMS - 3))
        assert not {501, 502, 503} & set(top["top_ids"].numpy()[0].tolist())
        scores = _scores(model, [[0, 0, 1, 2, 3]], position)
        scores[:, :3] = -np.inf
        want = np.sort(scores, axis=1)[:, ::-1][:, : NUM_ITEMS - 3]
        np.testing.assert_allclose(top["top_scores"].numpy(), want, rtol=1e-5, atol=1e-5)


def test_k_is_checked_and_warmup_requests_cover_every_signature(model):
    serving = SequenceServing(model, ITEM_IDS, max_len=5)
    assert set(serving.warmup_requests()) == set(serving.signatures())
    serve = serving.signatures()["serving_size_4"]
    history = tf.constant([[0, 0, 0, 0, 501]], tf.int64)
    for k in (0, NUM_ITEMS + 1):
        with pytest.raises(tf.errors.InvalidArgumentError, match="k must be"):
            serve(history=history, k=tf.constant(k))


def test_item_vocabulary_must_be_distinct(model):
    with pytest.raises(ValueError, match="distinct"):
        RecommenderServing(model, [1, 2, 2])
    with pytest.raises(ValueError, match="has shape"):
        SequenceServing(model, ITEM_IDS[:-1], max_len=5)


def test_sizes_must_be_matryoshka_sizes(model):
    with pytest.raises(ValueError, match="size 12 is not one of"):
        SequenceServing(model, ITEM_IDS, max_len=5, sizes=[4, 12])
    with pytest.raises(ValueError, match="at least one"):
        SequenceServing(model, ITEM_IDS, max_len=5, sizes=[])
    with pytest.raises(ValueError, match="Matryoshka sizes"):
        SequenceServing(LRURec(NUM_ITEMS, width=8), ITEM_IDS, max_len=5, sizes=[8])
    assert set(SequenceServing(model, ITEM_IDS, max_len=5, sizes=[4]).signatures()) == {
        "serving_default",
        "serving_size_4",
    }


# --- One item table shared by every size signature ----------------------------------------------

SHARED_ITEMS = 300
SHARED_SIZES = [4, 8, 16]
SHARED_ITEM_IDS = np.arange(1001, 1001 + SHARED_ITEMS)


def _export(serving, folder):
    return export_saved_model(serving, folder, serving.signatures(), version=1)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The model, its all-sizes export and one separate export per size."""
    rng = np.random.default_rng(11)
    model = FMRLRec(
        SHARED_ITEMS,
        SHARED_SIZES,
        item_text_features=rng.normal(size=(SHARED_ITEMS, 24)).astype(np.float32),
        r_min=0.5,
        r_max=0.9,
    )
    model(np.zeros((1, 6), np.int64))  # build
    base = tmp_path_factory.mktemp("exports")
    shared = _export(SequenceServing(model, SHARED_ITEM_IDS, max_len=6), base / "all")
    separate = {
        size: _export(
            SequenceServing(model, SHARED_ITEM_IDS, max_len=6, sizes=[size]), base / f"size_{size}"
        )
        for size in SHARED_SIZES
    }
    return model, shared, separate


def _stored_variables(export_dir) -> dict:
    """Checkpoint key -> shape of every variable a SavedModel stores."""
    checkpoint = str(export_dir / "variables" / "variables")
    return {
        name: tuple(shape)
        for name, shape in tf.train.list_variables(checkpoint)
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH"
    }


def _graph_constant_shapes(export_dir) -> list:
    """Shapes of the constants in a SavedModel's graph and its functions' graphs."""
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((export_dir / "saved_model.pb").read_bytes())
    graph = saved_model.meta_graphs[0].graph_def
    nodes = [
        *graph.node,
        *(node for function in graph.library.function for node in function.node_def),
    ]
    return [
        tuple(dim.size for dim in node.attr["value"].tensor.tensor_shape.dim)
        for node in nodes
        if node.op == "Const"
    ]


def _item_tables(variables: dict) -> dict:
    """The stored variables with a row per item index (padding row included)."""
    return {name: shape for name, shape in variables.items() if shape[:1] == (SHARED_ITEMS + 1,)}


def _bytes_on_disk(folder) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_the_export_stores_one_item_table_shared_by_every_size(exports):
    model, shared, separate = exports
    variables = _stored_variables(shared)
    # One table at the full width: no per-size copy [301, 4] or [301, 8], and no frozen text
    # feature table [301, 24].
    tables = _item_tables(variables)
    assert list(tables.values()) == [(SHARED_ITEMS + 1, SHARED_SIZES[-1])], tables
    # Nor is a copy baked into a signature's graph as a constant.
    assert not [s for s in _graph_constant_shapes(shared) if s[:1] == (SHARED_ITEMS + 1,)]
    (name,) = tables
    stored = tf.train.load_checkpoint(str(shared / "variables" / "variables")).get_tensor(name)
    np.testing.assert_allclose(stored, model.item_representations().numpy(), rtol=1e-6)

    # A separate export of size m stores a [301, m] table. Beyond what the shared export
    # stores, the separate ones together hold only the smaller sizes' tables and one more item
    # vocabulary per extra export: each size's slice of the recurrent blocks is in both.
    separate_variables = [_stored_variables(folder) for folder in separate.values()]
    for size, stored_variables in zip(SHARED_SIZES, separate_variables):
        assert list(_item_tables(stored_variables).values()) == [(SHARED_ITEMS + 1, size)]

    def elements(shapes):
        return sum(int(np.prod(shape)) for shape in shapes)

    extra = (SHARED_ITEMS + 1) * sum(SHARED_SIZES[:-1]) + SHARED_ITEMS * (len(SHARED_SIZES) - 1)
    total_separate = sum(elements(v.values()) for v in separate_variables)
    assert total_separate - elements(variables.values()) == extra
    assert _bytes_on_disk(shared) < sum(_bytes_on_disk(folder) for folder in separate.values())


def test_a_one_size_export_answers_as_that_size_of_the_shared_export(exports):
    _, shared, separate = exports
    history = tf.constant([[0, 0, 1003, 1010, 1042, 1299], [0, 0, 0, 0, 0, 1001]], tf.int64)
    shared_signatures = tf.saved_model.load(str(shared)).signatures
    for size, folder in separate.items():
        signatures = tf.saved_model.load(str(folder)).signatures
        assert set(signatures) == {"serving_default", f"serving_size_{size}"}
        want = shared_signatures[f"serving_size_{size}"](history=history, k=tf.constant(7))
        for name in signatures:
            top = signatures[name](history=history, k=tf.constant(7))
            np.testing.assert_array_equal(top["top_ids"], want["top_ids"])
            np.testing.assert_allclose(top["top_scores"], want["top_scores"], rtol=1e-5)
