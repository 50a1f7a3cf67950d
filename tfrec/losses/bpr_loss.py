"""BPR-OPT: the pairwise ranking loss of Bayesian Personalized Ranking.

References:
    - [Rendle et al., 2009](https://arxiv.org/abs/1205.2618). BPR: Bayesian Personalized Ranking
      from Implicit Feedback. UAI. Section 4.1, BPR-OPT.
    - [He and McAuley, 2016](https://arxiv.org/abs/1510.01784). VBPR: Visual Bayesian Personalized
      Ranking from Implicit Feedback. AAAI. Equation 6.
"""

from tfrec.utils.serialization import register_serializable

import tensorflow as tf
import tf_keras as keras


def bpr_loss(x_uij):
    """Per-triple BPR-OPT loss ``-ln sigmoid(x_uij)``, computed as ``softplus(-x_uij)``.

    ``softplus(-x) = ln(1 + exp(-x))`` equals ``-ln sigmoid(x)`` and stays finite for large
    ``|x|`` (``tf.math.softplus`` uses the stable form), where ``-log(sigmoid(x))`` underflows to
    ``inf`` for ``x`` below about -88 in float32.

    Args:
        x_uij: float tensor of any shape: score differences ``x_ui - x_uj`` between a user's
            positive item i and negative item j.

    Returns:
        float32 tensor of the same shape (cast up from float16/bfloat16 under mixed precision).
    """
    x_uij = tf.cast(x_uij, tf.float32)
    return tf.math.softplus(-x_uij)


@register_serializable
class BPRLoss(keras.losses.Loss):
    """Keras loss wrapping `bpr_loss`: mean of ``-ln sigmoid(x_uij)`` over the batch.

    `y_pred` is the score difference ``x_uij = x_ui - x_uj`` `[batch]`; `y_true` is ignored
    (every triple says "i is preferred to j"), so it may be a dummy tensor of zeros.

    Args:
        reduction: Keras loss reduction. Default ``"sum_over_batch_size"`` (the mean).
        name: str. Loss name.

    Returns:
        A float32 scalar.

    References:
        - Rendle et al., 2009, BPR-OPT (Section 4.1).
    """

    def __init__(self, reduction=keras.losses.Reduction.AUTO, name: str = "bpr_loss"):
        super().__init__(reduction=reduction, name=name)

    def call(self, y_true, y_pred):
        del y_true  # BPR has no labels: the triple itself says i > j.
        return bpr_loss(y_pred)
