"""tfrec: Mult-VAE, VBPR, fMRLRec and LRURec recommenders for TensorFlow with tf_keras (Keras 2).

Importing tfrec selects the Keras 2 API (`tf_keras`) by setting ``TF_USE_LEGACY_KERAS=1`` before
TensorFlow is first imported. Horovod's Keras integration, ``MultiWorkerMirroredStrategy`` with
``fit`` and tensorflow-recommenders only work with Keras 2 on TensorFlow 2.21.

Raises:
    ImportError: if TensorFlow was already imported with Keras 3 before tfrec.
"""

import os
import sys

__version__ = "0.1.0"


def _select_keras_2() -> None:
    if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise ImportError(
            "tfrec needs the Keras 2 API (tf_keras), but TensorFlow was imported before tfrec "
            "without TF_USE_LEGACY_KERAS=1, so TensorFlow is bound to Keras 3. Import tfrec "
            "before tensorflow, or set TF_USE_LEGACY_KERAS=1 in the environment."
        )
    os.environ["TF_USE_LEGACY_KERAS"] = "1"


_select_keras_2()

# Subpackages load on first use (``tfrec.models.MultVAE`` after ``import tfrec``), so that
# ``import tfrec`` itself stays light and selects Keras 2 before TensorFlow loads.
_SUBPACKAGES = (
    "data",
    "distribute",
    "export",
    "features",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "plots",
    "schedules",
    "training",
    "utils",
)

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"tfrec.{name}")
    raise AttributeError(f"module 'tfrec' has no attribute {name!r}")
