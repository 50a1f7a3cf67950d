"""Scaling training out: Horovod, `MultiWorkerMirroredStrategy` and a single-process default.

`make_context(kind)` returns the `DistributedContext` that training code uses for rank, world
size, the strategy scope, the gradient-averaging optimiser wrapper, callbacks and data sharding.
Horovod is an optional extra: ``python tools/install_horovod.py`` (in the repository) builds it.
"""

from tfrec.distribute.distributed_context import DistributedContext, tf_threads_per_worker

DISTRIBUTE_KINDS = ("none", "horovod", "multiworker")


def make_context(kind: str = "none", threads=None, **kwargs) -> DistributedContext:
    """Creates this process's training context.

    Call it at the start of the program, before TensorFlow runs any op.

    Args:
        kind: "none" (one process), "horovod" (launched by ``horovodrun``) or "multiworker"
            (`tf.distribute.MultiWorkerMirroredStrategy` configured by ``TF_CONFIG``).
        threads: optional int. TensorFlow intra- and inter-op threads for this process, e.g.
            cores / workers when workers share a machine; None keeps TensorFlow's default.
        **kwargs: passed to the context class (`tf_config`, `timeout_seconds` for
            multi-worker).

    Returns:
        A `DistributedContext`, `HorovodContext` or `MultiWorkerContext`.

    Raises:
        ValueError: on an unknown kind or a missing/malformed TF_CONFIG.
        ImportError: for "horovod" when Horovod is not installed.
    """
    if kind not in DISTRIBUTE_KINDS:
        raise ValueError(f"distribute must be one of {DISTRIBUTE_KINDS}, got {kind!r}.")
    if threads:
        # Before the strategy or any op initialises TensorFlow's runtime.
        tf_threads_per_worker(threads)
    if kind == "none":
        return DistributedContext()
    if kind == "horovod":
        from tfrec.distribute.horovod_context import HorovodContext

        return HorovodContext(**kwargs)
    if kind == "multiworker":
        from tfrec.distribute.multi_worker_context import MultiWorkerContext

        return MultiWorkerContext(**kwargs)
    raise ValueError(f"distribute must be one of {DISTRIBUTE_KINDS}, got {kind!r}.")


def import_horovod_keras():
    """``import horovod.tensorflow.keras as hvd``, bound to tf_keras; see `HorovodContext`.

    For users' own Horovod scripts: Horovod 0.28.1 binds its callbacks to the Keras 3 backend,
    which breaks `MetricAverageCallback` and `LearningRateWarmupCallback`; the module returned
    here uses ``tf_keras.backend``.

    Raises:
        ImportError: if Horovod is not installed, naming the installer.
    """
    from tfrec.distribute.horovod_context import import_horovod_keras as _import

    return _import()


__all__ = [
    "DISTRIBUTE_KINDS",
    "DistributedContext",
    "import_horovod_keras",
    "make_context",
    "tf_threads_per_worker",
]
