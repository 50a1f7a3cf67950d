"""Next-item evaluation of a sequential recommender (at every Matryoshka size, if it has them)."""

import weakref

from tfrec.data.sequences import pad_left
from tfrec.metrics.ndcg import NDCGAtK
from tfrec.metrics.recall import RecallAtK
from tfrec.utils.progress import progress_bar

import numpy as np
import tensorflow as tf

CUTOFFS = (5, 10, 20)


def history_mask(history, num_rows):
    """Which item rows each history holds: the exclusion mask of LRURec's evaluation.

    Args:
        history: int tensor `[batch, max_len]` of item indices, 0 = padding.
        num_rows: int. Score columns, padding row 0 included (number of items + 1).

    Returns:
        bool tensor `[batch, num_rows]`, True at the items of each history (never at 0).
    """
    history = tf.cast(history, tf.int64)
    positions = tf.where(history > 0)
    items = tf.gather_nd(history, positions)
    counts = tf.scatter_nd(
        tf.stack([positions[:, 0], items], axis=1),
        tf.ones_like(items, tf.float32),
        tf.stack([tf.shape(history, out_type=tf.int64)[0], tf.cast(num_rows, tf.int64)]),
    )
    return counts > 0


_EVALUATION_STEPS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def model_sizes(model) -> list:
    """The widths a model scores at: its Matryoshka sizes (`FMRLRec`) or its `width` (`LRURec`)."""
    sizes = getattr(model, "matryoshka_sizes", None)
    return list(sizes) if sizes else [model.width]


def _evaluation_step(model, mask_history: bool, cutoffs: tuple):
    metrics = [
        {
            f"{kind}@{k}": cls(k)
            for k in cutoffs
            for kind, cls in (("ndcg", NDCGAtK), ("recall", RecallAtK))
        }
        for _ in model_sizes(model)
    ]
    num_rows = model.num_items + 1

    @tf.function(autograph=False)  # plain Python loops over sizes; nothing to convert
    def step(inputs, batch_targets):
        scores = model(inputs, training=False)  # [batch, sizes, items + 1] or [batch, items + 1]
        if scores.shape.rank == 2:  # a single-size model
            scores = scores[:, tf.newaxis, :]
        if mask_history:
            scores = tf.where(history_mask(inputs, num_rows)[:, None, :], -np.inf, scores)
        truth = tf.one_hot(batch_targets, num_rows)
        for index, by_name in enumerate(metrics):
            for metric in by_name.values():
                metric.update_state(truth, scores[:, index])

    return metrics, step


def evaluate_next_item(
    model,
    histories,
    targets,
    max_len: int,
    batch_size: int,
    mask_history: bool,
    cutoffs=CUTOFFS,
    verbose: int = 0,
):
    """Full-ranking NDCG@K and Recall@K at every Matryoshka size from one forward pass.

    Args:
        model: a built `FMRLRec` (scores `[batch, sizes, num_items + 1]`) or a single-size
            model such as `LRURec` (scores `[batch, num_items + 1]`, reported at its `width`).
        histories: list of int arrays of item indices (the items before each target).
        targets: int array `[n]` of target item indices.
        max_len: int. History length fed to the model (left-padded, last items kept).
        batch_size: int. Users per forward pass.
        mask_history: bool. Set scores of items in the history to -inf before ranking.
        cutoffs: the K values.
        verbose: int. 1 shows a `tf_keras.utils.Progbar` over the batches; 0 (default) is silent.

    Returns:
        {size: {"ndcg@K": float, "recall@K": float, ...}} over all users.
    """
    sizes = model_sizes(model)
    # One set of metrics and one traced step per model and setting, reused across calls (a
    # validation every epoch would otherwise retrace the step each time).
    cache = _EVALUATION_STEPS.setdefault(model, {})
    key = (bool(mask_history), tuple(cutoffs))
    if key not in cache:
        cache[key] = _evaluation_step(model, bool(mask_history), tuple(cutoffs))
    metrics, step = cache[key]
    for by_name in metrics:
        for metric in by_name.values():
            metric.reset_state()

    inputs = pad_left(histories, max_len)
    progress = progress_bar(-(-len(inputs) // batch_size), verbose)
    for batch_index, start in enumerate(range(0, len(inputs), batch_size)):
        step(
            tf.constant(inputs[start : start + batch_size]),
            tf.constant(targets[start : start + batch_size]),
        )
        if progress:
            progress.update(batch_index + 1)
    return {
        size: {name: float(metric.result()) for name, metric in by_name.items()}
        for size, by_name in zip(sizes, metrics)
    }
