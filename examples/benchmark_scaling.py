"""Mult-VAE scaling benchmark: Horovod workers, precision and global batch, in one run.

Prints, for MovieLens 1M and a synthetic ML-20M-shaped matrix (136,677 users x 20,108 items,
~10M interactions, power-law item popularity, clustered users), the training throughput
(users/s), the time per epoch, the validation NDCG@100 reached after a fixed number of epochs,
and the peak resident memory of each worker, for:

- 1 vs 2 Horovod workers (same global batch; 2 workers split it),
- float32 vs mixed_bfloat16 vs mixed_float16,
- global batch 500 ... 24,576 with `LinearScalingWarmup` (sqrt rule from 1e-3 at batch 500,
  warmup 1 epoch), so Goyal et al.'s batch-size/accuracy trade-off shows,
- with `--recipe nvidia`, one more synthetic sweep row at global batch 24,576 trained with the
  optimizer and KL annealing of ``tfrec train mult-vae --recipe nvidia`` (NVIDIA's tuned
  setting: Adam lr 0.004, not rescaled, betas 0.9/0.9; beta = min(0.1, updates / 15,000)),
  labelled in the table, beside the sqrt-rule row at the same batch.

Every configuration runs in its own process (``horovodrun`` for 2 workers), one after the
other. On the synthetic matrix only `--synthetic-steps` steps are timed and the epoch time is
extrapolated (marked ``~``); its NDCG column is then after that partial epoch. With
`--synthetic-epochs N` the synthetic batch-size sweep trains N full epochs instead, and
`--sweep-only` runs just that sweep (float32, one worker)::

    python examples/benchmark_scaling.py --sweep-only --ml1m-batches \
        --synthetic-batches 500 2048 8192 24576 --synthetic-epochs 1

The sqrt-rule row and NVIDIA's setting at global batch 24,576, side by side::

    python examples/benchmark_scaling.py --sweep-only --ml1m-batches \
        --synthetic-batches 24576 --synthetic-epochs 1 --recipe nvidia
 CPU figures are
not GPU figures: mixed precision is slower on CPUs without float16/bfloat16 units.

    python examples/benchmark_scaling.py --data-dir ../shared/data/ml-1m

One configuration alone (what the driver runs)::

    python examples/benchmark_scaling.py --worker --data ml-1m --global-batch 500 --epochs 3
"""

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow is imported)
from tfrec.utils.machine import load_average, matmul_rate

SYNTHETIC_SHAPE = (136_677, 20_108)
SYNTHETIC_INTERACTIONS = 10_000_000
HELDOUT_USERS = {"ml-1m": 600, "synthetic": 2000}


# === Data ===


