"""Small shared utilities: atomic outputs and Keras serialization registration."""

from tfrec.utils.atomic import atomic_output
from tfrec.utils.serialization import register_serializable

__all__ = ["atomic_output", "register_serializable"]
