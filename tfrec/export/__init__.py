"""SavedModel export for TF Serving: `RecommenderServing` modules and an atomic exporter."""

from tfrec.export.bpr_serving import BPRServing
from tfrec.export.interaction_serving import InteractionServing
from tfrec.export.recommender_serving import RecommenderServing
from tfrec.export.saved_model import export_saved_model, next_version, write_warmup_requests
from tfrec.export.sequence_serving import SequenceServing

__all__ = [
    "BPRServing",
    "InteractionServing",
    "RecommenderServing",
    "SequenceServing",
    "export_saved_model",
    "next_version",
    "write_warmup_requests",
]
