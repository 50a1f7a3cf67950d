"""SavedModel export for TF Serving."""

from tfrec.export.saved_model import export_saved_model, next_version, write_warmup_requests

__all__ = ["export_saved_model", "next_version", "write_warmup_requests"]
