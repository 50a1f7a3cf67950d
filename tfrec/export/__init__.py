"""SavedModel export for TF Serving: `RecommenderServing` modules, an atomic exporter, and
`ExportedRecommender` to query an export back."""

from tfrec.export.bpr_serving import BPRServing
from tfrec.export.exported_recommender import ExportedRecommender
from tfrec.export.interaction_serving import InteractionServing
from tfrec.export.recommender_serving import RecommenderServing
from tfrec.export.saved_model import (
    export_saved_model,
    find_version,
    next_version,
    read_metadata,
    write_warmup_requests,
)
from tfrec.export.sequence_serving import SequenceServing

__all__ = [
    "BPRServing",
    "ExportedRecommender",
    "InteractionServing",
    "RecommenderServing",
    "SequenceServing",
    "export_saved_model",
    "find_version",
    "next_version",
    "read_metadata",
    "write_warmup_requests",
]
