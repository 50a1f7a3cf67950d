"""Atomic SavedModel export for TF Serving, with warm-up requests and tfrec's metadata.

A TF Serving model folder holds numbered versions (``<export_base>/<version>/``) and the server
loads any new number it sees. A version must therefore appear whole: tfrec writes it into a
hidden temporary folder beside the final one and renames it into place
(`tfrec.utils.atomic.atomic_output`), so a crash leaves at most a hidden ``.<version>.tmp-*``
folder that the server ignores, never a half-written version; the next export into the same
model folder removes such leftovers of processes that no longer run.

Beside the SavedModel, ``assets.extra/tfrec.json`` records what `tfrec recommend` and
`tfrec evaluate` need to know of an export without its training data (model, dataset, protocol,
split seed, request format). TF Serving neither loads nor serves ``assets.extra``.
"""

import json
import os
import pathlib

from tfrec.utils.atomic import atomic_output, remove_stale_temporaries

import numpy as np
import tensorflow as tf

# File names inside a version's ``assets.extra`` (TF Serving's warm-up file name is fixed).
WARMUP_FILE = "tf_serving_warmup_requests"
METADATA_FILE = "tfrec.json"


class _Untracked:
    """A plain Python holder: `tf.Module` does not track (so does not export) what it holds."""

    def __init__(self, value):
        self.value = value


class ServesModelWeights:
    """Mixin for a serving `tf.Module` that holds a Keras model but exports only its weights.

    A module that keeps a trained model as an attribute exports everything the model tracks,
    its optimizer's slots included (Adam's two slots made a trained Mult-VAE export three times
    the size of an untrained one). `_hold_model` keeps the model out of tracking and tracks the
    list of its weights instead, which is all that the serving functions capture.
    """

    def _hold_model(self, model, weights=None):
        """Keeps `model` untracked and tracks `weights` (default: all of the model's)."""
        self._held_model = _Untracked(model)
        self.model_weights = list(model.weights if weights is None else weights)

    @property
    def model(self):
        """The served Keras model (not exported itself: only its weights are)."""
        return self._held_model.value


def next_version(export_base) -> int:
    """The next free integer version under `export_base` (1 when there is none).

    Args:
        export_base: str or path. A TF Serving model folder (it may not exist yet).

    Returns:
        int. One more than the highest numbered sub-folder, with or without a SavedModel.
    """
    export_base = pathlib.Path(export_base)
    versions = [int(p.name) for p in export_base.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def check_export_base(export_base) -> None:
    """Raises `ValueError` if `export_base` is itself a SavedModel version folder.

    An export base is the served model's folder, which holds numbered versions; exporting into
    a version (``saved_models/mult_vae/1``) would nest a SavedModel inside the one being served.

    Args:
        export_base: str or path. The folder to export into.

    Raises:
        ValueError: naming the folder and its parent, the folder to give instead.
    """
    export_base = pathlib.Path(export_base)
    if (export_base / "saved_model.pb").is_file():
        raise ValueError(
            f"{export_base} is a SavedModel version folder; export into the model folder that "
            f"holds the numbered versions ({export_base.parent}), which gets the next version."
        )


def find_version(export_dir) -> pathlib.Path:
    """The SavedModel folder of `export_dir`: itself if it is a version, else its highest version.

    Args:
        export_dir: str or path. A version folder (holding ``saved_model.pb``) or a TF Serving
            model folder of numbered versions.

    Returns:
        The version folder, as a `pathlib.Path`.

    Raises:
        FileNotFoundError: if `export_dir` is neither (or does not exist), naming it.
    """
    export_dir = pathlib.Path(export_dir)
    if (export_dir / "saved_model.pb").is_file():
        return export_dir
    versions = sorted(
        (int(p.name), p)
        for p in (export_dir.glob("*") if export_dir.is_dir() else [])
        if p.name.isdigit() and (p / "saved_model.pb").is_file()
    )
    if not versions:
        raise FileNotFoundError(
            f"No SavedModel in {export_dir}: expected a saved_model.pb there or in a numbered "
            "version folder inside."
        )
    return versions[-1][1]


def read_metadata(version_dir) -> dict:
    """The ``assets.extra/tfrec.json`` of an export version ({} if it has none).

    Args:
        version_dir: str or path. A SavedModel version folder.

    Returns:
        dict, as `export_saved_model` wrote it.

    Raises:
        json.JSONDecodeError: (a `ValueError`) if the file is not valid JSON.
        OSError: if the file exists but cannot be read.
    """
    path = pathlib.Path(version_dir) / "assets.extra" / METADATA_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def write_warmup_requests(export_dir, model_name: str, requests) -> pathlib.Path:
    """Writes ``assets.extra/tf_serving_warmup_requests`` for TF Serving's model warm-up.

    Args:
        export_dir: str or path. A SavedModel version folder; ``assets.extra`` is created.
        model_name: str. The name the server serves the model under.
        requests: dict mapping a signature name to a list of requests, each a dict from input
            name to a numpy array (or a value `np.asarray` takes).

    Returns:
        `pathlib.Path` of the written file (TFRecord of `PredictionLog` protos), replaced if it
        existed.

    Raises:
        ImportError: if tensorflow-serving-api is not installed.
        OSError: if the file cannot be written.
    """
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    folder = pathlib.Path(export_dir) / "assets.extra"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WARMUP_FILE
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature_name, inputs_list in requests.items():
            for inputs in inputs_list:
                request = predict_pb2.PredictRequest(
                    model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name)
                )
                for name, value in inputs.items():
                    request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
                log = prediction_log_pb2.PredictionLog(
                    predict_log=prediction_log_pb2.PredictLog(request=request)
                )
                writer.write(log.SerializeToString())
    return path


