"""Every training command offers --steps-per-execution and --jit-compile, with fast defaults."""

from tfrec.cli import train_autoencoder, train_bpr, train_fmrlrec
from tfrec.cli.common import compile_options
from tfrec.cli.main import build_parser

import pytest


@pytest.mark.parametrize(
    "command, spe",
    [
        ("mult-vae", train_autoencoder.DEFAULT_STEPS_PER_EXECUTION),
        ("mult-dae", train_autoencoder.DEFAULT_STEPS_PER_EXECUTION),
        ("bpr-mf", train_bpr.DEFAULT_STEPS_PER_EXECUTION),
        ("vbpr", train_bpr.DEFAULT_STEPS_PER_EXECUTION),
        ("fmrlrec", train_fmrlrec.DEFAULT_STEPS_PER_EXECUTION),
    ],
)
def test_defaults_and_overrides(command, spe):
    parser = build_parser()
    args = parser.parse_args(["train", command])
    assert compile_options(args) == {"steps_per_execution": spe, "jit_compile": False}
    args = parser.parse_args(["train", command, "--steps-per-execution", "3", "--jit-compile"])
    assert compile_options(args) == {"steps_per_execution": 3, "jit_compile": True}
    args = parser.parse_args(["train", command, "--steps-per-execution", "0"])
    with pytest.raises(ValueError, match="--steps-per-execution"):
        compile_options(args)


def test_help_says_what_the_options_do(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "bpr-mf", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--steps-per-execution" in text and "steps_per_execution" in text
    assert "--jit-compile" in text and "XLA" in text and "--no-jit-compile" in text
    assert "--optimizer {adam,lazy-adam}" in text
    assert "default: chosen from the number of training interactions" in text


def test_bpr_default_batch_gives_at_least_50_steps():
    assert train_bpr.default_batch_size(895_059) == 16384  # ML-1M
    assert train_bpr.default_batch_size(89_000) == 1024  # ML-100K
    assert train_bpr.default_batch_size(200_000) == 2048
    assert train_bpr.default_batch_size(10) == 1024
