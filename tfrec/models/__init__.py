"""Recommender models."""

from tfrec.models.autoencoder_recommender import AutoencoderRecommender
from tfrec.models.ease import EASE
from tfrec.models.mult_dae import MultDAE
from tfrec.models.mult_vae import MultVAE
from tfrec.models.popularity import Popularity

__all__ = ["AutoencoderRecommender", "EASE", "MultDAE", "MultVAE", "Popularity"]
