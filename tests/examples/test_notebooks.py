"""The notebooks in examples/ run: their code cells, with shell lines dropped and the data
folder and epoch count overridden, on MovieLens 100K."""

import json
import re

from tests.helpers import REPO_ROOT, data_dir


def _code(notebook, overrides):
    cells = json.loads((REPO_ROOT / "examples" / notebook).read_text())["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("!"))
    for name, value in overrides.items():
        source, count = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", source, flags=re.M)
        assert count == 1, f"{notebook} has no line '{name} = ...'"
    return source


def test_mult_vae_notebook_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    source = _code(
        "mult_vae_movielens.ipynb",
        {"DATASET": "ml-100k", "DATA_DIR": str(data_dir("ml-100k")), "EPOCHS": 1},
    )
    source = source.replace(
        "num_validation_users=600, num_test_users=600",
        "num_validation_users=100, num_test_users=100",
    )
    exec(compile(source, "mult_vae_movielens.ipynb", "exec"), {})
    out = capsys.readouterr().out
    assert "Mult-VAE: Recall@20" in out and "EASE: Recall@20" in out
    assert (tmp_path / "saved_models" / "mult_vae" / "1" / "saved_model.pb").is_file()
