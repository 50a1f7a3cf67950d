"""Optimisers for recommender training (row-wise updates of large embedding tables)."""

from tfrec.optimizers.lazy_adam import LazyAdam

__all__ = ["LazyAdam"]
