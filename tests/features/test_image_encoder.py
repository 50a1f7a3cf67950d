import tfrec.features
from tfrec.features import image_features

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

SIDE = 32


def _write_images(folder, count=3):
    rng = np.random.default_rng(0)
    paths = []
    for n in range(count):
        # Different sizes: the pipeline must resize each to SIDE x SIDE.
        pixels = rng.integers(0, 256, size=(20 + 7 * n, 30, 3), dtype=np.uint8)
        path = folder / f"{n}.png"
        path.write_bytes(tf.io.encode_png(pixels).numpy())
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def backbone():
    keras.utils.set_random_seed(0)
    return keras.applications.EfficientNetB0(
        include_top=False, weights=None, pooling="avg", input_shape=(SIDE, SIDE, 3)
    )


def test_is_exported_from_the_package():
    assert tfrec.features.image_features is image_features


def test_streamed_batches_match_one_direct_forward_pass(tmp_path, backbone):
    paths = _write_images(tmp_path)
    features = image_features(paths, image_size=SIDE, batch_size=2, model=backbone)
    assert features.shape == (3, 1280) and features.dtype == np.float32
    images = np.stack(
        [
            tf.image.resize(
                tf.cast(tf.io.decode_png(tf.io.read_file(str(p)), channels=3), tf.float32),
                [SIDE, SIDE],
            ).numpy()
            for p in paths
        ]
    )
    np.testing.assert_allclose(features, backbone(images, training=False).numpy(), atol=1e-4)


def test_builds_backbone_without_download(tmp_path):
    features = image_features(_write_images(tmp_path, 2), weights=None, image_size=SIDE)
    assert features.shape == (2, 1280) and np.all(np.isfinite(features))


def test_clear_errors(tmp_path, backbone):
    paths = _write_images(tmp_path, 2)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        image_features([*paths, tmp_path / "nope.png"], model=backbone, image_size=SIDE)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.png"):
        image_features([paths[0], bad], model=backbone, image_size=SIDE, batch_size=1)
    with pytest.raises(ValueError, match="Unknown backbone"):
        image_features(paths, backbone="vgg")
