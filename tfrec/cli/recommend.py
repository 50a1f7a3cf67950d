"""``tfrec recommend EXPORT_DIR``: top-k items from a SavedModel export, without training data.

A history export (Mult-VAE, Mult-DAE, EASE, popularity; fMRLRec, LRURec) takes ``--items``, the
user's item ids oldest first; a user export (VBPR, BPR-MF) takes ``--user``. The answer comes
from the export's serving signature alone (`tfrec.export.ExportedRecommender`), as TF Serving
would give it; ``--data-dir`` adds MovieLens titles.
"""

import sys

from tfrec.cli import common
from tfrec.training.config_error import ConfigError


def add_arguments(parser) -> None:
    """Adds EXPORT_DIR, --items or --user (one required), --k, --signature and --data-dir."""
    parser.add_argument(
        "export_dir",
        metavar="EXPORT_DIR",
        help="An export's version folder, or its model folder (the highest version is used).",
    )
    request = parser.add_mutually_exclusive_group(required=True)
    request.add_argument(
        "--items",
        default=None,
        help="Comma-separated item ids of the user's history, oldest first (e.g. MovieLens "
        "MovieIDs 1,260,1196), for a Mult-VAE/DAE, EASE, popularity, fMRLRec or LRURec export. "
        "Ids the export does not know are ignored, and listed.",
    )
    request.add_argument(
        "--user", default=None, help="A training user's id, for a VBPR or BPR-MF export."
    )
    parser.add_argument(
        "--k", type=common.positive_int, default=10, help="Number of items (default 10)."
    )
    parser.add_argument(
        "--signature",
        default="serving_default",
        help="Serving signature, e.g. serving_size_64 for one Matryoshka size of an fMRLRec "
        "export (default serving_default).",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="The dataset's folder, to print titles (ML-1M movies.dat, ML-100K u.item).",
    )


def parse_ids(text: str, flag: str) -> list:
    """The integers of a comma-separated `text`, e.g. ``"1,260,1196"``.

    Args:
        text: str. The flag's value.
        flag: str. The flag's name, for the message.

    Returns:
        list of int, in the order given.

    Raises:
        ConfigError: (a `ValueError`) naming `flag`, if a part is empty or not an integer.
    """
    parts = [part.strip() for part in str(text).split(",")]
    try:
        ids = [int(part) for part in parts]
    except ValueError:
        ids = []
    if not ids:
        raise ConfigError(f"{flag}: expected comma-separated integer ids, got {text!r}.")
    return ids


def run(args) -> int:
    """Runs ``tfrec recommend``: prints the top `k` items (rank, item id, score, title).

    Args:
        args: `argparse.Namespace` of `add_arguments`' flags.

    Returns:
        int. 0.

    Raises:
        ConfigError: (a `ValueError`) for a request that does not fit the export: --items for
            a user export or --user for a history one, ids that are not integers, more than one
            user, --k above the number of items, or a request the export rejects (its
            InvalidArgument, e.g. a user it was not trained on).
        DataError: (a `ValueError`) if EXPORT_DIR is not a tfrec recommender export or has no
            top-k signature --signature.
        FileNotFoundError: if there is no SavedModel at EXPORT_DIR.
    """
    import tensorflow as tf

    try:
        return _recommend(args)
    except tf.errors.InvalidArgumentError as error:  # the export's own checks (k, ids)
        if "not a training user" in error.message:
            raise ConfigError(f"user {args.user} is not a training user of this export.") from None
        raise ConfigError(error.message) from None


def _recommend(args) -> int:
    from tfrec.export.exported_recommender import ExportedRecommender

    export = ExportedRecommender(args.export_dir)
    export.signature(args.signature)  # a clear error for a wrong name before any request
    model = export.metadata.get("model", "this model")
    takes_user = export.input_name == "user_id"
    if takes_user and args.items is not None:
        raise ConfigError(
            f"{export.path} ({model}) recommends for a user id: pass --user, not --items."
        )
    if not takes_user and args.user is not None:
        raise ConfigError(
            f"{export.path} ({model}) recommends from a history of items: pass --items, not --user."
        )
    if args.k > export.num_items:
        raise ConfigError(f"--k {args.k} exceeds the export's {export.num_items} items.")
    if takes_user:
        users = parse_ids(args.user, "--user")
        if len(users) != 1:
            raise ConfigError(f"--user: expected one user id, got {args.user!r}.")
        user = users[0]
        ids, scores = export.top_k([user], args.k, args.signature)
        request = f"user {user}"
    else:
        history = parse_ids(args.items, "--items")
        unknown = export.unknown_items(history)
        if unknown:
            print(
                f"tfrec: warning: ignored {len(unknown)} item id(s) not in the export's "
                f"catalogue: {','.join(map(str, unknown))}",
                file=sys.stderr,
            )
        ignored = set(unknown)
        known = [item for item in history if item not in ignored]
        if export.max_len is not None and len(known) > export.max_len:
            print(
                f"tfrec: warning: the export reads the last {export.max_len} items of a "
                f"history; the {len(known) - export.max_len} oldest are not used.",
                file=sys.stderr,
            )
        ids, scores = export.top_k(export.history_batch([known]), args.k, args.signature)
        request = f"a history of {len(known)} known item(s)"
    titles = _titles(export.metadata.get("dataset"), args.data_dir)
    dataset = export.metadata.get("dataset")
    about = f"{model} on {dataset}" if dataset else model
    print(f"Top {args.k} of {export.path} ({about}, {args.signature}) for {request}:")
    print(f"{'rank':>4}  {'item_id':>8}  {'score':>10}" + ("  title" if titles else ""))
    for rank, (item, score) in enumerate(zip(ids[0], scores[0]), 1):
        line = f"{rank:>4}  {item:>8}  {score:>10.4f}"
        if titles:
            line += f"  {titles.get(int(item), '?')}"
        print(line)
    return 0


def _titles(dataset, data_dir) -> dict:
    """Item titles when `data_dir` is given and holds the dataset's title file; else {}."""
    if data_dir is None:
        return {}
    from tfrec.data.item_titles import TITLE_FILES, read_item_titles

    if dataset not in TITLE_FILES:
        print(
            "tfrec: warning: no titles: "
            + (f"dataset {dataset} has none here" if dataset else "the export names no dataset"),
            file=sys.stderr,
        )
        return {}
    try:
        return read_item_titles(dataset, data_dir)
    except FileNotFoundError as error:
        print(f"tfrec: warning: {error}", file=sys.stderr)
        return {}
