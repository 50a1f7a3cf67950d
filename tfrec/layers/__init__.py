"""Reusable layers: the Linear Recurrent Unit and nested (Matryoshka) dense and norm layers."""

from tfrec.layers.linear_recurrent_block import LinearRecurrentBlock
from tfrec.layers.linear_recurrent_unit import LinearRecurrentUnit
from tfrec.layers.matryoshka_dense import MatryoshkaDense
from tfrec.layers.matryoshka_layer_normalization import MatryoshkaLayerNormalization

__all__ = [
    "LinearRecurrentBlock",
    "LinearRecurrentUnit",
    "MatryoshkaDense",
    "MatryoshkaLayerNormalization",
]
