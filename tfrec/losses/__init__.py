"""Losses."""

from tfrec.losses.bpr_loss import BPRLoss, bpr_loss

__all__ = ["BPRLoss", "bpr_loss"]