def synthetic_split(seed: int = 0, scale: float = 1.0):
    """An ML-20M-shaped held-out-user split built with numpy/scipy.sparse.

    Item popularity follows a Zipf-like power law (exponent 1.0 over item rank) and each user
    draws most items from one of 64 taste clusters, so a model can beat popularity. Users get
    ``~Lognormal`` numbers of interactions (at least 5) summing to ~10M (x `scale`).
    """
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    num_users = int(SYNTHETIC_SHAPE[0] * scale)
    num_items = SYNTHETIC_SHAPE[1]
    # 1.25: draws of popular items repeat and are merged, so draw more than the target.
    mean_count = 1.25 * SYNTHETIC_INTERACTIONS / SYNTHETIC_SHAPE[0]
    counts = np.maximum(5, rng.lognormal(np.log(mean_count) - 0.5, 1.0, num_users)).astype(int)
    popularity = 1.0 / np.arange(1, num_items + 1)
    popularity /= popularity.sum()
    clusters = 64
    cluster_items = rng.permutation(num_items).reshape(-1)[: (num_items // clusters) * clusters]
    cluster_items = cluster_items.reshape(clusters, -1)
    user_cluster = rng.integers(0, clusters, num_users)
    rows = np.repeat(np.arange(num_users), counts)
    from_cluster = rng.random(rows.size) < 0.5
    columns = rng.choice(num_items, size=rows.size, p=popularity)
    picks = rng.integers(0, cluster_items.shape[1], rows.size)
    columns = np.where(from_cluster, cluster_items[user_cluster[rows], picks], columns)
    matrix = sp.csr_matrix(
        (np.ones(rows.size, np.float32), (rows, columns)), shape=(num_users, num_items)
    )
    matrix.data[:] = 1.0  # duplicates summed by the constructor become single interactions
    heldout = HELDOUT_USERS["synthetic"]
    train, validation = matrix[:-heldout], matrix[-heldout:].tocoo()
    target_mask = rng.random(validation.nnz) < 0.2

    def part(mask):
        return sp.csr_matrix(
            (validation.data[mask], (validation.row[mask], validation.col[mask])),
            shape=validation.shape,
        )

    return train.tocsr(), part(~target_mask), part(target_mask)


def movielens_split(data_dir, seed: int):
    from tfrec.data.heldout_users import split_heldout_users
    from tfrec.data.movielens import read_movielens

    split = split_heldout_users(
        read_movielens("ml-1m", data_dir),
        num_validation_users=HELDOUT_USERS["ml-1m"],
        num_test_users=HELDOUT_USERS["ml-1m"],
        seed=seed,
    )
    return split.train.matrix, split.validation_fold_in, split.validation_target


# === One configuration ===


class _StepTimer:
    """Wall-clock time of each training step, via a Keras callback."""

    def __init__(self):
        import tf_keras as keras

        timer = self

        class Callback(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                timer.started = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                timer.steps.append(time.perf_counter() - timer.started)

        self.steps = []
        self.started = 0.0
        self.callback = Callback()


def run_worker(args) -> None:
    world_hint = int(os.environ.get("HOROVOD_SIZE", os.environ.get("OMPI_COMM_WORLD_SIZE", 1)))
    threads = max(1, (os.cpu_count() or 1) // world_hint)
    from tfrec.distribute import make_context

    context = make_context(args.distribute, threads=threads)

    from tfrec.data.pipeline import sparse_user_batches
    from tfrec.metrics import evaluate_heldout_users
    from tfrec.models import MultVAE
    from tfrec.schedules import LinearScalingWarmup
    from tfrec.training.heldout_users_experiment import NVIDIA_RECIPE

    import numpy as np
    import tf_keras as keras

    keras.mixed_precision.set_global_policy(args.precision)
    keras.utils.set_random_seed(args.seed)
    if args.data == "synthetic":
        train, fold_in, target = synthetic_split(args.seed, args.synthetic_scale)
    else:
        train, fold_in, target = movielens_split(args.data_dir, args.seed)
    if args.global_batch % context.world_size:
        raise ValueError("--global-batch must divide by the number of workers")
    local_batch = args.global_batch // context.world_size
    full_steps = context.steps_per_epoch(train.shape[0], local_batch)
    steps = min(full_steps, args.max_steps) if args.max_steps else full_steps
    if args.recipe == "nvidia":
        # The CLI's `--recipe nvidia`: a rate tuned at its own global batch, so at that batch
        # k = 1 and nothing is scaled; no warmup.
        recipe = NVIDIA_RECIPE
        schedule = LinearScalingWarmup(
            recipe["learning_rate"],
            base_batch_size=recipe["base_batch_size"],
            global_batch_size=args.global_batch,
            scaling_rule=args.lr_scaling,
            warmup_epochs=recipe["warmup_epochs"],
            steps_per_epoch=full_steps,
        )
        optimizer = keras.optimizers.Adam(
            schedule,
            beta_1=recipe["adam_beta_1"],
            beta_2=recipe["adam_beta_2"],
            epsilon=recipe["adam_epsilon"],
        )
        model_options = {
            "hidden_dims": tuple(recipe["hidden_dims"]),
            "latent_dim": recipe["latent_dim"],
            "dropout_rate": recipe["dropout_rate"],
            "anneal_cap": recipe["anneal_cap"],
            "total_anneal_steps": recipe["total_anneal_steps"],
            "l2_regularization": recipe["l2_regularization"],
        }
    else:
        schedule = LinearScalingWarmup(
            args.base_learning_rate,
            base_batch_size=args.base_batch_size,
            global_batch_size=args.global_batch,
            scaling_rule=args.lr_scaling,
            warmup_epochs=args.warmup_epochs,
            steps_per_epoch=full_steps,
        )
        optimizer = keras.optimizers.Adam(schedule)
        model_options = {"total_anneal_steps": args.total_anneal_steps}
    with context.scope():
        model = MultVAE(train.shape[1], **model_options)
        model.compile(optimizer=context.wrap_optimizer(optimizer))
    context.prepare_model(model)
    data = context.fit_data(
        lambda n, i: sparse_user_batches(
            train, local_batch, seed=args.seed, num_shards=n, shard_index=i
        ),
        steps,
    )
    timer = _StepTimer()
    started = time.perf_counter()
    model.fit(
        **data,
        epochs=args.epochs,
        callbacks=context.callbacks() + [timer.callback],
        verbose=0,
    )
    wall = time.perf_counter() - started
    # The first step traces and compiles the graph: leave it out of the throughput.
    step_times = np.array(timer.steps[1:] or timer.steps)
    seconds_per_step = float(step_times.mean())
    seconds_per_epoch = seconds_per_step * full_steps
    if steps < full_steps:  # only full batches were run
        users_per_second = args.global_batch / seconds_per_step
    else:  # the last batch of an epoch may be partial: count the users actually trained on
        users_per_epoch = (train.shape[0] // context.world_size) * context.world_size
        users_per_second = users_per_epoch / seconds_per_epoch
    result = {
        "data": args.data,
        "workers": context.world_size,
        "precision": args.precision,
        "global_batch": args.global_batch,
        "target_lr": schedule.target_learning_rate,
        "recipe": args.recipe,
        "epochs": args.epochs,
        "steps_per_epoch": full_steps,
        "timed_steps": int(step_times.size),
        "partial_epoch": steps < full_steps,
        "users_per_second": users_per_second,
        "seconds_per_epoch": seconds_per_epoch,
        "wall_seconds": wall,
        "rank": context.rank,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "threads": threads,
    }
    if context.is_chief:
        evaluation = evaluate_heldout_users(
            lambda x: model(x, training=False).numpy(), fold_in, target, (20,), (100,), 500
        )
        result["validation_ndcg@100"] = evaluation["ndcg@100"]
    print("RESULT " + json.dumps(result), flush=True)


# === Driver ===


def configurations(args):
    from tfrec.training.heldout_users_experiment import NVIDIA_RECIPE

    ml = dict(data="ml-1m", epochs=args.epochs)
    syn = dict(data="synthetic", epochs=1, max_steps=args.synthetic_steps)
    # The batch-size sweep: full epochs on the synthetic matrix when --synthetic-epochs is set.
    syn_sweep = (
        dict(data="synthetic", epochs=args.synthetic_epochs, max_steps=0)
        if args.synthetic_epochs
        else syn
    )
    # NVIDIA's setting runs at the global batch it was tuned for, after the sweep's rows.
    recipe_rows = (
        [
            dict(
                syn_sweep,
                workers=1,
                precision="float32",
                global_batch=NVIDIA_RECIPE["batch_size"],
                recipe=args.recipe,
            )
        ]
        if args.recipe
        else []
    )
    configs = []
    if args.sweep_only:
        for batch in args.ml1m_batches:
            configs.append(dict(ml, workers=1, precision="float32", global_batch=batch))
        for batch in args.synthetic_batches:
            configs.append(dict(syn_sweep, workers=1, precision="float32", global_batch=batch))
        return configs + recipe_rows
    for data in (ml, syn):
        configs.append(dict(data, workers=1, precision="float32", global_batch=500))
        if args.horovod:
            configs.append(dict(data, workers=2, precision="float32", global_batch=500))
        for precision in ("mixed_bfloat16", "mixed_float16"):
            configs.append(dict(data, workers=1, precision=precision, global_batch=500))
    for batch in args.ml1m_batches:
        if batch != 500:
            configs.append(dict(ml, workers=1, precision="float32", global_batch=batch))
    for batch in args.synthetic_batches:
        if batch != 500 or args.synthetic_epochs:
            configs.append(dict(syn_sweep, workers=1, precision="float32", global_batch=batch))
    return configs + recipe_rows


def _worker_command(args, config):
    command = [
        os.path.abspath(__file__),
        "--worker",
        "--data",
        config["data"],
        "--precision",
        config["precision"],
        "--global-batch",
        str(config["global_batch"]),
        "--epochs",
        str(config["epochs"]),
        "--max-steps",
        str(config.get("max_steps", 0)),
        "--warmup-epochs",
        str(args.warmup_epochs),
        "--synthetic-scale",
        str(args.synthetic_scale),
        "--seed",
        str(args.seed),
    ]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    if config.get("recipe"):
        command += ["--recipe", config["recipe"]]
    if config["workers"] > 1:
        hosts = f"localhost:{config['workers']}"
        launcher = os.path.join(os.path.dirname(sys.executable), "horovodrun")
        return [launcher, "--gloo", "-np", str(config["workers"]), "-H", hosts, sys.executable] + [
            *command,
            "--distribute",
            "horovod",
        ]
    return [sys.executable, *command]


def run_driver(args) -> None:
    load_before = load_average()
    rate_before = _matmul_rate()
    rows = []
    for config in configurations(args):
        command = _worker_command(args, config)
        print("running: " + " ".join(command[command.index("--worker") + 1 :]), flush=True)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        found = [
            json.loads(match)
            for match in re.findall(r"RESULT (\{.*\})", result.stdout)  # horovodrun prefixes
        ]
        if result.returncode != 0 or not found:
            print(f"  failed (exit {result.returncode}): {result.stderr[-1500:]}", flush=True)
            continue
        chief = next(r for r in found if r["rank"] == 0)
        chief["peak_rss_mb_per_worker"] = [
            round(r["peak_rss_mb"]) for r in sorted(found, key=lambda r: r["rank"])
        ]
        rows.append(chief)
        print("  " + json.dumps(chief), flush=True)
    print()
    print_machine()
    print(
        f"Load average (1 min) {load_before:.2f} before, {load_average():.2f} after; fp32 matmul "
        f"rate [{MATMUL_SHAPE[0]}x{MATMUL_SHAPE[1]}].[{MATMUL_SHAPE[1]}x{MATMUL_SHAPE[2]}] "
        f"{rate_before:.1f} GFLOP/s before, {_matmul_rate():.1f} GFLOP/s after."
    )
    print_table(rows, args)


MATMUL_SHAPE = (500, 600, 20_108)  # a Mult-VAE output layer on the synthetic catalogue


def _matmul_rate() -> float:
    """fp32 GFLOP/s of one Mult-VAE-shaped product, measured in this run (a subprocess would
    do too; the driver itself trains nothing)."""
    return matmul_rate(*MATMUL_SHAPE)


def print_machine() -> None:
    import tensorflow as tf

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if "model name" in line)
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(
        f"Machine: {cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, {platform.system()}, "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}; CPU only (no GPU)."
    )


def print_table(rows, args) -> None:
    header = (
        "| data | workers | precision | global batch | target lr | users/s | s/epoch "
        "| val NDCG@100 (epochs) | peak RSS/worker (MB) |"
    )
    print(header)
    print("|" + "---|" * 9)
    for r in rows:
        epoch = (
            f"~{r['seconds_per_epoch']:.0f}"
            if r["partial_epoch"]
            else (f"{r['seconds_per_epoch']:.1f}")
        )
        if r["partial_epoch"]:
            trained = f"{r['timed_steps'] + 1}/{r['steps_per_epoch']} steps"
        else:
            trained = f"{r['epochs']}"
        ndcg = r.get("validation_ndcg@100")
        target_lr = f"{r['target_lr']:.2e}" + (
            f" ({r['recipe']} recipe)" if r.get("recipe") else ""
        )
        print(
            f"| {r['data']} | {r['workers']} | {r['precision']} | {r['global_batch']} "
            f"| {target_lr} | {r['users_per_second']:.0f} | {epoch} "
            f"| {ndcg:.4f} ({trained}) | {', '.join(map(str, r['peak_rss_mb_per_worker']))} |"
        )
    if any(r.get("recipe") == "nvidia" for r in rows):
        print()
        print(recipe_note(args))


def recipe_note(args) -> str:
    """What the `(nvidia recipe)` rows changed, against the other rows' settings."""
    from tfrec.training.heldout_users_experiment import NVIDIA_RECIPE as recipe

    return (
        f"nvidia recipe (`tfrec train mult-vae --recipe nvidia`): Adam lr "
        f"{recipe['learning_rate']:g} tuned at global batch {recipe['base_batch_size']:,} (not "
        f"rescaled there), beta_1 {recipe['adam_beta_1']:g}, beta_2 {recipe['adam_beta_2']:g}, "
        f"epsilon {recipe['adam_epsilon']:g}, no warmup; KL weight min({recipe['anneal_cap']:g}, "
        f"updates / {recipe['total_anneal_steps']:,}); L2 {recipe['l2_regularization']:g}. "
        f"Other rows: {args.lr_scaling} rule from {args.base_learning_rate:g} at batch "
        f"{args.base_batch_size:,}, {args.warmup_epochs:g} warmup epoch(s), Adam's default betas "
        f"and epsilon; KL weight min(0.2, updates / {args.total_anneal_steps:,})."
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help="Run one configuration.")
    parser.add_argument("--data", default="ml-1m", choices=["ml-1m", "synthetic"])
    parser.add_argument("--data-dir", default=None, help="ML-1M folder.")
    parser.add_argument("--distribute", default="none", choices=["none", "horovod"])
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--global-batch", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=3, help="ML-1M epochs per configuration.")
    parser.add_argument("--max-steps", type=int, default=0, help="Steps per epoch cap (0: all).")
    parser.add_argument("--base-learning-rate", type=float, default=1e-3)
    parser.add_argument("--base-batch-size", type=int, default=500)
    parser.add_argument("--lr-scaling", default="sqrt", choices=["linear", "sqrt", "none"])
    parser.add_argument("--warmup-epochs", type=float, default=1.0)
    parser.add_argument("--total-anneal-steps", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=98765)
    parser.add_argument(
        "--synthetic-steps", type=int, default=3, help="Steps timed on the synthetic matrix."
    )
    parser.add_argument(
        "--synthetic-scale", type=float, default=1.0, help="Fraction of the 136,677 users."
    )
    parser.add_argument("--ml1m-batches", type=int, nargs="*", default=[500, 1024, 2048, 4096])
    parser.add_argument("--synthetic-batches", type=int, nargs="*", default=[500, 2048, 4096])
    parser.add_argument(
        "--synthetic-epochs",
        type=int,
        default=0,
        help="Full epochs per synthetic batch-size sweep configuration (0: --synthetic-steps).",
    )
    parser.add_argument(
        "--sweep-only",
        action="store_true",
        help="Run only the float32 single-worker batch-size sweep.",
    )
    parser.add_argument("--no-horovod", dest="horovod", action="store_false")
    parser.add_argument(
        "--recipe",
        default=None,
        choices=["nvidia"],
        help="nvidia: add a synthetic sweep row at global batch 24,576 trained with `tfrec train "
        "mult-vae --recipe nvidia`'s optimizer and KL annealing (with --worker: train so).",
    )
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args)
    else:
        run_driver(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
