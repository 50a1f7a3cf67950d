"""Learning-rate schedules and optimisers for large-batch training (Goyal et al., 2017)."""

from tfrec.schedules.linear_scaling_warmup import (
    LinearScalingWarmup,
    scaled_learning_rate,
)
from tfrec.schedules.momentum_corrected_sgd import MomentumCorrectedSGD

__all__ = ["LinearScalingWarmup", "MomentumCorrectedSGD", "scaled_learning_rate"]
