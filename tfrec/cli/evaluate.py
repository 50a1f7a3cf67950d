"""``tfrec evaluate EXPORT_DIR``: an export's test metrics, scored through its signatures only.

The export's ``assets.extra/tfrec.json`` names its model, dataset, protocol and split seed. The
protocol's test split is rebuilt from the dataset with that seed, and the test users are scored
by the export's serving signatures (every item's score: top-k with k = all items), never by a
rebuilt Keras model. The metrics are those `tfrec train` reported, computed by the same code:
the protocol's own `Experiment.test_metrics`, given the export in place of the model.

Protocols:
    heldout-users (Mult-VAE, Mult-DAE, EASE, popularity): each test user's fold-in items as
        the history.
    leave-one-out (VBPR, BPR-MF): each user's id; VBPR's new-item AUC through the
        ``score_new_items`` signature and the item features of the data folder.
    next-item (fMRLRec, LRURec): each test history, at every exported Matryoshka size. An
        export that excludes the history's items (LRURec's rule) cannot give the figures of
        the other rule (``history_not_masked/...``): they are left out.
"""

import contextlib
import io
import json
import math

from tfrec.training.config_error import ConfigError

# The finite logit the next-item models give the padding index (FMRLRec, LRURec): below every
# item, above the -inf of excluded items, as in the scores the training run ranked.
PADDING_LOGIT = -1e9
# The entries of an export's tfrec.json that each protocol's evaluation reads.
REQUIRED_METADATA = {
    "heldout-users": ("model", "dataset", "seed", "protocol_settings"),
    "leave-one-out": ("model", "dataset", "seed", "protocol_settings"),
    "next-item": ("model", "dataset", "seed", "sizes", "exclude_known"),
}
PROTOCOL_NAMES = {
    "heldout-users": "held-out users",
    "leave-one-out": "leave-one-out",
    "next-item": "next item",
}


def add_arguments(parser) -> None:
    """Adds EXPORT_DIR, --dataset, --data-dir and --metrics-out."""
    parser.add_argument(
        "export_dir",
        metavar="EXPORT_DIR",
        help="An export's version folder, or its model folder (the highest version is used).",
    )
    parser.add_argument(
        "--dataset",
        default=None,
        help="The dataset the export was trained on (default: the one its metadata names; "
        "another is an error).",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="Folder holding the dataset files (default: $TFREC_DATA_DIR/<dataset>, then "
        "../shared/data/<dataset>).",
    )
    parser.add_argument("--metrics-out", default=None, help="Write the metrics as JSON here.")


def run(args) -> int:
    """Runs ``tfrec evaluate``: prints the export's test metrics, and writes --metrics-out.

    Args:
        args: `argparse.Namespace` of `add_arguments`' flags.

    Returns:
        int. 0.

    Raises:
        ConfigError: (a `ValueError`) if --metrics-out cannot be written (checked before the
            evaluation), for a request the export rejects (its InvalidArgument), and as for
            `evaluate_export`.
        DataError, FileNotFoundError, ValueError: as for `evaluate_export`.
    """
    from tfrec.training.experiment import check_writable, write_metrics

    import tensorflow as tf

    if args.metrics_out:
        check_writable(args.metrics_out, "--metrics-out")  # before the evaluation's work
    try:
        result = evaluate_export(args.export_dir, args.dataset, args.data_dir)
    except tf.errors.InvalidArgumentError as error:  # the export's own checks
        raise ConfigError(error.message) from None
    if args.metrics_out:
        write_metrics(args.metrics_out, result)
        print(f"Metrics written to {args.metrics_out}")
    return 0


