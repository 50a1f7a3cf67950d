"""Pooled CNN features of item images, for VBPR's visual term.

He and McAuley (2016) feed VBPR the 4,096-d fc7 output of a pre-trained CNN (Caffe reference
net). Here any ImageNet backbone from `tf_keras.applications` serves (EfficientNetB0 by default,
1,280-d after global average pooling; ResNet50 gives 2,048-d); the images are decoded, resized
and batched by tf.data while the network runs, so only one batch is in memory at a time.

References:
    - [He and McAuley, 2016](https://arxiv.org/abs/1510.01784). VBPR. AAAI. Section 4.1.
    - [Tan and Le, 2019](https://arxiv.org/abs/1905.11946). EfficientNet. ICML.
"""

import os
import pathlib

from tfrec.data.data_error import DataError

import numpy as np
import tensorflow as tf
import tf_keras as keras

# name -> (constructor, preprocess_input, default image side in pixels)
BACKBONES = {
    "efficientnetb0": (
        keras.applications.EfficientNetB0,
        keras.applications.efficientnet.preprocess_input,
        224,
    ),
    "resnet50": (keras.applications.ResNet50, keras.applications.resnet50.preprocess_input, 224),
}


def _decode(path, image_size):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = tf.image.resize(tf.cast(image, tf.float32), [image_size, image_size])
    return image


def _first_unreadable(paths) -> str:
    for path in paths:
        try:
            tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError):
            return path
    return paths[0]


def image_features(
    paths,
    backbone: str = "efficientnetb0",
    weights="imagenet",
    image_size=None,
    batch_size: int = 32,
    model=None,
) -> np.ndarray:
    """Computes one globally average-pooled CNN feature vector per image file.

    Args:
        paths: sequence of str or path-like: JPEG, PNG, GIF or BMP files, one per item.
        backbone: str. ``"efficientnetb0"`` (1,280-d) or ``"resnet50"`` (2,048-d).
        weights: ``"imagenet"`` (downloaded by Keras into ``~/.keras/models`` on first use),
            None (random initialisation, for tests), or a path to a weights file.
        image_size: int or None. Side in pixels the images are resized to (aspect ratio not
            kept); default the backbone's 224.
        batch_size: int. Images per forward pass.
        model: optional prebuilt `keras.Model` mapping `[batch, side, side, 3]` preprocessed
            images to `[batch, d]`; overrides `backbone` and `weights`.

    Returns:
        float32 array `[len(paths), d]`, row n for ``paths[n]``.

    Raises:
        ValueError: for an unknown backbone, an empty `paths` or batch_size < 1.
        DataError: (a `ValueError`) for a file that is not a decodable image (named in the
            message).
        FileNotFoundError: naming the first missing file.
    """
    paths = [str(pathlib.Path(p)) for p in paths]
    if not paths:
        raise ValueError("image_features needs at least one image path.")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if backbone not in BACKBONES:
        raise ValueError(f"Unknown backbone {backbone!r}; expected one of {sorted(BACKBONES)}.")
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(f"Image file not found: {missing[0]} ({len(missing)} missing).")
    constructor, preprocess, default_size = BACKBONES[backbone]
    image_size = int(image_size or default_size)
    if model is None:
        model = constructor(
            include_top=False,
            weights=weights,
            pooling="avg",
            input_shape=(image_size, image_size, 3),
        )
    dataset = (
        tf.data.Dataset.from_tensor_slices(paths)
        .map(lambda p: _decode(p, image_size), num_parallel_calls=tf.data.AUTOTUNE)
        .batch(int(batch_size))
        .map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    outputs = []
    iterator = iter(dataset)
    for start in range(0, len(paths), int(batch_size)):
        try:
            batch = next(iterator)
        except tf.errors.InvalidArgumentError as error:
            bad = _first_unreadable(paths[start : start + int(batch_size)])
            raise DataError(f"Cannot decode image file {bad}: {error.message}") from None
        outputs.append(np.asarray(model(batch, training=False), np.float32))
    return np.concatenate(outputs, axis=0)
