"""Optimisers: row-wise updates of large embedding tables, momentum SGD for rate changes."""

from tfrec.optimizers.lazy_adam import LazyAdam
from tfrec.optimizers.momentum_corrected_sgd import MomentumCorrectedSGD

__all__ = ["LazyAdam", "MomentumCorrectedSGD"]
