"""``tfrec train fmrlrec``: fMRLRec (or the ID-only LRU baseline) on Amazon Beauty or ML-100K.

Reads chronological sequences, splits them leave-one-out (last item test, second to last
validation), trains with `fit` keeping the weights of the epoch with the best validation NDCG@10
at the full size, and reports full-ranking NDCG@{5,10,20} and Recall@{5,10,20} over all items for
every Matryoshka size from one forward pass. Exports one SavedModel with a signature per size.

References:
    - [Wang et al., 2024](https://arxiv.org/abs/2409.16627). Train Once, Deploy Anywhere:
      Matryoshka Representation Learning for Multimodal Recommendation. EMNLP Findings.
"""

import time

from tfrec.cli import common
from tfrec.data.sequences import DATA_FOLDERS, DATASETS

import numpy as np

CUTOFFS = (5, 10, 20)
# Measured by examples/benchmark_training.py (README, "Training speed").
DEFAULT_STEPS_PER_EXECUTION = 4
FEATURES = ("text", "image", "id")
FEATURE_FILES = {"text": "text_features.npz", "image": "image_features.npz"}


def add_arguments(parser) -> None:
    common.add_common_arguments(
        parser, default_dataset="beauty", datasets=DATASETS, default_batch_size=128
    )
    group = parser.add_argument_group("fMRLRec")
    group.add_argument(
        "--features",
        default="text,image",
        help="Comma-separated item representation: any of text, image, id (learned id "
        "embedding). 'id' alone is the ID-only LRU baseline. Default text,image.",
    )
    group.add_argument("--matryoshka-sizes", default="16,32,64,128,256")
    group.add_argument("--max-len", type=int, default=50, help="History length (items).")
    group.add_argument("--num-blocks", type=int, default=1)
    group.add_argument("--dropout", type=float, default=0.1)
    group.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay.")
    group.add_argument("--r-min", type=float, default=0.0)
    group.add_argument("--r-max", type=float, default=0.1)
    group.add_argument(
        "--mask-history",
        action="store_true",
        help="Exclude items already in the history from the ranking (LRURec does; fMRLRec "
        "does not). Default: not masked.",
    )
    group.add_argument(
        "--all-windows",
        action="store_true",
        help="Train on every max-len window of long histories, not only the last one.",
    )
    group.add_argument("--patience", type=int, default=None, help="Early-stopping patience.")
    group.add_argument("--eval-batch-size", type=int, default=512)
    common.add_execution_arguments(
        parser, steps_per_execution=DEFAULT_STEPS_PER_EXECUTION, jit_compile=False
    )


def parse_sizes(text: str) -> list:
    try:
        sizes = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError as error:
        raise ValueError(
            f"--matryoshka-sizes must be comma-separated ints, got {text!r}."
        ) from error
    if not sizes or any(b <= a for a, b in zip(sizes, sizes[1:])) or sizes[0] < 1:
        raise ValueError(
            f"--matryoshka-sizes must be strictly increasing positive ints, got {text!r}."
        )
    return sizes


def parse_features(text: str) -> list:
    features = [part.strip() for part in str(text).split(",") if part.strip()]
    unknown = sorted(set(features) - set(FEATURES))
    if not features or unknown:
        raise ValueError(f"--features must list some of {', '.join(FEATURES)}; got {text!r}.")
    return features


def load_features(folder, features, item_ids):
    """Loads the frozen text/image tables aligned to `item_ids` (missing items: zero rows)."""
    from tfrec.data.item_features import load_item_features

    tables = {}
    for name in ("text", "image"):
        if name in features:
            path = folder / FEATURE_FILES[name]
            if not path.is_file():
                raise FileNotFoundError(
                    f"--features {name}: no {FEATURE_FILES[name]} in {folder} (this dataset may "
                    f"have no {name} features)."
                )
            # Image features (ReLU6 activations) are scaled to unit norm like the text ones.
            table, _ = load_item_features(path, item_ids, scaling="l2" if name == "image" else None)
            tables[name] = table
    return tables


