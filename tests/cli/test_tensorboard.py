"""``--tensorboard-dir``: the event files of a training run, and an unwritable folder."""

from tfrec.cli.main import main

import pytest
import tensorflow as tf

_MULT_VAE = ["train", "mult-vae", "--dataset", "ml-100k", "--validation-users", "10",
             "--test-users", "10", "--batch-size", "16", "--seed", "7", "--no-export",
             "--verbose", "0"]  # fmt: skip


def _scalars(folder) -> dict:
    """{(run, tag): [values by step]} of every event file under `folder`."""
    found: dict = {}
    for event_file in sorted(folder.rglob("events.out.tfevents.*")):
        run = event_file.parent.relative_to(folder).as_posix()
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                if value.HasField("tensor") and not value.tensor.tensor_shape.dim:
                    number = float(tf.make_ndarray(value.tensor))
                    found.setdefault((run, value.tag), []).append((event.step, number))
    return {key: [number for _, number in sorted(steps)] for key, steps in found.items()}


def test_mult_vae_writes_loss_validation_learning_rate_and_beta(tmp_path, movielens_folder):
    logs = tmp_path / "tensorboard"
    code = main(
        _MULT_VAE
        + ["--epochs", "2", "--data-dir", str(movielens_folder), "--tensorboard-dir", str(logs)]
        + ["--learning-rate", "0.002"]
    )
    assert code == 0
    scalars = _scalars(logs)
    for tag in ("epoch_loss", "epoch_beta", "epoch_learning_rate"):
        assert len(scalars[("train", tag)]) == 2, sorted(scalars)
    assert scalars[("train", "epoch_learning_rate")] == pytest.approx([0.002, 0.002])
    betas = scalars[("train", "epoch_beta")]
    assert 0 < betas[0] < betas[1]  # the KL weight anneals upwards
    validation = scalars[("validation", "epoch_ndcg@100")]
    assert len(validation) == 2 and all(0 <= value <= 1 for value in validation)


def test_unwritable_tensorboard_dir_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    # The data folder does not exist either: the output folder is checked before any data.
    code = main(
        _MULT_VAE
        + ["--data-dir", str(tmp_path / "missing"), "--tensorboard-dir", str(blocker / "tb")]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tfrec: error: tensorboard_dir") and "\n" not in err
