"""Readers, splits and tf.data pipelines. Nothing here builds models.

Names are imported on first use, so that reading files (and ``tfrec --help``) does not load
TensorFlow.
"""

import importlib

_EXPORTS = {
    "DataError": "tfrec.data.data_error",
    "HeldOutUserSplit": "tfrec.data.heldout_users",
    "filter_interactions": "tfrec.data.heldout_users",
    "split_heldout_users": "tfrec.data.heldout_users",
    "Interactions": "tfrec.data.interactions",
    "load_item_features": "tfrec.data.item_features",
    "save_item_features": "tfrec.data.item_features",
    "LeaveOneOutSplit": "tfrec.data.leave_one_out",
    "split_leave_one_out": "tfrec.data.leave_one_out",
    "download_movielens": "tfrec.data.movielens",
    "read_movielens": "tfrec.data.movielens",
    "resolve_data_dir": "tfrec.data.paths",
    "sparse_evaluation_batches": "tfrec.data.pipeline",
    "sparse_user_batches": "tfrec.data.pipeline",
    "bpr_triples": "tfrec.data.triples",
    "SequenceSplit": "tfrec.data.sequences",
    "read_sequences": "tfrec.data.sequences",
    "pad_left": "tfrec.data.sequences",
    "next_item_examples": "tfrec.data.sequences",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tfrec.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
