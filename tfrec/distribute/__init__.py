"""Scaling training out: Horovod, `MultiWorkerMirroredStrategy` and a single-process default.

`make_context(kind)` returns the `DistributedContext` that training code uses for rank, world
size, the strategy scope, the gradient-averaging optimiser wrapper, callbacks and data sharding.
Horovod is an optional extra: ``python -m tfrec.distribute.install_horovod`` builds it.
"""

from tfrec.distribute.distributed_context import DistributedContext

DISTRIBUTE_KINDS = ("none", "horovod", "multiworker")


def make_context(kind: str = "none", **kwargs) -> DistributedContext:
    """Creates this process's training context.

    Call it at the start of the program, before TensorFlow runs any op.

    Args:
        kind: "none" (one process), "horovod" (launched by ``horovodrun``) or "multiworker"
            (`tf.distribute.MultiWorkerMirroredStrategy` configured by ``TF_CONFIG``).
        **kwargs: passed to the context class (`threads` for Horovod; `tf_config`,
            `timeout_seconds` for multi-worker).

    Returns:
        A `DistributedContext`, `HorovodContext` or `MultiWorkerContext`.

    Raises:
        ValueError: on an unknown kind or a missing/malformed TF_CONFIG.
        ImportError: for "horovod" when Horovod is not installed.
    """
    if kind == "none":
        return DistributedContext()
    if kind == "horovod":
        from tfrec.distribute.horovod_context import HorovodContext

        return HorovodContext(**kwargs)
    if kind == "multiworker":
        from tfrec.distribute.multi_worker_context import MultiWorkerContext

        return MultiWorkerContext(**kwargs)
    raise ValueError(f"distribute must be one of {DISTRIBUTE_KINDS}, got {kind!r}.")


__all__ = ["DISTRIBUTE_KINDS", "DistributedContext", "make_context"]
