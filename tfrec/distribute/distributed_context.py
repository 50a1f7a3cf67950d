"""The runtime context of one training process: single process, Horovod rank or TF worker."""

import contextlib

import tensorflow as tf


class DistributedContext:
    """How this process takes part in training; the single-process context (``kind="none"``).

    Training code written against this interface runs unchanged on one process, under Horovod
    (`tfrec.distribute.HorovodContext`) and under `tf.distribute.MultiWorkerMirroredStrategy`
    (`tfrec.distribute.MultiWorkerContext`). Get one with `tfrec.distribute.make_context(kind)`.

    The contract, following Goyal et al. (2017) and NVIDIA's VAE-CF recipe:

    - data: `fit_data(dataset_fn, steps_per_epoch)` calls
      ``dataset_fn(num_shards, shard_index)``, which must return this worker's part of one
      seeded shuffle per epoch, batched at the local batch size, with the same number of
      batches on every worker (`tfrec.data.pipeline.sparse_user_batches` does this);
    - optimisation: build the model and optimiser inside `scope()`, pass the optimiser through
      `wrap_optimizer` before `compile` (under ``mixed_float16`` `compile` then puts the
      distributed optimiser inside its `LossScaleOptimizer`), call `prepare_model` after
      `compile`, and add `callbacks()` (first) to `fit`;
    - side effects: after `fit`, every worker calls `chief_model`; then only the chief
      (`is_chief`, rank 0) evaluates on test users, writes checkpoints, exports and writes
      metrics.

    Attributes:
        kind: "none", "horovod" or "multiworker".
        rank: int. This worker's index in [0, world_size).
        world_size: int. Number of workers taking part in each step.
        is_chief: bool. True on rank 0.
    """

    kind = "none"

    def __init__(self):
        self.rank = 0
        self.world_size = 1

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    def global_batch_size(self, local_batch_size: int) -> int:
        """Users per optimisation step over all workers: local batch x world size."""
        return int(local_batch_size) * self.world_size

    def scope(self):
        """Context manager to create the model and optimiser in (a no-op here)."""
        return contextlib.nullcontext()

    def wrap_optimizer(self, optimizer):
        """Returns the optimiser that averages gradients across workers (itself here)."""
        return optimizer

    def callbacks(self) -> list:
        """Keras callbacks `fit` needs for this kind of training (none here)."""
        return []

    def steps_per_epoch(self, num_users: int, local_batch_size: int) -> int:
        """Batches per epoch on each worker when `num_users` are split evenly across workers.

        Matches `tfrec.data.pipeline.sparse_user_batches`, which drops the last
        ``num_users % world_size`` users of each epoch's shuffle so every worker gets
        ``ceil((num_users // world_size) / local_batch_size)`` batches.
        """
        per_worker = int(num_users) // self.world_size
        return -(-per_worker // int(local_batch_size))

    def fit_data(self, dataset_fn, steps_per_epoch: int) -> dict:
        """This worker's training data as keyword arguments for `fit`.

        Args:
            dataset_fn: callable ``(num_shards, shard_index) -> tf.data.Dataset`` giving this
                worker's batches of one epoch (see the class docstring).
            steps_per_epoch: int. Batches per epoch on each worker (`steps_per_epoch()`).

        Returns:
            ``{"x": data, "steps_per_epoch": steps_per_epoch}`` for
            ``model.fit(**context.fit_data(...), epochs=...)``. The dataset is repeated and
            `steps_per_epoch` marks epochs, the same in every context: `fit` would otherwise make
            two iterators of a finite dataset before the first epoch (so a seeded shuffle would
            start at its second permutation) but only one of a distributed dataset.

        Raises:
            ValueError: if `steps_per_epoch` < 1.
        """
        if not steps_per_epoch or steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}.")
        data = dataset_fn(self.world_size, self.rank).repeat()
        return {"x": data, "steps_per_epoch": int(steps_per_epoch)}

    def prepare_model(self, model) -> None:
        """Adjusts a compiled model to this context (nothing to do here)."""

    def chief_model(self, model, example_input=None):
        """A model the chief alone may evaluate and export (the model itself here).

        Every worker must call it (the multi-worker copy reads synchronised variables).

        Args:
            model: the trained Keras model.
            example_input: a batch to build a copy with, when the context needs a copy.

        Returns:
            A Keras model with the trained weights.
        """
        return model

    def all_ok(self, ok: bool) -> bool:
        """Whether `ok` holds on every worker (collective; every worker must call it)."""
        return bool(ok)

    def describe(self) -> dict:
        """Kind, rank and world size, for logs and metrics files."""
        return {
            "distribute": self.kind,
            "rank": self.rank,
            "world_size": self.world_size,
        }


def tf_threads_per_worker(threads: int) -> None:
    """Caps TensorFlow's intra- and inter-op threads, e.g. when workers share a CPU.

    Must run before TensorFlow executes its first op.
    """
    tf.config.threading.set_intra_op_parallelism_threads(int(threads))
    tf.config.threading.set_inter_op_parallelism_threads(int(threads))
