"""A callback that logs an experiment's validation metrics at the end of every epoch."""

import tf_keras as keras


class ValidationCallback(keras.callbacks.Callback):
    """Adds ``val_<name>`` entries to the epoch logs from a validation function.

    The function is the one that also reports the chosen epoch's validation metrics, so the best
    epoch and the reported figures come from the same code. Put this callback before
    `keras.callbacks.EarlyStopping` in the list: callbacks share the logs dict, in order.

    Args:
        validate: callable taking the model and returning a dict of float metrics, e.g.
            ``{"ndcg@100": 0.43}``.
        prefix: str. Prepended to each name in the logs. Default ``"val_"``.
    """

    def __init__(self, validate, prefix: str = "val_"):
        super().__init__()
        self.validate = validate
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        results = self.validate(self.model)
        if logs is not None:
            for name, value in results.items():
                logs[self.prefix + name] = float(value)
