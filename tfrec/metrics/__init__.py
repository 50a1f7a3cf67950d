"""Ranking metrics: Keras metrics for `fit`/`evaluate`, numpy functions for offline evaluation."""

from tfrec.metrics.auc import auc_per_user, pairwise_auc_per_user
from tfrec.metrics.average_precision import MAPAtK
from tfrec.metrics.heldout_evaluation import evaluate_heldout_users
from tfrec.metrics.leave_one_out_evaluation import evaluate_leave_one_out, evaluate_new_items
from tfrec.metrics.ndcg import NDCGAtK
from tfrec.metrics.next_item_evaluation import evaluate_next_item
from tfrec.metrics.ranking import average_precision_at_k, mask_scores, ndcg_at_k, recall_at_k
from tfrec.metrics.recall import RecallAtK

__all__ = [
    "MAPAtK",
    "NDCGAtK",
    "RecallAtK",
    "auc_per_user",
    "average_precision_at_k",
    "evaluate_heldout_users",
    "evaluate_leave_one_out",
    "evaluate_new_items",
    "evaluate_next_item",
    "mask_scores",
    "ndcg_at_k",
    "pairwise_auc_per_user",
    "recall_at_k",
]
