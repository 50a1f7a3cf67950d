"""Command-line interface: ``tfrec train MODEL ...``."""
