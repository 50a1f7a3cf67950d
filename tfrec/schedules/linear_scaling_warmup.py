"""Learning rate warmup with the linear scaling rule of Goyal et al. (2017)."""

import math

from tfrec.utils.serialization import register_serializable

import tensorflow as tf
import tf_keras as keras

SCALING_RULES = ("linear", "sqrt", "none")
WARMUP_TYPES = ("gradual", "constant")


def scaled_learning_rate(
    base_learning_rate: float,
    base_batch_size: int,
    global_batch_size: int,
    scaling_rule: str,
) -> float:
    """The target learning rate for a global batch, by the given scaling rule.

    Args:
        base_learning_rate: float. Rate tuned at `base_batch_size`.
        base_batch_size: int. Batch size (users) the base rate was tuned at.
        global_batch_size: int. Users per optimisation step summed over all workers.
        scaling_rule: "linear" (rate x k, Goyal et al. Sec. 2.1), "sqrt" (rate x sqrt(k), often
            preferred for Adam) or "none" (rate unchanged), with k = global / base batch.

    Returns:
        The target learning rate as a Python float.

    Raises:
        ValueError: on an unknown rule or non-positive batch sizes.
    """
    if scaling_rule not in SCALING_RULES:
        raise ValueError(f"scaling_rule must be one of {SCALING_RULES}, got {scaling_rule!r}.")
    if base_batch_size < 1 or global_batch_size < 1:
        raise ValueError(
            "base_batch_size and global_batch_size must be >= 1, got "
            f"{base_batch_size} and {global_batch_size}."
        )
    k = global_batch_size / base_batch_size
    factor = {"linear": k, "sqrt": math.sqrt(k), "none": 1.0}[scaling_rule]
    return float(base_learning_rate) * factor


