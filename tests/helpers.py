"""Checks shared by the test modules: data location, fresh-process reload, serialization."""

import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def data_dir(dataset: str) -> pathlib.Path:
    """Folder of a real dataset, or skips the test with the reason.

    Looks at ``$TFREC_DATA_DIR/<dataset>``, then ``../shared/data/<dataset>`` beside the
    repository (where CI has it).
    """
    from tfrec.data.paths import resolve_data_dir

    try:
        return resolve_data_dir(None, dataset, search_root=REPO_ROOT)
    except FileNotFoundError as error:
        pytest.skip(f"dataset {dataset} not found: {error}")


def write_ml100k_ratings(folder, num_users, num_items, interactions, ratings, rng):
    """Writes a made-up MovieLens-100K ``u.data`` (tab-separated, timestamps increasing).

    Args:
        folder: pathlib.Path, an existing folder.
        num_users, num_items: ints. Ids run from 1.
        interactions: (low, high): each user rates ``rng.integers(low, high)`` distinct items.
        ratings: (low, high): ratings drawn by ``rng.integers(low, high)``.
        rng: `numpy.random.Generator`.
    """
    rows = []
    for user in range(1, num_users + 1):
        items = rng.choice(
            np.arange(1, num_items + 1), size=rng.integers(*interactions), replace=False
        )
        for item in items:
            rows.append(f"{user}\t{item}\t{rng.integers(*ratings)}\t{881250949 + len(rows)}")
    (folder / "u.data").write_text("\n".join(rows) + "\n")


def run_in_fresh_process(code: str, timeout: float = 300.0, env=None) -> str:
    """Runs Python `code` in a new interpreter that must not import tfrec; returns its stdout.

    The code runs with TF_USE_LEGACY_KERAS unset, as a TF Serving client's Python would. The
    test fails with the child's stderr if it exits non-zero or imports tfrec.
    """
    guard = textwrap.dedent(
        """
        import sys
        import atexit
        def _no_tfrec():
            if any(name == "tfrec" or name.startswith("tfrec.") for name in sys.modules):
                sys.stderr.write("fresh process imported tfrec\\n")
                sys.stdout.flush()
                import os
                os._exit(3)
        atexit.register(_no_tfrec)
        """
    )
    child_env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    child_env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    child_env.pop("PYTHONPATH", None)
    child_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-c", guard + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env,
        cwd="/",
    )
    if result.returncode != 0:
        pytest.fail(f"fresh process failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    return result.stdout


def assert_keras_serialization_round_trip(model, inputs, tmp_path, atol=1e-6):
    """get_config/from_config rebuilds the model, and save/reload in the .keras format gives
    identical outputs (`training=False`)."""
    import tf_keras as keras

    expected = np.asarray(model(inputs, training=False))
    config = model.get_config()
    clone = model.__class__.from_config(config)
    clone(inputs, training=False)  # builds the variables
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(clone(inputs, training=False)), expected, atol=atol)

    path = pathlib.Path(tmp_path) / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert type(reloaded) is type(model)
    np.testing.assert_allclose(np.asarray(reloaded(inputs, training=False)), expected, atol=atol)
    return reloaded


def assert_float32_outputs_under_mixed_precision(build_model, inputs, policy="mixed_float16"):
    """Builds a model under a mixed policy and checks its outputs are float32 and finite while
    its hidden layers compute in the policy's dtype."""
    import tf_keras as keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build_model()
        outputs = model(inputs, training=False)
        assert outputs.dtype.name == "float32", outputs.dtype
        assert np.all(np.isfinite(np.asarray(outputs)))
        compute_dtypes = {layer.compute_dtype for layer in model.layers}
        assert policy.split("_")[1] in compute_dtypes, compute_dtypes
        return model
    finally:
        keras.mixed_precision.set_global_policy(previous)


def assert_gradients_close(variables, gradients, expected, rtol=1e-4, atol=1e-6):
    """Compares two gradient lists (dense or `tf.IndexedSlices`) variable by variable."""
    import tensorflow as tf

    assert len(gradients) == len(expected) == len(variables)
    for variable, gradient, want in zip(variables, gradients, expected):
        np.testing.assert_allclose(
            tf.convert_to_tensor(gradient).numpy(),
            tf.convert_to_tensor(want).numpy(),
            rtol=rtol,
            atol=atol,
            err_msg=variable.name,
        )


def assert_label_less_batch_gives_zero_loss(model, loss, histories):
    """Checks that `loss(histories, labels, training=True)` is 0 with all-zero gradients when
    no position has a label (a mean over no positions was NaN, and would poison every weight
    through the update)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        value = loss(histories, np.zeros_like(histories), training=True)
    gradients = tape.gradient(value, model.trainable_variables)
    assert value.numpy() == 0.0
    for variable, gradient in zip(model.trainable_variables, gradients):
        assert np.all(tf.convert_to_tensor(gradient).numpy() == 0.0), variable.name


def execute_notebook(path, parameters=None, env=None, timeout: float = 900.0, cwd=None):
    """Runs a notebook top to bottom through a real Jupyter kernel (nbclient, ipykernel).

    Like papermill, a code cell assigning `parameters` is inserted right after the cell tagged
    ``parameters``; the notebook file itself is not modified.

    Args:
        path: str or path-like. The ``.ipynb`` file.
        parameters: dict or None. ``{NAME: value}``, each written as ``NAME = repr(value)``.
        env: dict or None. Extra environment variables for the kernel (``TFREC_DATA_DIR``...).
        timeout: float. Seconds any one cell may take.
        cwd: str or path-like. The kernel's working directory (default: the notebook's folder).

    Returns:
        The executed `nbformat.NotebookNode` (outputs included).

    Raises:
        nbclient.exceptions.CellExecutionError: when a cell raises; its message holds the
            cell's source and traceback.
        AssertionError: when `parameters` is given and no cell is tagged ``parameters``.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(str(path), as_version=4)
    if parameters:
        tagged = [
            index
            for index, cell in enumerate(notebook.cells)
            if "parameters" in cell.get("metadata", {}).get("tags", [])
        ]
        assert tagged, f"{path} has no cell tagged 'parameters'"
        source = "# Parameters injected by the test\n" + "\n".join(
            f"{name} = {value!r}" for name, value in parameters.items()
        )
        injected = nbformat.v4.new_code_cell(source)
        injected.metadata["tags"] = ["injected-parameters"]
        notebook.cells.insert(tagged[0] + 1, injected)
    kernel_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd or pathlib.Path(path).parent)}},
    )
    client.execute(env=kernel_env)
    return notebook


def notebook_text_output(notebook) -> str:
    """Every stream and text/plain output of an executed notebook, joined."""
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output["text"])
            elif "data" in output and "text/plain" in output["data"]:
                texts.append(output["data"]["text/plain"])
    return "".join(texts)
