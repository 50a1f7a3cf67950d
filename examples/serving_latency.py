"""Latency of a SavedModel signature as a server sees it: p50 / p99 / mean per request.

Each signature is measured in a fresh Python process that imports only TensorFlow (never tfrec),
loads the export with `tf.saved_model.load` and calls the signature one request at a time, so the
numbers include neither tfrec's Python code nor another model's warm caches. The request inputs
come from the export's own warm-up requests (``assets.extra/tf_serving_warmup_requests``), their
rows repeated to the batch size; without that file they are built from the signature's input
specs (item/user ids 1..50, zeros for float features). Not included: request (de)serialisation
and the network, which TF Serving adds on top.

Usage:
    python examples/serving_latency.py saved_models/mult_vae/1
    python examples/serving_latency.py saved_models/fmrlrec/1 --signature serving_size_8 \\
        --signature serving_size_64 --batch-sizes 1 256 --requests 200 --k 10 --json latency.json
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys

RESULT_MARKER = "SERVING_LATENCY_JSON "
WARMUP_FILE = pathlib.Path("assets.extra") / "tf_serving_warmup_requests"

# Runs in the child process. It must import only TensorFlow (and tensorflow_serving to read the
# warm-up requests): a server process knows nothing of tfrec.
_CHILD_CODE = r'''
import json
import os
import sys
import time

import numpy as np
import tensorflow as tf

params = json.loads(sys.argv[1])
export_dir = params["export_dir"]
signature_name = params["signature"]
WARMUP_PATH = os.path.join(export_dir, params["warmup_file"])
ID_LENGTH = 20  # length of an unknown non-batch dimension, e.g. a padded item history
MAX_ID = 50  # ids 1..50 are valid users/items in every tfrec dataset


def warmup_request():
    """Inputs of the largest predict request for the signature in the warm-up file, or None."""
    if not os.path.isfile(WARMUP_PATH):
        return None, "input_signature"
    try:
        from tensorflow_serving.apis import prediction_log_pb2
    except ImportError:
        return None, "input_signature (tensorflow-serving-api not installed)"
    best = None
    for record in tf.data.TFRecordDataset(WARMUP_PATH):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        if log.WhichOneof("log_type") != "predict_log":
            continue
        request = log.predict_log.request
        if (request.model_spec.signature_name or "serving_default") != signature_name:
            continue
        inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        # Warm-up requests are often a single short row; the largest is closest to real traffic.
        size = sum(value.size for value in inputs.values())
        if best is None or size > best[0]:
            best = (size, inputs)
    if best is None:
        return None, "input_signature (no warm-up request for this signature)"
    return best[1], "warmup_requests"


def repeated_rows(value, batch):
    """`value` with its rows repeated cyclically to `batch` rows; scalars stay scalars."""
    if value.ndim == 0 or value.shape[0] == 0:
        return value
    return value[np.arange(batch) % value.shape[0]]


def from_spec(spec, batch):
    """A valid input for `spec`: ids 1..MAX_ID for integers, zeros (False, b"") otherwise."""
    dims = spec.shape.as_list() if spec.shape.rank is not None else [None]
    shape = [
        (batch if axis == 0 else ID_LENGTH) if dim is None else dim
        for axis, dim in enumerate(dims)
    ]
    dtype = spec.dtype
    if dtype.is_integer:
        count = int(np.prod(shape, dtype=np.int64))
        return (np.arange(count) % MAX_ID + 1).reshape(shape).astype(dtype.as_numpy_dtype)
    if dtype == tf.string:
        return np.full(shape, b"", object)
    return np.zeros(shape, dtype.as_numpy_dtype)


def finished(outputs):
    # Reading every output back forces the work to be done, as a server must to reply.
    for value in outputs.values():
        value.numpy()


started = time.perf_counter()
loaded = tf.saved_model.load(export_dir)
load_seconds = time.perf_counter() - started
function = loaded.signatures[signature_name]
specs = function.structured_input_signature[1]
request, input_source = warmup_request()

batches = {}
for batch in params["batch_sizes"]:
    inputs = {}
    for name, spec in specs.items():
        if request is not None and name in request:
            value = repeated_rows(np.asarray(request[name], spec.dtype.as_numpy_dtype), batch)
        else:
            value = from_spec(spec, batch)
        if name == "k" and spec.shape.rank == 0 and spec.dtype.is_integer:
            value = np.asarray(params["k"], spec.dtype.as_numpy_dtype)
        inputs[name] = tf.constant(value, spec.dtype)
    for _ in range(params["warmup"]):
        finished(function(**inputs))
    seconds = []
    for _ in range(params["requests"]):
        started = time.perf_counter()
        finished(function(**inputs))
        seconds.append(time.perf_counter() - started)
    ms = 1000.0 * np.asarray(seconds)
    batches[str(batch)] = {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "requests": len(seconds),
        "input_shapes": {name: list(value.shape) for name, value in inputs.items()},
    }

imported_tfrec = any(name == "tfrec" or name.startswith("tfrec.") for name in sys.modules)
result = {
    "load_seconds": load_seconds,
    "input_source": input_source,
    "imported_tfrec": imported_tfrec,
    "batches": batches,
}
print(params["marker"] + json.dumps(result), flush=True)
'''


def _saved_model_file(export_dir) -> pathlib.Path:
    path = pathlib.Path(export_dir) / "saved_model.pb"
    if not path.is_file():
        raise FileNotFoundError(
            f"{export_dir} is not a SavedModel version folder: it has no saved_model.pb "
            "(pass the numbered folder, e.g. saved_models/mult_vae/1)."
        )
    return path


def signature_names(export_dir) -> list[str]:
    """Names of the serving signatures of a SavedModel, read from ``saved_model.pb``.

    Args:
        export_dir: path of a SavedModel folder (a version folder such as
            ``saved_models/mult_vae/1``).

    Returns:
        Sorted list of str, without TensorFlow's internal ``__saved_model_init_op``.

    Raises:
        FileNotFoundError: if `export_dir` has no ``saved_model.pb``.
    """
    path = _saved_model_file(export_dir)
    # Imported here so that importing this module (and `--help`) does not load TensorFlow.
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel.FromString(path.read_bytes())
    names = set()
    for meta_graph in saved_model.meta_graphs:
        names.update(meta_graph.signature_def.keys())
    names.discard("__saved_model_init_op")
    return sorted(names)


def _export_size_mb(export_dir) -> float:
    total = 0
    for folder, _, files in os.walk(export_dir):
        total += sum(os.path.getsize(os.path.join(folder, name)) for name in files)
    return total / 1e6


def measure_serving_latency(
    export_dir,
    signature="serving_default",
    batch_sizes=(1, 256),
    requests=200,
    warmup=20,
    k=100,
    timeout=600,
) -> dict:
    """Latency of one signature of a SavedModel, measured in a fresh Python process.

    The child process (`sys.executable`) imports TensorFlow only, loads the export with
    `tf.saved_model.load`, and for each batch size calls the signature `warmup` times (not timed)
    and then `requests` times one after the other, timing each call with `time.perf_counter`
    until every output has been read back with ``.numpy()``. The inputs are taken from the
    export's warm-up requests (the largest request for the signature, rows repeated along axis 0
    to the batch size) or, without them, built from the signature's input specs: integer tensors
    hold ids 1..50 (an unknown non-batch length is 20), float tensors zeros. A scalar integer
    input named ``k`` is set to `k` in both cases. Request (de)serialisation and network time are
    not included.

    Args:
        export_dir: path of a SavedModel version folder (e.g. ``saved_models/mult_vae/1``).
        signature: str. Name of the signature to call. Default ``serving_default``.
        batch_sizes: sequence of int >= 1. Rows per request; each size is measured in turn.
        requests: int >= 1. Timed calls per batch size.
        warmup: int >= 0. Untimed calls per batch size before timing (tracing, allocations).
        k: int. Value of a scalar integer ``k`` input; must be valid for the model
            (1 <= k <= number of items for tfrec's top-k signatures).
        timeout: float. Seconds the child process may run in total.

    Returns:
        dict with ``export_dir`` (str), ``signature`` (str), ``load_seconds`` (float, time of
        `tf.saved_model.load` in the child), ``export_size_mb`` (float, all files of the export,
        in 10^6 bytes), ``input_source`` (``"warmup_requests"`` or ``"input_signature..."``),
        ``k`` (int) and ``batches``: a dict from batch size (int) to a dict with ``p50_ms``,
        ``p99_ms``, ``mean_ms`` (float milliseconds per request), ``requests`` (int) and
        ``input_shapes`` (dict from input name to shape list).

    Raises:
        FileNotFoundError: if `export_dir` has no ``saved_model.pb``.
        ValueError: if the export has no signature `signature` (the message lists the available
            ones), or a count argument is out of range.
        RuntimeError: if the child process fails (the message ends with its stderr).
        subprocess.TimeoutExpired: if the child runs longer than `timeout` seconds.
    """
    export_dir = pathlib.Path(export_dir).resolve()
    batch_sizes = [int(b) for b in batch_sizes]
    if not batch_sizes or min(batch_sizes) < 1:
        raise ValueError(f"batch_sizes must be ints >= 1, got {batch_sizes}.")
    if requests < 1 or warmup < 0:
        raise ValueError(f"requests must be >= 1 and warmup >= 0, got {requests} and {warmup}.")
    available = signature_names(export_dir)
    if signature not in available:
        raise ValueError(
            f"SavedModel {export_dir} has no signature {signature!r}; "
            f"available signatures: {', '.join(available) or '(none)'}."
        )
    params = {
        "export_dir": str(export_dir),
        "signature": signature,
        "batch_sizes": batch_sizes,
        "requests": int(requests),
        "warmup": int(warmup),
        "k": int(k),
        "warmup_file": str(WARMUP_FILE),
        "marker": RESULT_MARKER,
    }
    # A serving process has no TF_USE_LEGACY_KERAS (tfrec sets it in this process).
    env = {name: value for name, value in os.environ.items() if name != "TF_USE_LEGACY_KERAS"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD_CODE, json.dumps(params)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=export_dir,  # not the repository: the child cannot pick up tfrec from the cwd
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(
            f"Measuring signature {signature!r} of {export_dir} failed "
            f"(exit {completed.returncode}):\n{completed.stderr[-4000:]}"
        )
    child = json.loads(lines[-1][len(RESULT_MARKER) :])
    if child["imported_tfrec"]:
        raise RuntimeError(f"Loading {export_dir} imported tfrec in the serving process.")
    return {
        "export_dir": str(export_dir),
        "signature": signature,
        "load_seconds": child["load_seconds"],
        "export_size_mb": _export_size_mb(export_dir),
        "input_source": child["input_source"],
        "k": int(k),
        "batches": {int(batch): stats for batch, stats in child["batches"].items()},
    }


def markdown_table(results) -> str:
    """A markdown table with one row per (signature, batch size) of `measure_serving_latency`
    results."""
    lines = ["| signature | batch | p50 ms | p99 ms | mean ms |", "|---|---:|---:|---:|---:|"]
    for result in results:
        for batch, stats in result["batches"].items():
            lines.append(
                f"| {result['signature']} | {batch} | {stats['p50_ms']:.2f} "
                f"| {stats['p99_ms']:.2f} | {stats['mean_ms']:.2f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export_dir", help="SavedModel version folder, e.g. saved_models/x/1")
    parser.add_argument(
        "--signature",
        action="append",
        help="signature to measure (repeat for several); default: every signature",
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 256])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per batch")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per batch")
    parser.add_argument("--k", type=int, default=100, help="value of a scalar `k` input")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per signature")
    parser.add_argument("--json", type=pathlib.Path, help="also write the results here")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    signatures = args.signature or signature_names(args.export_dir)
    if not signatures:
        parser.error(f"{args.export_dir} has no serving signature.")
    results = [
        measure_serving_latency(
            args.export_dir,
            signature,
            batch_sizes=args.batch_sizes,
            requests=args.requests,
            warmup=args.warmup,
            k=args.k,
            timeout=args.timeout,
        )
        for signature in signatures
    ]
    first = results[0]
    print(
        f"{first['export_dir']}: {first['export_size_mb']:.1f} MB on disk; "
        f"{args.requests} timed requests per batch after {args.warmup} warm-up calls"
    )
    print(markdown_table(results))
    for result in results:
        print(
            f"{result['signature']}: loaded in {result['load_seconds']:.2f} s; "
            f"inputs from {result['input_source']}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
