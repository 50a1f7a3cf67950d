"""Test set-up: tfrec must be imported before TensorFlow so that tf_keras (Keras 2) is used."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tfrec  # noqa: E402,F401  (selects Keras 2 before any test imports TensorFlow)