def evaluate_export(export_dir, dataset=None, data_dir=None) -> dict:
    """Evaluates a tfrec export on its protocol's test users; prints and returns the metrics.

    Args:
        export_dir: str or path. An export's version folder or model folder (its highest
            version).
        dataset: str or None. Must be the export's dataset when given.
        data_dir: str, path or None. The dataset's folder (None:
            `tfrec.data.paths.resolve_data_dir`'s defaults).

    Returns:
        dict with ``model``, ``dataset``, ``protocol``, ``seed``, ``export`` (str, the version
        folder) and ``test``: the metrics (floats), keyed as in the training run's metrics file.

    Raises:
        ConfigError: (a `ValueError`) for an export without tfrec metadata, of an unknown
            protocol, whose ``tfrec.json`` lacks an entry, of another dataset than `dataset`,
            or whose catalogue is not the rebuilt split's; or for a leave-one-out export
            without a ``score_new_items`` signature when it has item features (VBPR's
            new-item AUC).
        DataError: (a `ValueError`) if the SavedModel is not a tfrec recommender export, or
            the dataset's files are malformed.
        ValueError: if the protocol's experiment rejects the export's recorded settings.
        FileNotFoundError: no export, or no data folder or file.
        tf.errors.InvalidArgumentError: a request the export rejects (`run` turns it into a
            `ConfigError`).
    """
    from tfrec.distribute import make_context
    from tfrec.export.exported_recommender import ExportedRecommender

    export = ExportedRecommender(export_dir)
    metadata = export.metadata
    protocol = metadata.get("protocol")
    if not protocol:
        raise ConfigError(
            f"{export.path} has no tfrec metadata (assets.extra/tfrec.json): export it again "
            "with this version of tfrec to evaluate it."
        )
    if protocol not in _PROTOCOLS:
        raise ConfigError(
            f"{export.path}: cannot evaluate protocol {protocol!r}; known: {', '.join(_PROTOCOLS)}."
        )
    missing = sorted(set(REQUIRED_METADATA[protocol]) - set(metadata))
    if missing:
        raise ConfigError(f"{export.path}: its tfrec.json lacks {', '.join(missing)}.")
    if dataset is not None and dataset != metadata["dataset"]:
        raise ConfigError(
            f"{export.path} was trained on {metadata['dataset']}, not {dataset}: pass "
            f"--dataset {metadata['dataset']} or none."
        )
    experiment, scorer, dropped = _PROTOCOLS[protocol](export, metadata, data_dir)
    print(
        f"Evaluating {export.path}: {metadata['model']} on {metadata['dataset']}, "
        f"{PROTOCOL_NAMES[protocol]} protocol (split seed {metadata['seed']})."
    )
    # The protocol's own summary of the data would describe a training run; ours is above.
    with contextlib.redirect_stdout(io.StringIO()):
        experiment.load(make_context("none"), metadata["seed"])
    _check_catalogue(export, experiment.split.item_ids)
    test = experiment.test_metrics(scorer(experiment.split))
    if dropped:
        test = {
            size: {name: value for name, value in values.items() if not name.startswith(dropped)}
            for size, values in test.items()
        }
        printable = {
            size: {**values, **{dropped + name: math.nan for name in values}}
            for size, values in test.items()
        }
        experiment.print_test_metrics(printable)
        print(
            f"\n({dropped.rstrip('/').replace('_', ' ')}: not available, the export excludes "
            "the history's items from its scores.)"
        )
    else:
        experiment.print_test_metrics(test)
    return {
        "model": metadata["model"],
        "dataset": metadata["dataset"],
        "protocol": protocol,
        "seed": metadata["seed"],
        "export": str(export.path),
        "test": json.loads(json.dumps(test)),  # plain floats, str keys
    }


def _check_catalogue(export, item_ids) -> None:
    """Raises ConfigError unless the rebuilt split's items are the export's, in its order."""
    if len(item_ids) != export.num_items or (item_ids != export.item_ids).any():
        raise ConfigError(
            f"The data gives a catalogue of {len(item_ids)} items, not the {export.num_items} "
            f"items of {export.path}: evaluate with the data folder it was trained on."
        )


def _heldout_users(export, metadata, data_dir):
    from tfrec.training import HeldOutUsersExperiment

    experiment = HeldOutUsersExperiment(
        model=metadata["model"],
        dataset=metadata["dataset"],
        data_dir=data_dir,
        **metadata["protocol_settings"],
    )
    return experiment, lambda split: _HistoryScorer(export), None


def _leave_one_out(export, metadata, data_dir):
    from tfrec.training import LeaveOneOutExperiment

    settings = dict(metadata["protocol_settings"])
    if settings.get("image_features") is None:
        settings.pop("image_features", None)
    experiment = LeaveOneOutExperiment(
        model=metadata["model"], dataset=metadata["dataset"], data_dir=data_dir, **settings
    )
    return experiment, lambda split: _UserScorer(export, split.user_ids), None


