"""SGD with momentum whose update stays correct when the learning rate changes (Goyal et al.)."""

from tfrec.utils.serialization import register_serializable

import tensorflow as tf
import tf_keras as keras


@register_serializable
class MomentumCorrectedSGD(keras.optimizers.SGD):
    """SGD with momentum in the form ``u <- m u + g; w <- w - lr u`` (Goyal et al., Eq. 9).

    tf_keras's `SGD` folds the rate into the velocity, ``v <- m v - lr g; w <- w + v``
    (Goyal's Eq. 10). Both agree for a constant rate, but when the rate changes from
    ``lr_t`` to ``lr_{t+1}`` (warmup, decay) Eq. 10 keeps a velocity built with the old rate:
    during warmup the history term is too small. Goyal et al. (Sec. 2.1, "momentum correction")
    restore Eq. 9 by scaling ``v`` by ``lr_{t+1} / lr_t``; storing ``u = v / lr`` instead, as
    this class does, is exactly that correction with no extra state.
    ``tests/optimizers/test_momentum_corrected_sgd.py`` checks both formulations against a numpy
    reference and shows that plain `SGD` differs from Eq. 9 under `LinearScalingWarmup`.

    Args:
        learning_rate: float or `LearningRateSchedule`. Default 0.01.
        momentum: float in [0, 1). Default 0.0 (then identical to `SGD`).
        name: str. Optimiser name.
        **kwargs: other `keras.optimizers.SGD` arguments (`weight_decay`, `clipnorm`, ...);
            `nesterov=True` is not supported.

    Raises:
        ValueError: if `nesterov` is True or `momentum` is outside [0, 1).

    References:
        - [Goyal et al., 2017](https://arxiv.org/abs/1706.02677). Accurate, Large Minibatch SGD:
          Training ImageNet in 1 Hour. Sec. 2.1, Eq. 9-10.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, name="MomentumCorrectedSGD", **kwargs):
        if kwargs.get("nesterov"):
            raise ValueError("MomentumCorrectedSGD does not implement nesterov=True.")
        kwargs.pop("nesterov", None)
        super().__init__(learning_rate=learning_rate, momentum=momentum, name=name, **kwargs)

    def update_step(self, gradient, variable):
        lr = tf.cast(self.learning_rate, variable.dtype)
        momentum = tf.cast(self.momentum, variable.dtype)
        # The slot that `SGD.build` created for this variable, looked up the way tf_keras's
        # optimizers do; here it holds u (Eq. 9), not v = lr * u.
        u = self.momentums[self._index_dict[self._var_key(variable)]]
        if isinstance(gradient, tf.IndexedSlices):
            u.assign(u * momentum)
            u.scatter_add(gradient)
        else:
            u.assign(u * momentum + gradient)
        variable.assign_sub(lr * u)

    def get_config(self):
        config = super().get_config()
        config.pop("nesterov", None)
        return config
