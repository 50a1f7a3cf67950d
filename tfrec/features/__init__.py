"""Item feature extractors (image and text embeddings) for content-aware recommenders."""

from tfrec.features.image_encoder import image_features, save_item_features  # noqa: F401
from tfrec.features.text_encoder import text_features  # noqa: F401
