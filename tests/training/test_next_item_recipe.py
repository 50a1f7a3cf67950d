"""fMRLRec's reference recipe: `--recipe paper`, the cosine schedule and weights-only decay."""

import math

from tfrec.cli.main import parse_args
from tfrec.models.fmrlrec import FMRLRec
from tfrec.training import NextItemExperiment, TrainingConfig
from tfrec.training.experiment import learning_rate_schedule
from tfrec.training.next_item_experiment import PAPER_RECIPE

import numpy as np
import pytest
import tensorflow as tf


def test_recipe_sets_defaults_that_explicit_flags_override():
    args = parse_args(["train", "fmrlrec", "--recipe", "paper"])
    for name, value in PAPER_RECIPE.items():
        assert getattr(args, name) == value, name
    args = parse_args(["train", "fmrlrec", "--recipe", "paper", "--epochs", "3", "--max-len", "20"])
    assert (args.epochs, args.max_len, args.batch_size) == (3, 20, 32)
    plain = parse_args(["train", "fmrlrec"])
    assert (plain.dropout_rate, plain.lr_schedule, plain.decay_norms_and_biases) == (
        0.1,
        "constant",
        True,
    )


def test_cosine_schedule_warms_up_from_zero_then_decays_to_zero():
    """As transformers' get_cosine_schedule_with_warmup: lr * step / warmup during warmup, then
    lr * (1 + cos(pi * progress)) / 2 with progress over the remaining updates."""
    experiment = NextItemExperiment(lr_schedule="cosine", lr_warmup_steps=10)
    config = TrainingConfig(epochs=5, batch_size=32, learning_rate=1e-4)
    steps_per_epoch, total = 22, 110
    schedule = learning_rate_schedule(
        config, steps_per_epoch, experiment.learning_rate_decay(config, steps_per_epoch)
    )
    for step in (0, 5, 10, 40, 109, 110):
        if step < 10:
            want = 1e-4 * step / 10
        else:
            want = 1e-4 * 0.5 * (1 + math.cos(math.pi * (step - 10) / (total - 10)))
        assert float(schedule(step)) == pytest.approx(want, abs=1e-9), step


def test_weight_decay_on_weights_only():
    rng = np.random.default_rng(0)
    model = FMRLRec(6, [4, 8], item_id_embedding_dim=8, r_min=0.5, r_max=0.9)
    model(np.zeros((1, 3), np.int64))
    for weight in model.trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32) + 3.0)
    before = [w.numpy() for w in model.trainable_weights]  # names repeat inside a layer
    experiment = NextItemExperiment(decay_norms_and_biases=False, weight_decay=0.5)
    optimizer = experiment.make_optimizer(0.1, TrainingConfig())
    # Zero gradients: Adam moves nothing, so any change is the decoupled weight decay.
    optimizer.apply_gradients([(tf.zeros_like(w), w) for w in model.trainable_weights])
    for weight, old in zip(model.trainable_weights, before):
        changed = not np.allclose(weight.numpy(), old)
        excluded = "/bias:" in weight.name or "_norm/" in weight.name
        assert changed != excluded, weight.name
    assert any("gamma_log" in w.name for w in model.trainable_weights)  # an LRU weight, decayed


@pytest.mark.parametrize("mask_history", [False, True])
def test_test_metrics_report_both_history_rules(tmp_path, mask_history):
    """The run's own rule unprefixed; the other rule's figures prefixed, and equal to an
    evaluation under that rule."""
    from tfrec.metrics.next_item_evaluation import evaluate_next_item

    from tests.cli.test_train_fmrlrec import _write_dataset

    _write_dataset(tmp_path / "beauty")
    experiment = NextItemExperiment(
        "beauty", tmp_path / "beauty", features=("id",), matryoshka_sizes=(4, 8), max_len=6,
        mask_history=mask_history,
    )  # fmt: skip
    experiment.load(None, seed=0)
    model = experiment.build_model(TrainingConfig(), steps_per_epoch=1)
    test = experiment.test_metrics(model)
    histories, targets = experiment.split.evaluation_sequences("test")
    own = evaluate_next_item(model, histories, targets, 6, 512, mask_history)
    other = evaluate_next_item(model, histories, targets, 6, 512, not mask_history)
    prefix = "history_masked/" if not mask_history else "history_not_masked/"
    assert set(test) == {"4", "8"}
    for size in (4, 8):
        for name, value in own[size].items():
            assert test[str(size)][name] == pytest.approx(value)
            assert test[str(size)][prefix + name] == pytest.approx(other[size][name])
    # Masking the history changes the ranking of these random scores somewhere.
    assert any(own[s] != other[s] for s in (4, 8))


@pytest.mark.parametrize("model", ["fmrlrec", "lrurec"])
def test_next_item_models_are_built_before_fit(tmp_path, model):
    """`BackupAndRestore` restores only a built model: an unbuilt one would resume from scratch."""
    from tfrec.training import LRURecExperiment

    from tests.cli.test_train_fmrlrec import _write_dataset

    _write_dataset(tmp_path / "beauty")
    if model == "lrurec":
        experiment = LRURecExperiment("beauty", tmp_path / "beauty", width=8, max_len=6)
    else:
        experiment = NextItemExperiment("beauty", tmp_path / "beauty", features=("id",),
                                        matryoshka_sizes=(4, 8), max_len=6)  # fmt: skip
    experiment.load(None, seed=0)
    built = experiment.build_model(TrainingConfig(), steps_per_epoch=1)
    assert built.built and built.trainable_weights
