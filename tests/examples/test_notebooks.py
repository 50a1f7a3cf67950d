"""The Colab notebooks in examples/: run top to bottom through a real Jupyter kernel (nbclient)
with the small parameters CI passes, committed without outputs, and pointing at the project's
repository (declared once in setup.py) for their "Open in Colab" badge and install cell."""

import json
import re

import pytest

from tests.helpers import REPO_ROOT, data_dir, execute_notebook, notebook_text_output

EXAMPLES = REPO_ROOT / "examples"
NOTEBOOKS = sorted(path.name for path in EXAMPLES.glob("*.ipynb"))


def _repository() -> str:
    """The repository URL declared in setup.py (``REPOSITORY = "https://github.com/..."``)."""
    match = re.search(r'^REPOSITORY = "(https://github\.com/[^"]+)"$', _setup_py(), flags=re.M)
    assert match, "setup.py declares no REPOSITORY URL"
    return match.group(1)


def _setup_py() -> str:
    return (REPO_ROOT / "setup.py").read_text(encoding="utf-8")


def _cells(name):
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))["cells"]


def test_every_notebook_is_listed():
    assert NOTEBOOKS == sorted(CI_RUNS), "add the new notebook's CI parameters to CI_RUNS"


def test_setup_declares_the_repository_once_in_project_urls():
    text = _setup_py()
    repository = _repository()
    assert text.count(repository) == 1
    assert re.search(r'project_urls=\{"Source": REPOSITORY', text)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_outputs_are_stripped(name):
    for index, cell in enumerate(_cells(name)):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{name} cell {index} has outputs"
            assert cell["execution_count"] is None, f"{name} cell {index} was executed"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_colab_badge_install_cell_and_parameters(name):
    cells = _cells(name)
    repository = _repository()
    owner_and_name = repository.removeprefix("https://github.com/")
    title = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and title.startswith("# ")
    assert (
        f"(https://colab.research.google.com/github/{owner_and_name}/blob/main/examples/{name})"
        in title
    )
    install = "".join(cells[1]["source"])
    assert cells[1]["cell_type"] == "code"
    assert "find_spec(" in install, "the install cell must do nothing where tfrec is installed"
    assert f"{repository}" in install
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{name}: one cell tagged 'parameters'"
    assigned = re.findall(r"^([A-Z][A-Z0-9_]*) = ", "".join(tagged[0]["source"]), flags=re.M)
    assert set(CI_RUNS[name][0]) <= set(assigned), f"{name}: CI sets names it does not define"


def _new_item_png(tmp_path):
    import numpy as np
    import tensorflow as tf

    pixels = np.random.default_rng(0).integers(0, 256, size=(64, 48, 3), dtype=np.uint8)
    path = tmp_path / "new_item.png"
    path.write_bytes(tf.io.encode_png(pixels).numpy())
    return str(path)


# name -> (parameters CI injects after the `parameters` cell, strings the output must hold)
CI_RUNS = {
    "mult_vae_movielens.ipynb": (
        {"DATASET": "ml-100k", "EPOCHS": 1, "HELDOUT_USERS": 100},
        ["Mult-VAE: Recall@20", "EASE: Recall@20", "best epoch 1"],
    ),
    "fmrlrec_any_size.ipynb": (
        {"EPOCHS": 2, "WIDTH": 32},
        [
            "Test, full ranking over 1682 items",
            "size   32: NDCG@10",
            "signatures: serving_default, serving_size_16, serving_size_32, serving_size_8",
            "top-10 of the size-8 model:",
        ],
    ),
    "scaling.ipynb": (
        {"DATASET": "ml-100k", "BATCH_SIZES": [100, 200, 400, 800], "STEPS": 3},
        [
            "is a keras.mixed_precision.LossScaleOptimizer: True",
            "compute dtype float16",
            "users/s",
            "same weights on all 2 ranks after training: True",
            "rank 0, test NDCG@100 after 1 epoch(s)",
        ],
    ),
    "vbpr_cold_start.ipynb": (
        {"EPOCHS": 2, "NEW_ITEM_IMAGE": _new_item_png, "CNN_WEIGHTS": None},
        [
            "BPR-MF AUC 0.5000",
            "New item: new_item.png",
            "Exported saved_models/vbpr/1 with signatures ['score_new_items', 'serving_default']",
            "Top 10 for user 1 (training movies excluded):",
            "The export's scores of the new movies agree with the trained model's: True",
        ],
    ),
}
EXPORTS = {
    "mult_vae_movielens.ipynb": "mult_vae",
    "fmrlrec_any_size.ipynb": "fmrlrec",
    "vbpr_cold_start.ipynb": "vbpr",
}
PLOTS = set(EXPORTS) | {"scaling.ipynb"}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_through_a_kernel(name, tmp_path):
    parameters, expected = CI_RUNS[name]
    shared = data_dir("ml-100k").parent
    parameters = {
        key: (value(tmp_path) if callable(value) else value) for key, value in parameters.items()
    }
    notebook = execute_notebook(
        EXAMPLES / name, parameters, env={"TFREC_DATA_DIR": str(shared)}, cwd=tmp_path
    )
    output = notebook_text_output(notebook)
    for text in expected:
        assert text in output, f"{name}: {text!r} not in its output:\n{output[-3000:]}"
    if name in EXPORTS:
        assert (tmp_path / "saved_models" / EXPORTS[name] / "1" / "saved_model.pb").is_file()
    if name == "vbpr_cold_start.ipynb":  # images make VBPR, not BPR-MF, rank new items
        vbpr = re.search(r"New items: VBPR AUC ([0-9.]+)", output)
        assert vbpr and float(vbpr.group(1)) > 0.5, output[-3000:]
    if name in PLOTS:  # the figures are shown inline, not only created
        images = [
            output
            for cell in notebook.cells
            for output in cell.get("outputs", [])
            if "image/png" in output.get("data", {})
        ]
        assert images, f"{name} shows no figure"
