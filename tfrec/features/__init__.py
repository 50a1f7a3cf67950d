"""Item feature extractors (image and text embeddings) for content-aware recommenders.

`tfrec.data.save_item_features` writes what they compute as the `.npz` the readers take.
"""

from tfrec.features.image_encoder import image_features
from tfrec.features.text_encoder import text_features

__all__ = ["image_features", "text_features"]
