import gzip
import json

from tfrec.cli.common import training_config
from tfrec.cli.main import main, parse_args
from tfrec.cli.train_lrurec import make_experiment

import numpy as np

from tests.helpers import run_in_fresh_process, write_ml100k_ratings

NUM_ITEMS = 25


def _write_beauty(folder):
    rng = np.random.default_rng(0)
    folder.mkdir()
    with gzip.open(folder / "sequential_data.txt.gz", "wt") as handle:
        for user in range(1, 41):
            items = rng.choice(
                np.arange(101, 101 + NUM_ITEMS), size=rng.integers(4, 12), replace=False
            )
            handle.write(" ".join(map(str, [user, *items])) + "\n")


def test_defaults_are_the_reference_recipe():
    args = parse_args(["train", "lrurec"])
    config = training_config(args)
    assert (config.batch_size, config.learning_rate, config.patience) == (128, 1e-3, 10)
    assert config.epochs is None  # chosen from the data: 500 passes at batch 128
    experiment = make_experiment(args)
    assert (experiment.width, experiment.num_blocks, experiment.dropout_rate) == (64, 2, 0.2)
    assert (experiment.r_min, experiment.r_max, experiment.weight_decay) == (0.8, 0.99, 0.01)
    assert experiment.mask_history and experiment.all_windows
    assert (experiment.max_len, experiment.validation_interval) == (50, 1000)
    assert (experiment.monitor, experiment.lr_schedule) == ("recall@10", "constant")
    assert not experiment.decay_norms_and_biases and experiment.adam_epsilon == 1e-9
    movielens = make_experiment(parse_args(["train", "lrurec", "--dataset", "ml-100k"]))
    assert (movielens.max_len, movielens.validation_interval) == (200, 500)
    args = parse_args(["train", "lrurec", "--no-mask-history", "--validation-interval", "0"])
    assert not args.mask_history and args.validation_interval == 0
    # fMRLRec's defaults are unchanged by the shared flags.
    fmrlrec = parse_args(["train", "fmrlrec"])
    assert (fmrlrec.mask_history, fmrlrec.all_windows, fmrlrec.max_len) == (False, False, 50)


def test_train_writes_metrics_and_an_export_that_answers(tmp_path, capsys):
    data = tmp_path / "beauty"
    _write_beauty(data)
    metrics_path = tmp_path / "metrics.json"
    export = tmp_path / "export"
    argv = [
        "train", "lrurec", "--dataset", "beauty", "--data-dir", str(data),
        "--width", "8", "--max-len", "6", "--epochs", "2", "--batch-size", "16",
        "--validation-interval", "3", "--verbose", "0",
        "--metrics-out", str(metrics_path), "--export-dir", str(export),
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "ndcg@10" in printed and "history masked" in printed
    payload = json.loads(metrics_path.read_text())
    assert payload["model"] == "lrurec" and payload["epochs_run"] == 2
    assert set(payload["test"]) == {"8"}
    values = payload["test"]["8"]
    names = {f"{m}@{k}" for m in ("ndcg", "recall") for k in (5, 10, 20)}
    assert set(values) == names | {f"history_not_masked/{name}" for name in names}
    assert "history not masked" in printed
    assert all(0.0 <= v <= 1.0 for v in values.values())
    assert values["recall@5"] <= values["recall@10"] <= values["recall@20"]
    assert "recall@10" in payload["validation"] and len(payload["validation_curve"]["loss"]) == 2
    assert payload["mask_history"] is True and payload["validation_interval"] == 3

    code = f"""
    import numpy as np, tensorflow as tf
    loaded = tf.saved_model.load({str(export / "1")!r})
    assert sorted(loaded.signatures) == ["serving_default"], sorted(loaded.signatures)
    history = np.array([[0, 0, 0, 101, 102, 103], [0, 0, 0, 0, 0, 125]], np.int64)
    result = loaded.signatures["serving_default"](history=tf.constant(history), k=tf.constant(5))
    ids, scores = result["top_ids"].numpy(), result["top_scores"].numpy()
    assert ids.shape == (2, 5) and scores.shape == (2, 5)
    assert set(ids.ravel()) <= set(range(101, 126)), ids
    assert not {{101, 102, 103}} & set(ids[0]) and 125 not in ids[1], ids  # history masked
    assert np.all(np.diff(scores, axis=1) <= 0)
    print("OK")
    """
    assert "OK" in run_in_fresh_process(code)


def test_movielens_run_with_one_validation_per_pass(tmp_path):
    data = tmp_path / "ml-100k"
    data.mkdir()
    write_ml100k_ratings(data, 20, 30, (6, 15), (1, 6), np.random.default_rng(1))
    metrics_path = tmp_path / "metrics.json"
    argv = [
        "train", "lrurec", "--dataset", "ml-100k", "--data-dir", str(data),
        "--width", "4", "--num-blocks", "1", "--max-len", "5", "--epochs", "1",
        "--validation-interval", "0", "--verbose", "0", "--no-export",
        "--metrics-out", str(metrics_path),
    ]  # fmt: skip
    assert main(argv) == 0
    payload = json.loads(metrics_path.read_text())
    assert payload["dataset"] == "ml-100k" and payload["validation_interval"] == 0
    assert set(payload["test"]) == {"4"} and payload["export"] is None


def test_epoch_cap_is_the_references_500_passes_in_validation_rounds(tmp_path):
    from tfrec.training import LRURecExperiment

    data = tmp_path / "beauty"
    _write_beauty(data)
    for interval, rounds in ((0, 500), (1, 500), (3, 167)):
        experiment = LRURecExperiment("beauty", data, max_len=6, validation_interval=interval)
        experiment.load(None, seed=0)
        assert -(-len(experiment.inputs) // 128) == 1  # one batch of 128 per pass
        assert experiment.default_config()["epochs"] == rounds
        assert experiment.steps_per_epoch(None, 128) == (interval or 1)
