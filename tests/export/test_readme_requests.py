"""The README's TF Serving requests work: each JSON body of its "Serving with TF Serving" section
goes through its signature of a small export of that kind, as TF Serving's REST API sends it.

The section pairs each body with a signature in a fixed way: a fenced ``json`` block right after
a line ``<models>, signature `<name>`:`` (a remark in brackets may precede the colon), then a
fenced ``bash`` block with the body's ``curl`` and ``saved_model_cli run`` lines. The exports
are tiny (untrained or closed-form models over a made-up catalogue that holds the README's ids).
"""

import ast
import dataclasses
import functools
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

from tfrec.export import BPRServing, InteractionServing, SequenceServing, export_saved_model
from tfrec.models import Popularity
from tfrec.models.fmrlrec import FMRLRec
from tfrec.models.lrurec import LRURec
from tfrec.models.vbpr import VBPR
from tfrec.training.lrurec_experiment import MAX_LEN

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tests.helpers import REPO_ROOT

SECTION_START = "## Serving with TF Serving\n"
SECTION_END = "### Query and evaluate an export from the command line\n"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
LABEL = re.compile(r"^(?P<models>[^`]+), signature `(?P<signature>\w+)`(?: \([^)]*\))?:$")
CURL = re.compile(r"^curl -d @request\.json localhost:8501/v1/models/(?P<model>\w+):predict$")

# The README's label -> the kind of export that serves it and its default export folders.
KINDS = {
    "Mult-VAE / Mult-DAE / EASE / popularity": "interaction",
    "VBPR / BPR-MF": "bpr",
    "VBPR": "bpr",
    "fMRLRec": "fmrlrec",
    "LRURec": "lrurec",
}
FOLDERS = {
    "Mult-VAE / Mult-DAE / EASE / popularity": {"mult_vae", "mult_dae", "ease", "popularity"},
    "VBPR / BPR-MF": {"vbpr", "bpr_mf"},
    "VBPR": {"vbpr"},
    "fMRLRec": {"fmrlrec"},
    "LRURec": {"lrurec"},
}
# Every signature kind tfrec exports (fMRLRec's per-size ones by one of them).
EXPECTED = {
    ("Mult-VAE / Mult-DAE / EASE / popularity", "serving_default"),
    ("VBPR / BPR-MF", "serving_default"),
    ("VBPR", "score_new_items"),
    ("fMRLRec", "serving_default"),
    ("fMRLRec", "serving_size_16"),
    ("LRURec", "serving_default"),
}
OUTPUTS = {"score_new_items": {"scores": tf.float32}}
TOP_K_OUTPUTS = {"top_ids": tf.int64, "top_scores": tf.float32}

# Made-up catalogues holding the README's ids: ML-1M MovieIDs and UserIDs, Beauty item ids.
MOVIE_IDS = np.array(
    [1, 2, 32, 50, 260, 296, 318, 480, 527, 589, 593, 608, 661, 1196, 1193, 1210, 2028, 2571],
    np.int64,
)
USER_IDS = np.array([1, 5, 42, 100], np.int64)
BEAUTY_IDS = np.array([1, 4, 6, 7, 12, 13, 40, 52, 118, 260, 873, 1021, 2077, 5000, 8150, 12101])
FEATURE_DIM = 4  # the README's score_new_items body, "shortened to 4"
FMRLREC_SIZES = [8, 16, 32]  # serving_size_16 and a larger serving_default
FMRLREC_MAX_LEN = 20  # the README's fMRLRec training example: --max-len 20
LRUREC_MAX_LEN = MAX_LEN["beauty"]  # `tfrec train lrurec`'s default on Beauty


@dataclasses.dataclass
class Request:
    models: str
    signature: str
    body: dict
    commands: list

    @property
    def id(self) -> str:
        return f"{self.models}-{self.signature}".replace(" ", "")


