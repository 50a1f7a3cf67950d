"""The ``Example:`` sections of public docstrings run as doctests and print what they show."""

import doctest
import importlib

import pytest

MODULES_WITH_EXAMPLES = [
    "tfrec.data.data_error",
    "tfrec.models.fmrlrec",
    "tfrec.models.lrurec",
    "tfrec.models.mult_vae",
    "tfrec.models.vbpr",
    "tfrec.optimizers.lazy_adam",
    "tfrec.plots",
    "tfrec.schedules.linear_scaling_warmup",
    "tfrec.training.config_error",
]


@pytest.mark.parametrize("module_name", MODULES_WITH_EXAMPLES)
def test_examples_run(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.attempted > 0, f"{module_name} has no example"
    assert result.failed == 0


def test_import_tfrec_reaches_every_subpackage():
    import tfrec

    assert tfrec.models.MultVAE.__name__ == "MultVAE"
    for name in tfrec._SUBPACKAGES:
        package = getattr(tfrec, name)
        assert set(package.__all__) <= set(dir(package)) | set(getattr(package, "_EXPORTS", {}))
    with pytest.raises(AttributeError):
        tfrec.no_such_subpackage  # noqa: B018