@register_serializable
class LinearScalingWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Gradual warmup to a batch-size-scaled learning rate, then an optional decay.

    The target rate is ``base_learning_rate * f(k)`` with ``k = global_batch_size /
    base_batch_size`` and ``f`` the scaling rule (linear, sqrt or none). For the first
    `warmup_steps` optimisation steps the rate grows linearly per step from `base_learning_rate`
    (step 0) to the target (reached at step `warmup_steps`), "gradual warmup" in Goyal et al.
    (2017, Sec. 2.2); with ``warmup="constant"`` it stays at `base_learning_rate` for those steps
    and then jumps to the target, Goyal's "constant warmup" (same section). Afterwards the rate
    is the target, or, when `decay` is given,
    ``decay(step - warmup_steps) * target / base_learning_rate``: `decay` is the schedule tuned at
    the base batch size (its initial rate normally `base_learning_rate`), and the whole schedule
    is scaled by the same factor as the rate.

    Only the learning rate is scaled. Weight decay (e.g. of AdamW) stays as configured, and it is
    never multiplied into a loss scale: `keras.mixed_precision.LossScaleOptimizer` unscales the
    gradients before the inner optimiser applies decoupled weight decay.

    With SGD with momentum, tf_keras's formulation ``v <- m v - lr g; w <- w + v`` (Goyal's
    Eq. 10) needs Goyal's momentum correction whenever the rate changes; use
    `tfrec.optimizers.MomentumCorrectedSGD`, which implements Eq. 9 and so needs none.

    Args:
        base_learning_rate: float > 0. Rate tuned at `base_batch_size`.
        base_batch_size: int >= 1. Users per step the base rate was tuned at.
        global_batch_size: int >= 1. Users per step over all workers (local batch x world size).
        scaling_rule: "linear" (default), "sqrt" or "none".
        warmup_steps: int >= 0 or None. Warmup length in optimisation steps.
        warmup_epochs: float >= 0 or None. Warmup length in epochs; needs `steps_per_epoch`.
            Give exactly one of `warmup_steps` and `warmup_epochs` (neither means no warmup).
        steps_per_epoch: int >= 1 or None. Optimisation steps per epoch (per worker; equal on
            every worker).
        decay: optional `LearningRateSchedule` (or its serialised dict) applied after warmup.
        warmup: "gradual" (default: linear ramp to the target) or "constant" (the base rate
            during warmup).

    Attributes:
        target_learning_rate: float. The scaled rate reached after warmup.
        total_warmup_steps: int. Warmup length in optimisation steps (from `warmup_steps`, or
            ``round(warmup_epochs * steps_per_epoch)``; 0 without warmup).

    Call arguments:
        step: scalar int or float tensor, the optimiser's iteration count (0-based).

    Returns:
        Scalar float32 learning rate.

    Raises:
        ValueError: on non-positive rates or batch sizes, an unknown rule, both or negative
            warmup lengths, `warmup_epochs` without `steps_per_epoch`, or an unknown `warmup`.

    Example:
        >>> schedule = LinearScalingWarmup(1e-3, base_batch_size=500, global_batch_size=2000,
        ...                                warmup_epochs=2, steps_per_epoch=100)
        >>> [round(float(schedule(step)), 6) for step in (0, 100, 200, 1000)]
        [0.001, 0.0025, 0.004, 0.004]
        >>> optimizer = keras.optimizers.Adam(schedule)

    References:
        - [Goyal et al., 2017](https://arxiv.org/abs/1706.02677). Accurate, Large Minibatch SGD:
          Training ImageNet in 1 Hour.
    """

    def __init__(
        self,
        base_learning_rate: float,
        base_batch_size: int,
        global_batch_size: int,
        scaling_rule: str = "linear",
        warmup_steps=None,
        warmup_epochs=None,
        steps_per_epoch=None,
        decay=None,
        name: str = "LinearScalingWarmup",
        warmup: str = "gradual",
    ):
        super().__init__()
        if warmup not in WARMUP_TYPES:
            raise ValueError(f"warmup must be one of {WARMUP_TYPES}, got {warmup!r}.")
        if not base_learning_rate > 0:
            raise ValueError(f"base_learning_rate must be > 0, got {base_learning_rate}.")
        self.target_learning_rate = scaled_learning_rate(
            base_learning_rate, base_batch_size, global_batch_size, scaling_rule
        )
        if warmup_steps is not None and warmup_epochs is not None:
            raise ValueError("Give warmup_steps or warmup_epochs, not both.")
        if warmup_epochs is not None:
            if steps_per_epoch is None or steps_per_epoch < 1:
                raise ValueError(
                    f"warmup_epochs needs steps_per_epoch >= 1, got {steps_per_epoch}."
                )
            if warmup_epochs < 0:
                raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}.")
            total_warmup_steps = round(warmup_epochs * steps_per_epoch)
        else:
            total_warmup_steps = int(warmup_steps or 0)
        if total_warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}.")
        if isinstance(decay, dict):
            decay = keras.optimizers.schedules.deserialize(decay)
        # === Config ===
        self.base_learning_rate = float(base_learning_rate)
        self.base_batch_size = int(base_batch_size)
        self.global_batch_size = int(global_batch_size)
        self.scaling_rule = scaling_rule
        self.warmup_steps = warmup_steps
        self.warmup_epochs = warmup_epochs
        self.steps_per_epoch = steps_per_epoch
        self.decay = decay
        self.name = name
        self.warmup = warmup
        self.total_warmup_steps = total_warmup_steps

    def __call__(self, step):
        with tf.name_scope(self.name):
            step = tf.cast(step, tf.float32)
            base = tf.constant(self.base_learning_rate, tf.float32)
            target = tf.constant(self.target_learning_rate, tf.float32)
            warmup = float(max(self.total_warmup_steps, 1))
            # Goyal et al. Sec. 2.2: a constant increment per iteration from base to target.
            if self.warmup == "constant":  # Sec. 2.2's constant warmup: the base rate
                ramp = base
            else:
                ramp = base + (target - base) * tf.minimum(step, warmup) / warmup
            if self.decay is None:
                after = target
            else:
                since_warmup = tf.maximum(step - float(self.total_warmup_steps), 0.0)
                decayed = tf.cast(self.decay(since_warmup), tf.float32)
                after = decayed * (self.target_learning_rate / self.base_learning_rate)
            return tf.where(step < float(self.total_warmup_steps), ramp, after)

    def get_config(self):
        return {
            "base_learning_rate": self.base_learning_rate,
            "base_batch_size": self.base_batch_size,
            "global_batch_size": self.global_batch_size,
            "scaling_rule": self.scaling_rule,
            "warmup_steps": self.warmup_steps,
            "warmup_epochs": self.warmup_epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "decay": (
                None if self.decay is None else keras.optimizers.schedules.serialize(self.decay)
            ),
            "name": self.name,
            "warmup": self.warmup,
        }