def readme_requests() -> list:
    """The section's requests, in order; fails naming the block that breaks the format."""
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index(SECTION_START)
    section = text[start : text.index(SECTION_END, start)]
    fences = list(FENCE.finditer(section))
    requests = []
    for n, fence in enumerate(fences):
        if fence.group(1) != "json":
            continue
        before = [line for line in section[: fence.start()].splitlines() if line.strip()]
        label = LABEL.match(before[-1])
        assert label, f"json block {fence.group(2)!r} does not follow a signature line"
        following = fences[n + 1] if n + 1 < len(fences) else None
        assert following and following.group(1) == "bash", f"no bash block after {label[0]!r}"
        commands = [shlex.split(line) for line in following.group(2).splitlines() if line]
        requests.append(
            Request(label["models"], label["signature"], json.loads(fence.group(2)), commands)
        )
    return requests


REQUESTS = readme_requests()


def _history_indices(history, item_ids, max_len):
    """Model indices (1..I) of dataset-id histories: unknown ids dropped, left-padded with 0."""
    from tfrec.data import pad_left

    position = {int(item): n + 1 for n, item in enumerate(item_ids)}
    known = [[position[int(i)] for i in row if int(i) in position] for row in np.asarray(history)]
    return pad_left(known, max_len)


def _check_top_k(out, reference, item_ids, k, excluded=None):
    """`out`'s top-k answers `reference` (numpy scores [batch, items]; -inf: excluded)."""
    top_ids, top_scores = out["top_ids"].numpy(), out["top_scores"].numpy()
    assert top_ids.shape == top_scores.shape == (len(reference), k)
    column = {int(item): n for n, item in enumerate(item_ids)}
    for row, ids, scores in zip(reference, top_ids, top_scores):
        assert set(ids.tolist()) <= set(column), ids  # dataset ids of the catalogue
        assert len(set(ids.tolist())) == k
        assert np.all(np.isfinite(scores)) and np.all(np.diff(scores) <= 0)
        # The k best scores, and each returned id has the score returned with it (ties may
        # order equal items either way).
        np.testing.assert_allclose(scores, np.sort(row)[::-1][:k], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(row[[column[int(i)] for i in ids]], scores, rtol=1e-4, atol=1e-5)
    if excluded is not None:
        for ids, own in zip(top_ids, excluded):
            assert not set(ids.tolist()) & set(own), (ids, own)


# --- tiny exports -------------------------------------------------------------------------------


@dataclasses.dataclass
class Export:
    path: pathlib.Path
    check: object  # check(signature, inputs as sent, outputs, k)


def _interaction_export(folder):
    # Popularity with a distinct count per item: item n of the catalogue has n + 1 interactions.
    counts = np.triu(np.ones((len(MOVIE_IDS), len(MOVIE_IDS)), np.float32))
    model = Popularity(len(MOVIE_IDS)).fit_closed_form(sp.csr_matrix(counts))
    serving = InteractionServing(model, MOVIE_IDS)
    popularity = counts.sum(axis=0)

    def check(signature, inputs, out, k):
        history = inputs["item_ids"].numpy()
        reference = np.tile(popularity, (len(history), 1))
        for row, items in zip(reference, history):
            row[np.isin(MOVIE_IDS, items)] = -np.inf  # the user's own items; -1 matches none
        _check_top_k(out, reference, MOVIE_IDS, k, excluded=history.tolist())

    return Export(_export(serving, folder / "mult_vae"), check)


def _bpr_export(folder):
    rng = np.random.default_rng(5)
    model = VBPR(len(USER_IDS), len(MOVIE_IDS), FEATURE_DIM, num_factors=3, num_visual_factors=2)
    model.set_item_features(rng.random((len(MOVIE_IDS), FEATURE_DIM)).astype(np.float32))
    for weight in model.trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    train = sp.random(len(USER_IDS), len(MOVIE_IDS), density=0.25, random_state=1, format="csr")
    train.data[:] = 1.0
    serving = BPRServing(model, USER_IDS, MOVIE_IDS, train)
    w = {v.name.split("/")[-1].split(":")[0]: v.numpy() for v in model.weights}
    f = w["item_features"]
    # x_ui = beta_i + gamma_u . gamma_i + theta_u . (E f_i) + beta' . f_i (He & McAuley, Eq. 4).
    scores = (
        w["item_bias"][None, :]
        + w["user_factors"] @ w["item_factors"].T
        + w["user_visual_factors"] @ (f @ w["visual_projection"]).T
        + (f @ w["visual_bias"])[None, :]
    )
    trained = train.toarray() > 0

    def check(signature, inputs, out, k):
        rows = [USER_IDS.tolist().index(u) for u in inputs["user_id"].numpy()]
        if signature == "score_new_items":
            new = inputs["item_features"].numpy()
            want = w["user_visual_factors"][rows] @ (new @ w["visual_projection"]).T + (
                new @ w["visual_bias"]
            )
            np.testing.assert_allclose(out["scores"].numpy(), want, rtol=1e-5, atol=1e-6)
            return
        reference = np.where(trained[rows], -np.inf, scores[rows])
        own = [MOVIE_IDS[trained[r]].tolist() for r in rows]
        _check_top_k(out, reference, MOVIE_IDS, k, excluded=own)

    return Export(_export(serving, folder / "vbpr"), check)


def _fmrlrec_export(folder):
    rng = np.random.default_rng(7)
    model = FMRLRec(
        len(BEAUTY_IDS),
        FMRLREC_SIZES,
        item_text_features=rng.normal(size=(len(BEAUTY_IDS), 6)).astype(np.float32),
        item_id_embedding_dim=FMRLREC_SIZES[-1],
        r_min=0.5,
        r_max=0.9,
    )
    model(np.zeros((1, FMRLREC_MAX_LEN), np.int64))  # build
    serving = SequenceServing(model, BEAUTY_IDS, max_len=FMRLREC_MAX_LEN)

    def check(signature, inputs, out, k):
        size = FMRLREC_SIZES[-1]  # serving_default: the largest size
        if signature != "serving_default":
            size = int(signature.removeprefix("serving_size_"))
        indices = _history_indices(inputs["history"].numpy(), BEAUTY_IDS, FMRLREC_MAX_LEN)
        scores = model(indices, training=False).numpy()[:, FMRLREC_SIZES.index(size), 1:]
        _check_top_k(out, scores, BEAUTY_IDS, k)  # fMRLRec keeps the history's items

    return Export(_export(serving, folder / "fmrlrec"), check)


def _lrurec_export(folder):
    model = LRURec(len(BEAUTY_IDS), width=8, num_blocks=1)
    model(np.zeros((1, LRUREC_MAX_LEN), np.int64))  # build
    # As `tfrec train lrurec` exports it: the history's items excluded (--mask-history).
    serving = SequenceServing(model, BEAUTY_IDS, max_len=LRUREC_MAX_LEN, exclude_history=True)

    def check(signature, inputs, out, k):
        history = inputs["history"].numpy()
        indices = _history_indices(history, BEAUTY_IDS, LRUREC_MAX_LEN)
        scores = model(indices, training=False).numpy()[:, 1:]
        for row, seen in zip(scores, indices):
            row[seen[seen > 0] - 1] = -np.inf
        _check_top_k(out, scores, BEAUTY_IDS, k, excluded=history.tolist())

    return Export(_export(serving, folder / "lrurec"), check)


def _export(serving, base):
    return export_saved_model(serving, base, serving.signatures(), version=1)


BUILDERS = {
    "interaction": _interaction_export,
    "bpr": _bpr_export,
    "fmrlrec": _fmrlrec_export,
    "lrurec": _lrurec_export,
}


@pytest.fixture(scope="module")
def export_of(tmp_path_factory):
    """kind -> its `Export`, built once, on first use."""
    built = {}

    def get(kind):
        if kind not in built:
            built[kind] = BUILDERS[kind](tmp_path_factory.mktemp(kind))
        return built[kind]

    return get


@functools.cache
def _load(path: str):
    """The loaded SavedModel at `path` and its proto (for the SignatureDefs' defaults)."""
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((pathlib.Path(path) / "saved_model.pb").read_bytes())
    return tf.saved_model.load(path), proto


def send(path, signature_name, body):
    """`body` through `signature_name` of the SavedModel at `path`, as TF Serving's REST API.

    Each input of the columnar ``inputs`` becomes a tensor of the signature's declared dtype; an
    input left out takes the SignatureDef's default (and is an error without one).

    Returns:
        (the inputs as sent, the outputs, the SignatureDef).
    """
    loaded, proto = _load(str(path))
    signature_def = proto.meta_graphs[0].signature_def[signature_name]
    function = loaded.signatures[signature_name]
    _, specs = function.structured_input_signature
    given = body["inputs"]
    assert set(given) <= set(specs), f"{sorted(given)} not inputs of {sorted(specs)}"
    inputs = {}
    for name, spec in specs.items():
        if name in given:
            inputs[name] = tf.constant(given[name], dtype=spec.dtype)
        else:
            assert name in signature_def.defaults, f"required input {name} left out"
            inputs[name] = tf.constant(tf.make_ndarray(signature_def.defaults[name]))
        assert inputs[name].dtype == spec.dtype
        assert spec.shape.is_compatible_with(inputs[name].shape), (name, inputs[name].shape, spec)
    return inputs, function(**inputs), signature_def


def test_the_readme_has_a_request_for_every_signature():
    assert {(r.models, r.signature) for r in REQUESTS} == EXPECTED
    assert len(REQUESTS) == len(EXPECTED)


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.id)
def test_the_body_goes_through_its_signature(request_, export_of):
    body = request_.body
    assert set(body) <= {"signature_name", "inputs"}
    assert body.get("signature_name", "serving_default") == request_.signature
    export = export_of(KINDS[request_.models])
    inputs, out, signature_def = send(export.path, request_.signature, body)
    expected = OUTPUTS.get(request_.signature, TOP_K_OUTPUTS)
    assert set(signature_def.outputs) == set(out) == set(expected)
    for name, dtype in expected.items():
        assert out[name].dtype == dtype, name
    k = int(inputs["k"].numpy()) if "k" in inputs else None
    if k is not None:  # a top-k signature: k is optional, as the README says
        assert "k" in signature_def.defaults
    if request_.signature == "score_new_items":
        new_items = len(body["inputs"]["item_features"])
        assert out["scores"].shape == (len(body["inputs"]["user_id"]), new_items)
    export.check(request_.signature, inputs, out, k)


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.id)
def test_curl_and_saved_model_cli_lines_send_the_same_request(request_):
    curl, cli = request_.commands
    model = CURL.match(shlex.join(curl))["model"]
    assert cli[0] == ".venv/bin/saved_model_cli" and cli[1] == "run"
    options = dict(zip(cli[2::2], cli[3::2]))
    assert set(options) == {"--dir", "--tag_set", "--signature_def", "--input_exprs"}
    assert options["--dir"] == f"saved_models/{model}/1"
    assert model in FOLDERS[request_.models]
    assert options["--tag_set"] == "serve"
    assert options["--signature_def"] == request_.signature
    # saved_model_cli evaluates each `key=value` with ast.literal_eval.
    exprs = dict(expr.split("=", 1) for expr in options["--input_exprs"].split(";"))
    sent = {key: ast.literal_eval(value) for key, value in exprs.items()}
    assert sent == request_.body["inputs"]


def test_the_readme_saved_model_cli_line_runs(export_of):
    (request_,) = [r for r in REQUESTS if KINDS[r.models] == "interaction"]
    export = export_of("interaction")
    command = list(request_.commands[1])
    command[0] = str(pathlib.Path(sys.executable).with_name("saved_model_cli"))
    command[command.index("--dir") + 1] = str(export.path)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout.split("Result for output key top_scores:")
    assert len(printed) == 2 and "Result for output key top_ids:" in printed[0], result.stdout
    printed_ids = [int(i) for i in re.findall(r"-?\d+", printed[0].split("top_ids:")[1])]
    _, out, _ = send(export.path, request_.signature, request_.body)
    assert printed_ids == out["top_ids"].numpy().ravel().tolist()