def export_saved_model(
    module,
    export_base,
    signatures,
    version=None,
    warmup_requests=None,
    model_name=None,
    metadata=None,
) -> pathlib.Path:
    """Saves `module` as ``<export_base>/<version>`` atomically.

    The base folder is created, and leftovers of killed exports in it are removed first
    (`tfrec.utils.atomic.remove_stale_temporaries`); the version's folders are made readable
    by all (mode 0755). If the save fails, nothing appears at ``<export_base>/<version>``.

    Args:
        module: a `tf.Module` (or Keras model) holding the variables the signatures use.
        export_base: str or path. Folder of the served model (e.g. ``saved_models/mult_vae``).
        signatures: dict from signature name to a concrete or input-signature `tf.function`.
            Give an argument a Python default (``k=tf.constant(100)``) to make it optional for TF
            Serving: it is recorded in ``SignatureDef.defaults``.
        version: int or None. Version number; default: the next free one.
        warmup_requests: optional dict for `write_warmup_requests`.
        model_name: str. Name used in warm-up requests; default: the folder name of
            `export_base`.
        metadata: optional JSON-serialisable dict, written as ``assets.extra/tfrec.json``
            (`read_metadata` reads it back).

    Returns:
        `pathlib.Path` of the finished version folder, ``<export_base>/<version>``.

    Raises:
        FileExistsError: if the version folder already exists.
        ValueError: if `export_base` is itself a version folder (`check_export_base`), or
            from `tf.saved_model.save`, e.g. for a signature without an input signature.
        TypeError: if `metadata` is not JSON-serialisable.
        ImportError: with `warmup_requests`, if tensorflow-serving-api is not installed.
        OSError: if the folder cannot be written.
    """
    export_base = pathlib.Path(export_base)
    check_export_base(export_base)
    export_base.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(export_base)  # left by exports that were killed
    version = next_version(export_base) if version is None else int(version)
    final = export_base / str(version)
    if final.exists():
        raise FileExistsError(f"Export version already exists: {final}")
    with atomic_output(final, directory=True) as staging:
        tf.saved_model.save(module, str(staging), signatures=signatures)
        if warmup_requests:
            write_warmup_requests(staging, model_name or export_base.name, warmup_requests)
        if metadata is not None:
            folder = pathlib.Path(staging) / "assets.extra"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True))
        # mkdtemp creates 0700 folders; a server running as another user must read the version.
        for folder, _, _ in os.walk(staging):
            os.chmod(folder, 0o755)
    return final
