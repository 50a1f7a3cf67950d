"""Command-line interface: ``tfrec train MODEL ...`` (entry point `tfrec.cli.main.main`).

Nothing is imported here, so that ``tfrec --help`` loads only what the command needs.
"""

__all__: list[str] = []