def evaluate_sizes(model, histories, targets, max_len, batch_size, mask_history, cutoffs=CUTOFFS):
    """Full-ranking NDCG@K and Recall@K at every Matryoshka size from one forward pass.

    Args:
        model: a built `FMRLRec`.
        histories: list of int arrays of item indices (the items before each target).
        targets: int array `[n]` of target item indices.
        max_len: int. History length fed to the model (left-padded, last items kept).
        batch_size: int. Users per forward pass.
        mask_history: bool. Set scores of items in the history to -inf before ranking.
        cutoffs: the K values.

    Returns:
        {size: {"ndcg@K": float, "recall@K": float, ...}} over all users.
    """
    from tfrec.data.sequences import pad_left
    from tfrec.metrics import NDCGAtK, RecallAtK

    import tensorflow as tf

    sizes = model.matryoshka_sizes
    metrics = [
        {
            f"{kind}@{k}": cls(k)
            for k in cutoffs
            for kind, cls in (("ndcg", NDCGAtK), ("recall", RecallAtK))
        }
        for _ in sizes
    ]
    num_rows = model.num_items + 1

    @tf.function(autograph=False)  # plain Python loops over sizes; nothing to convert
    def step(inputs, batch_targets):
        scores = model(inputs, training=False)  # [batch, sizes, items + 1]
        if mask_history:
            positions = tf.where(inputs > 0)
            items = tf.gather_nd(inputs, positions)
            indices = tf.stack([positions[:, 0], items], axis=1)
            excluded = tf.scatter_nd(
                indices,
                tf.ones_like(items, tf.float32),
                [tf.shape(inputs, out_type=tf.int64)[0], num_rows],
            )
            scores = tf.where(excluded[:, None, :] > 0, -np.inf, scores)
        truth = tf.one_hot(batch_targets, num_rows)
        for index, by_name in enumerate(metrics):
            for metric in by_name.values():
                metric.update_state(truth, scores[:, index])

    inputs = pad_left(histories, max_len)
    for start in range(0, len(inputs), batch_size):
        step(
            tf.constant(inputs[start : start + batch_size]),
            tf.constant(targets[start : start + batch_size]),
        )
    return {
        size: {name: float(metric.result()) for name, metric in by_name.items()}
        for size, by_name in zip(sizes, metrics)
    }


def _top_k_signature(module, small, max_len):
    import tensorflow as tf

    size = small.matryoshka_sizes[-1]
    full = size == module.item_representations.shape[1]

    # TF 2.21 records a tensor default in SignatureDef.defaults: k is optional for TF Serving.
    def serve(history, k=tf.constant(10, tf.int32)):  # noqa: B008
        indices = module.id_to_index.lookup(tf.cast(history, tf.int64))
        # The item representations are computed once at export, not per request: projecting
        # the whole catalogue's frozen features costs far more than scoring one history.
        items = module.item_representations
        items = tf.convert_to_tensor(items) if full else items[:, :size]
        hidden = small.encode(indices, items, training=False, last_only=True)[:, -1]
        scores = small.scores(hidden, items)  # this size only, not every smaller one too
        top = tf.math.top_k(scores, k=k)
        return {"top_ids": tf.gather(module.item_ids, top.indices), "top_scores": top.values}

    return tf.function(
        serve,
        input_signature=[
            tf.TensorSpec([None, max_len], tf.int64, name="history"),
            tf.TensorSpec([], tf.int32, name="k"),
        ],
    )


def build_serving_module(model, item_ids, max_len):
    """A `tf.Module` with one top-K signature per Matryoshka size, in the dataset's own ids.

    ``serving_size_<m>`` runs the width-m model (`FMRLRec.sliced`'s blocks) against the first m
    features of one shared table of projected item representations, computed once at export
    (so the frozen feature tables are not exported, and not once per size); ``serving_default``
    is the full size. Each takes ``history`` int64 `[batch, max_len]` of the dataset's item ids,
    left-padded with 0 (ids not in the catalogue count as padding), and optional ``k`` (int32,
    default 10); it returns ``top_ids`` int64 `[batch, k]` and ``top_scores`` float32
    `[batch, k]`. Items in the history are not excluded.
    """
    import tensorflow as tf

    module = tf.Module()
    module.item_ids = tf.Variable(np.concatenate([[0], item_ids]).astype(np.int64), trainable=False)
    module.id_to_index = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(item_ids, tf.int64), tf.range(1, len(item_ids) + 1, dtype=tf.int64)
        ),
        default_value=0,
    )
    module.item_representations = tf.Variable(
        tf.cast(model.item_representations(), tf.float32), trainable=False
    )
    # Only the recurrent blocks of each size are tracked (and so exported).
    module.blocks = {}
    signatures = {}
    for size in model.matryoshka_sizes:
        # A sliced copy even at the largest size: its block masks are folded into the kernels.
        small = model.sliced(size)
        module.blocks[f"size_{size}"] = small.blocks
        signatures[f"serving_size_{size}"] = _top_k_signature(module, small, max_len)
    signatures["serving_default"] = signatures[f"serving_size_{model.matryoshka_sizes[-1]}"]
    return module, signatures