def _next_item(export, metadata, data_dir):
    from tfrec.training import NextItemExperiment
    from tfrec.training.next_item_experiment import OTHER_RULE_PREFIX

    # One signature per size; serving_default only when it is the one size exported.
    signatures = {}
    for name, size in sorted(metadata["sizes"].items(), key=lambda entry: entry[0]):
        if name != "serving_default" or size not in signatures:
            signatures[int(size)] = name
    mask_history = bool(metadata["exclude_known"])
    # The split and the metrics only: item features are in the export, not needed here.
    experiment = NextItemExperiment(
        dataset=metadata["dataset"],
        data_dir=data_dir,
        features=("id",),
        matryoshka_sizes=sorted(signatures),
        max_len=export.max_len,
        mask_history=mask_history,
    )
    # Scores with the history's items at -inf cannot be ranked as if they were not excluded.
    dropped = OTHER_RULE_PREFIX[False] if mask_history else None
    return experiment, lambda split: _SequenceScorer(export, signatures), dropped


class _HistoryScorer:
    """Stands in for an autoencoder in `HeldOutUsersExperiment.test_metrics`: the export scores.

    Called like the model on a dense fold-in batch `[b, num_items]` (catalogue columns); each
    row's items go to the export as a history of item ids.
    """

    def __init__(self, export):
        self.export = export

    def __call__(self, fold_in, training=False):
        import numpy as np

        histories = [self.export.item_ids[np.flatnonzero(row)] for row in fold_in]
        return self.export.scores(self.export.history_batch(histories))


class _UserScorer:
    """Stands in for a `VBPR`/`BPRMF` in `LeaveOneOutExperiment.test_metrics`: the export scores.

    Args:
        export: an `ExportedRecommender` taking user ids.
        user_ids: int array: the dataset id of each split user index.
    """

    def __init__(self, export, user_ids):
        self.export = export
        self.user_ids = user_ids

    def score_all_items(self, users):
        return self.export.scores(self.user_ids[users])

    def score_new_items(self, users, item_features):
        import tensorflow as tf

        if not self.export.has_signature("score_new_items"):
            raise ConfigError(f"{self.export.path} has no score_new_items signature.")
        # The experiment holds scaled features; an export that scales raw ones gets them raw.
        scaling = self.export.metadata.get("feature_scaling") or {}
        if scaling.get("scaling") == "minmax":
            item_features = item_features * (scaling["high"] - scaling["low"]) + scaling["low"]
        out = self.export.call_signature(
            "score_new_items",
            user_id=tf.constant(self.user_ids[users], tf.int64),
            item_features=tf.constant(item_features, tf.float32),
        )
        return out["scores"]


class _SequenceScorer:
    """Stands in for an `FMRLRec`/`LRURec` in `evaluate_next_item`: the export's signatures score.

    Called like the model on item indices `[batch, max_len]` (0: padding), it returns scores
    `[batch, sizes, num_items + 1]`, column 0 the padding index, one row per exported size.

    Args:
        export: an `ExportedRecommender` taking histories.
        signatures: dict from Matryoshka size to the signature that scores at that size.
    """

    def __init__(self, export, signatures):
        import numpy as np
        import tensorflow as tf

        self.export = export
        self.num_items = export.num_items
        self.matryoshka_sizes = sorted(signatures)
        self.signatures = signatures
        # Item index -> dataset id; index 0 (padding) -> the export's padding id.
        self.dataset_ids = tf.constant(np.r_[export.padding_id, export.item_ids].astype(np.int64))

    def __call__(self, indices, training=False):
        import tensorflow as tf

        history = tf.gather(self.dataset_ids, indices)
        padding = tf.fill([tf.shape(history)[0], 1], tf.constant(PADDING_LOGIT, tf.float32))
        scores = [
            tf.concat([padding, self.export.scores(history, self.signatures[size])], axis=1)
            for size in self.matryoshka_sizes
        ]
        return tf.stack(scores, axis=1)


_PROTOCOLS = {
    "heldout-users": _heldout_users,
    "leave-one-out": _leave_one_out,
    "next-item": _next_item,
}
