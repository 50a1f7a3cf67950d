"""tfrec: Mult-VAE, VBPR and fMRLRec recommenders for TensorFlow with tf_keras (Keras 2).

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
