"""Registration of tfrec's Keras objects, so saved models reload them by name."""

import tf_keras as keras

PACKAGE = "tfrec"


def register_serializable(cls):
    """Registers a layer, model, loss, metric or schedule under the package name ``tfrec``.

    Saved models then refer to it as ``tfrec>ClassName`` and reload it without ``custom_objects``.

    Args:
        cls: the class to register.

    Returns:
        The class itself, so this works as a decorator.
    """
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)
