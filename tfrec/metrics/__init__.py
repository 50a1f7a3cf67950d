"""Ranking metrics: Keras metrics for `fit`/`evaluate`, numpy functions for offline evaluation."""

from tfrec.metrics.heldout_evaluation import evaluate_heldout_users
from tfrec.metrics.ndcg import NDCGAtK
from tfrec.metrics.ranking import mask_scores, ndcg_at_k, recall_at_k
from tfrec.metrics.recall import RecallAtK

__all__ = [
    "NDCGAtK",
    "RecallAtK",
    "evaluate_heldout_users",
    "mask_scores",
    "ndcg_at_k",
    "recall_at_k",
]