def run(args) -> dict:
    from tfrec.data.paths import resolve_data_dir
    from tfrec.data.sequences import next_item_examples, read_sequences, training_dataset
    from tfrec.models.fmrlrec import FMRLRec

    import tf_keras as keras

    common.set_seed(args.seed)
    common.apply_precision(args.precision)
    sizes = parse_sizes(args.matryoshka_sizes)
    features = parse_features(args.features)
    epochs = common.positive_int("--epochs", 20 if args.epochs is None else args.epochs)
    max_len = common.positive_int("--max-len", args.max_len)
    folder = resolve_data_dir(args.data_dir, DATA_FOLDERS[args.dataset])
    split = read_sequences(args.dataset, folder)
    tables = load_features(folder, features, split.item_ids)
    print(
        f"{args.dataset}: {split.num_users} users, {split.num_items} items, "
        f"{sum(len(s) for s in split.sequences)} interactions; features {','.join(features)}"
    )
    model = FMRLRec(
        split.num_items,
        sizes,
        item_text_features=tables.get("text"),
        item_image_features=tables.get("image"),
        item_id_embedding_dim=sizes[-1] if "id" in features else 0,
        num_blocks=args.num_blocks,
        dropout=args.dropout,
        r_min=args.r_min,
        r_max=args.r_max,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(
            args.learning_rate, weight_decay=args.weight_decay, global_clipnorm=5.0
        ),
        **common.compile_options(args),
    )
    inputs, labels = next_item_examples(split.training_sequences(), max_len, args.all_windows)
    train = training_dataset(inputs, labels, args.batch_size, seed=args.seed)
    val_histories, val_targets = split.evaluation_sequences("validation")

    best, best_weights, best_epoch, history, waited = -1.0, None, 0, [], 0
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        fitted = model.fit(train, epochs=1, verbose=args.verbose)
        validation = evaluate_sizes(
            model, val_histories, val_targets, max_len, args.eval_batch_size, args.mask_history
        )
        score = validation[sizes[-1]]["ndcg@10"]
        history.append(
            {"epoch": epoch, "loss": fitted.history["loss"][-1], "validation_ndcg@10": score}
        )
        print(
            f"epoch {epoch}: loss {fitted.history['loss'][-1]:.4f}  validation NDCG@10 {score:.4f}"
        )
        if score > best:
            best, best_weights, best_epoch, waited = score, model.get_weights(), epoch, 0
        else:
            waited += 1
            if args.patience is not None and waited >= args.patience:
                break
    train_seconds = time.perf_counter() - started
    model.set_weights(best_weights)

    test_histories, test_targets = split.evaluation_sequences("test")
    test = evaluate_sizes(
        model, test_histories, test_targets, max_len, args.eval_batch_size, args.mask_history
    )
    names = [f"{kind}@{k}" for kind in ("ndcg", "recall") for k in CUTOFFS]
    print(
        f"\nTest, full ranking over {split.num_items} items, history "
        f"{'masked' if args.mask_history else 'not masked'}; best epoch {best_epoch}:"
    )
    print("size   " + "  ".join(f"{name:>9}" for name in names))
    for size in sizes:
        print(f"{size:<6} " + "  ".join(f"{test[size][name]:9.4f}" for name in names))

    payload = {
        "model": "fmrlrec",
        "dataset": args.dataset,
        "features": features,
        "matryoshka_sizes": sizes,
        "mask_history": bool(args.mask_history),
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "train_seconds": round(train_seconds, 1),
        "history": history,
        "validation_best_ndcg@10": best,
        "test": {str(size): values for size, values in test.items()},
    }
    if not args.no_export:
        from tfrec.export.saved_model import export_saved_model

        module, signatures = build_serving_module(model, split.item_ids, max_len)
        path = export_saved_model(module, args.export_dir or "saved_models/fmrlrec", signatures)
        payload["export_path"] = str(path)
        print(f"Exported {', '.join(sorted(signatures))} to {path}")
    if args.metrics_out:
        common.write_metrics(args.metrics_out, payload)
    return payload
