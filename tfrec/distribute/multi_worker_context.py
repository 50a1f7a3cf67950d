"""TensorFlow's `MultiWorkerMirroredStrategy` as a tfrec training context."""

import json
import os

from tfrec.distribute.distributed_context import DistributedContext

import tensorflow as tf


def parse_tf_config(raw=None) -> dict:
    """Reads and checks ``TF_CONFIG`` for multi-worker training.

    Args:
        raw: the JSON text; defaults to the ``TF_CONFIG`` environment variable.

    Returns:
        The parsed dict with ``cluster`` (``worker`` list, optional ``chief``) and ``task``.

    Raises:
        ValueError: if it is missing, not JSON, or names no worker or an out-of-range task.
    """
    raw = os.environ.get("TF_CONFIG") if raw is None else raw
    if not raw:
        raise ValueError(
            "--distribute multiworker needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host0:12345", "host1:12345"]}, '
            '"task": {"type": "worker", "index": 0}}'
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from error
    cluster, task = config.get("cluster", {}), config.get("task", {})
    workers = cluster.get("worker", [])
    chiefs = cluster.get("chief", [])
    if not workers and not chiefs:
        raise ValueError(f"TF_CONFIG names no 'worker' in its cluster: {raw}")
    kind, index = task.get("type"), task.get("index")
    members = {"worker": workers, "chief": chiefs}.get(kind)
    if members is None or not isinstance(index, int) or not 0 <= index < len(members):
        raise ValueError(f"TF_CONFIG task {task} is not a member of its cluster {cluster}")
    return config


class MultiWorkerContext(DistributedContext):
    """One worker of `tf.distribute.MultiWorkerMirroredStrategy`, configured by ``TF_CONFIG``.

    Start one process per entry of the ``TF_CONFIG`` cluster, each with its own ``task``; they
    rendezvous over gRPC. Variables are mirrored and gradients all-reduced by the strategy; the
    loss is normalised by the global batch (Keras' compiled losses and
    `tf.nn.compute_average_loss` divide by local batch x number of replicas). Each worker reads
    its own shard through ``strategy.distribute_datasets_from_function``.

    Must be created before TensorFlow runs any op (the strategy configures the runtime).

    Args:
        tf_config: optional TF_CONFIG JSON text (default: the environment variable).
        timeout_seconds: optional float. Collective timeout, so that a dead peer makes the
            survivors fail instead of waiting forever.

    Raises:
        ValueError: if TF_CONFIG is missing or malformed.
    """

    kind = "multiworker"

    def __init__(self, tf_config=None, timeout_seconds=None):
        super().__init__()
        config = parse_tf_config(tf_config)
        if tf_config is not None:
            os.environ["TF_CONFIG"] = tf_config
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout_seconds)
        self.strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
        resolver = self.strategy.cluster_resolver
        cluster = config["cluster"]
        members = list(cluster.get("chief", [])) + list(cluster.get("worker", []))
        self.world_size = len(members)
        offset = len(cluster.get("chief", [])) if resolver.task_type == "worker" else 0
        self.rank = offset + int(resolver.task_id)
        self.local_rank = 0

    def scope(self):
        return self.strategy.scope()

    def fit_data(self, dataset_fn, steps_per_epoch: int) -> dict:
        # `fit` does not re-iterate a distributed dataset per epoch, so each worker's dataset is
        # repeated; its shuffle still draws a new permutation on each repetition, as a new
        # iterator would, and `steps_per_epoch` marks the epoch boundaries.
        if not steps_per_epoch or steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}.")

        def per_worker(input_context):
            shards = input_context.num_input_pipelines
            return dataset_fn(shards, input_context.input_pipeline_id).repeat()

        data = self.strategy.distribute_datasets_from_function(per_worker)
        return {"x": data, "steps_per_epoch": int(steps_per_epoch)}

    def prepare_model(self, model) -> None:
        """Logs metrics as synchronised (``"first"`` replica) instead of summed over workers.

        tf_keras's default ("auto") sums per-replica results under this strategy, which doubles
        metrics such as NDCG@100 whose variables the strategy already aggregates.
        """
        model.distribute_reduction_method = "first"

    def chief_model(self, model, example_input=None):
        """A copy of `model` outside the strategy, so the chief evaluates and exports alone.

        Evaluating or saving the mirrored model would run collectives that the other workers
        never join; the copy has the same config and weights but lives outside the strategy.
        Collective: every worker must call it (reading the weights may all-reduce).

        Args:
            model: the trained Keras model (built, created in `scope()`).
            example_input: a batch to build the copy with (subclassed models need one).

        Returns:
            A new, uncompiled Keras model with `model`'s weights.
        """
        copy = model.__class__.from_config(model.get_config())
        if example_input is not None:
            copy(example_input, training=False)
        copy.set_weights(model.get_weights())
        return copy

    def all_ok(self, ok: bool) -> bool:
        value = tf.constant(1.0 if ok else 0.0)
        reduced = self.strategy.reduce(
            tf.distribute.ReduceOp.SUM,
            self.strategy.run(lambda: tf.identity(value)),
            axis=None,
        )
        return bool(float(reduced) == float(self.strategy.num_replicas_in_sync))
