"""Every `fit` command offers --steps-per-execution and --jit-compile, with fast defaults, and
each flag is checked by argparse with one meaning across commands."""

from tfrec.cli.common import training_config
from tfrec.cli.main import build_parser
from tfrec.training import heldout_users_experiment, leave_one_out_experiment, next_item_experiment

import pytest


@pytest.mark.parametrize(
    "command, spe",
    [
        ("mult-vae", heldout_users_experiment.DEFAULT_STEPS_PER_EXECUTION),
        ("mult-dae", heldout_users_experiment.DEFAULT_STEPS_PER_EXECUTION),
        ("bpr-mf", leave_one_out_experiment.DEFAULT_STEPS_PER_EXECUTION),
        ("vbpr", leave_one_out_experiment.DEFAULT_STEPS_PER_EXECUTION),
        ("fmrlrec", next_item_experiment.DEFAULT_STEPS_PER_EXECUTION),
        ("lrurec", next_item_experiment.DEFAULT_STEPS_PER_EXECUTION),
    ],
)
def test_defaults_and_overrides(command, spe, capsys):
    parser = build_parser()
    config = training_config(parser.parse_args(["train", command]))
    assert (config.steps_per_execution, config.jit_compile) == (spe, False)
    args = parser.parse_args(["train", command, "--steps-per-execution", "3", "--jit-compile"])
    config = training_config(args)
    assert (config.steps_per_execution, config.jit_compile) == (3, True)
    for flag in ("--steps-per-execution", "--epochs", "--batch-size"):
        with pytest.raises(SystemExit):
            parser.parse_args(["train", command, flag, "0"])
        assert flag in capsys.readouterr().err


def test_help_says_what_the_options_do(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "bpr-mf", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--steps-per-execution" in text and "steps_per_execution" in text
    assert "--jit-compile" in text and "XLA" in text and "--no-jit-compile" in text
    assert "--optimizer {adam,lazy-adam}" in text
    assert "default: chosen from the number of training interactions" in text
    assert "--checkpoint-dir" in text


def test_each_flag_has_one_meaning_across_commands():
    parser = build_parser()
    commands = ["mult-vae", "mult-dae", "ease", "popularity", "vbpr", "bpr-mf", "fmrlrec", "lrurec"]
    options = {
        command: {
            action.dest
            for action in parser._subparsers._group_actions[0]  # noqa: SLF001 - argparse API
            .choices["train"]
            ._subparsers._group_actions[0]
            .choices[command]
            ._actions
        }
        for command in commands
    }
    # --distribute only where it works; --download only for downloadable datasets.
    assert {c for c in commands if "distribute" in options[c]} == {"mult-vae", "mult-dae"}
    assert "download" not in options["fmrlrec"] and "cache_dir" not in options["fmrlrec"]
    assert "dropout_rate" in options["fmrlrec"] and "dropout" not in options["fmrlrec"]
    assert options["lrurec"] - options["fmrlrec"] == {"width", "validation_interval"}
    assert "image_features" in options["vbpr"] and "features" not in options["vbpr"]
    # Closed-form baselines have no training flags they would ignore.
    assert "epochs" not in options["ease"] and "learning_rate" not in options["popularity"]


def test_bpr_default_batch_gives_at_least_50_steps():
    batch = leave_one_out_experiment.default_batch_size
    assert batch(895_059) == 16384  # ML-1M
    assert batch(89_000) == 1024  # ML-100K
    assert batch(200_000) == 2048
    assert batch(10) == 1024


def test_total_anneal_steps_accepts_the_papers_setting(capsys):
    parser = build_parser()
    args = parser.parse_args(["train", "mult-vae", "--total-anneal-steps", "paper"])
    assert args.total_anneal_steps == 200_000
    assert parser.parse_args(["train", "mult-vae"]).total_anneal_steps is None
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "mult-vae", "--total-anneal-steps", "papers"])
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "mult-vae", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "'paper': Liang et al.'s N = 200,000" in text and "(20%)" in text
