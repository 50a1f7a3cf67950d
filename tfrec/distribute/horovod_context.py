"""Horovod (https://horovod.ai) as a tfrec training context."""

from tfrec.distribute.distributed_context import DistributedContext

import tensorflow as tf
import tf_keras as keras

_INSTALL_HINT = (
    "Horovod is not installed for this Python. Install it with "
    "`python tools/install_horovod.py` from the tfrec repository (builds Horovod 0.28.1 with "
    "Gloo, ~10 min)."
)


def import_horovod_keras():
    """Imports ``horovod.tensorflow.keras`` bound to tf_keras and returns the module.

    Horovod 0.28.1 takes its Keras backend with ``from keras import backend as K``, which on
    TensorFlow >= 2.16 is Keras 3, whose backend lacks the session-era functions its callbacks
    use (so `MetricAverageCallback` and `LearningRateWarmupCallback` crash). tfrec runs on
    tf_keras, so the two Horovod modules that hold that name are pointed at
    ``tf_keras.backend`` at runtime; installed files are not edited.

    Returns:
        The ``horovod.tensorflow.keras`` module.

    Raises:
        ImportError: if Horovod is not installed, with how to install it.
    """
    try:
        import horovod.tensorflow.keras as hvd
        import horovod.tensorflow.keras.callbacks as hvd_callbacks
    except ImportError as error:
        raise ImportError(f"{_INSTALL_HINT} ({error})") from error
    hvd.K = keras.backend
    hvd_callbacks.K = keras.backend
    return hvd


class HorovodContext(DistributedContext):
    """One Horovod rank; launch the script with ``horovodrun -np N ...``.

    Initialises Horovod, averages gradients with `hvd.DistributedOptimizer`, broadcasts rank 0's
    initial variables (`BroadcastGlobalVariablesCallback(0)`) and averages the logged metrics
    over ranks (`MetricAverageCallback`). The loss each rank minimises is its local batch mean,
    so the averaged gradient is the gradient of the global batch mean.

    Raises:
        ImportError: if Horovod is not installed.

    References:
        - [Sergeev & Del Balso, 2018](https://arxiv.org/abs/1802.05799). Horovod.
    """

    kind = "horovod"

    def __init__(self):
        super().__init__()
        self.hvd = import_horovod_keras()
        self.hvd.init()
        self.rank = self.hvd.rank()
        self.world_size = self.hvd.size()
        self.local_rank = self.hvd.local_rank()

    def wrap_optimizer(self, optimizer):
        return self.hvd.DistributedOptimizer(optimizer)

    def callbacks(self) -> list:
        return [
            self.hvd.callbacks.BroadcastGlobalVariablesCallback(0),
            self.hvd.callbacks.MetricAverageCallback(),
        ]

    def all_ok(self, ok: bool) -> bool:
        # The mean of the workers' flags is 1 only if every flag is 1 (`horovod.tensorflow.keras`
        # exposes no Min reduction).
        mean = self.hvd.allreduce(tf.constant(1.0 if ok else 0.0), name="tfrec_all_ok")
        return bool(float(mean) > 1.0 - 0.5 / self.world_size)
