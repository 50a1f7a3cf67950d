"""Recommender models."""

from tfrec.models.autoencoder_recommender import AutoencoderRecommender
from tfrec.models.bpr_mf import BPRMF
from tfrec.models.ease import EASE
from tfrec.models.fmrlrec import FMRLRec
from tfrec.models.lrurec import LRURec
from tfrec.models.mult_dae import MultDAE
from tfrec.models.mult_vae import MultVAE
from tfrec.models.popularity import Popularity
from tfrec.models.vbpr import VBPR

__all__ = [
    "AutoencoderRecommender",
    "BPRMF",
    "EASE",
    "FMRLRec",
    "LRURec",
    "MultDAE",
    "MultVAE",
    "Popularity",
    "VBPR",
]
