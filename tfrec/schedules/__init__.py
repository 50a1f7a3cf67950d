"""Learning-rate schedules for large-batch training (Goyal et al., 2017)."""

from tfrec.schedules.linear_scaling_warmup import (
    SCALING_RULES,
    LinearScalingWarmup,
    scaled_learning_rate,
)

__all__ = ["SCALING_RULES", "LinearScalingWarmup", "scaled_learning_rate"]
