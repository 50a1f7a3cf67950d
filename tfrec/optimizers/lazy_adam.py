"""Adam that updates only the embedding rows a batch touched (a "lazy" Adam)."""

from tfrec.utils.serialization import register_serializable

import tensorflow as tf
import tf_keras as keras


@register_serializable
class LazyAdam(keras.optimizers.Adam):
    """Adam whose sparse updates touch only the rows present in the gradient.

    A `tf.gather` or `Embedding` lookup gives its table a `tf.IndexedSlices` gradient, whose
    rows are the users or items in the batch. tf_keras's `Adam` still decays the moments of
    every row on every step (a dense pass over a table of, say, 10^6 users). `LazyAdam` instead
    sums the gradient rows of duplicate indices, then updates only those rows:

        m_r <- beta_1 m_r + (1 - beta_1) g_r
        v_r <- beta_2 v_r + (1 - beta_2) g_r^2
        w_r <- w_r - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m_r / (sqrt(v_r) + epsilon)

    with the bias correction and the placement of epsilon ("epsilon hat", before Sec. 2.1 of
    Kingma and Ba) of `Adam.update_step`, and ``t`` the optimiser's step count + 1. Dense
    gradients get `Adam`'s update unchanged.

    Difference from `Adam`: a row absent from a batch keeps its value, m and v; its moments do
    not decay and it does not move on the momentum of earlier steps. A row present in every
    batch therefore follows `Adam` exactly; other rows follow the common "lazy" approximation
    of TF1's `tf.contrib.opt.LazyAdamOptimizer` and tensorflow-addons' `LazyAdam`, which this
    class replaces (addons does not import on TensorFlow 2.21).

    Duplicate indices are summed with fixed-shape ops (`_sum_duplicate_rows`), so the update
    also compiles under XLA (`jit_compile=True`). Dense passes that remain: `weight_decay`
    (applied by the base optimiser to whole variables) and `use_ema` (averages whole
    variables). Leave both off for row-wise steps.

    Args:
        learning_rate: float, `LearningRateSchedule` or callable. Default 0.001.
        beta_1: float. Decay rate of the first moment. Default 0.9.
        beta_2: float. Decay rate of the second moment. Default 0.999.
        epsilon: float. "Epsilon hat" added to sqrt(v). Default 1e-7.
        adaptive_epsilon: bool. If True, epsilon is Algorithm 1's epsilon and epsilon hat is
            ``epsilon * sqrt(1 - beta_2^t)``, as in `Adam`. Default False.
        amsgrad: bool. AMSGrad variant (Reddi et al., 2018); for sparse gradients the running
            maximum vhat is also updated only on the touched rows. Default False.
        name: str. Optimiser name. Default "LazyAdam".
        **kwargs: other `keras.optimizers.Adam` arguments (`weight_decay`, `clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, `ema_momentum`,
            `ema_overwrite_frequency`, `jit_compile`).

    Example:
        >>> import numpy as np
        >>> import scipy.sparse as sp
        >>> import tfrec
        >>> from tfrec.data import bpr_triples
        >>> model = tfrec.models.BPRMF(num_users=30, num_items=50)
        >>> model.compile(optimizer=LazyAdam(1e-2))
        >>> clicks = sp.random(30, 50, density=0.1, format="csr", random_state=0)
        >>> history = model.fit(bpr_triples(clicks, batch_size=32, seed=0), epochs=2, verbose=0)
        >>> bool(np.isfinite(history.history["loss"][-1]))
        True

    References:
        - [Kingma and Ba, 2015](https://arxiv.org/abs/1412.6980). Adam: A Method for
          Stochastic Optimization. ICLR. Algorithm 1 and the note before Sec. 2.1.
        - [Reddi et al., 2018](https://openreview.net/forum?id=ryQu7f-RZ). On the Convergence
          of Adam and Beyond. ICLR (`amsgrad`).
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        adaptive_epsilon=False,
        amsgrad=False,
        name="LazyAdam",
        **kwargs,
    ):
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            adaptive_epsilon=adaptive_epsilon,
            amsgrad=amsgrad,
            name=name,
            **kwargs,
        )

    def update_step(self, gradient, variable):
        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable)

        # Step size and epsilon hat exactly as `Adam.update_step` computes them.
        lr = tf.cast(self.learning_rate, variable.dtype)
        local_step = tf.cast(self.iterations + 1, variable.dtype)
        beta_1_power = tf.pow(tf.cast(self.beta_1, variable.dtype), local_step)
        beta_2_power = tf.pow(tf.cast(self.beta_2, variable.dtype), local_step)
        alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        if self.adaptive_epsilon:
            epsilon_hat = self.epsilon * tf.sqrt(1 - beta_2_power)
        else:
            epsilon_hat = self.epsilon

        rows, values, touched = _sum_duplicate_rows(gradient)
        # Broadcasts the per-row flag over the embedding dimensions.
        touched = tf.reshape(touched, [-1] + [1] * (values.shape.rank - 1))

        # Adam's own slots, found the way `Adam.update_step` finds them; `_var_key`,
        # `_index_dict`, `_momentums`, `_velocities` and `_velocity_hats` are protected
        # tf_keras attributes with no public accessor.
        index = self._index_dict[self._var_key(variable)]
        m = self._momentums[index]
        v = self._velocities[index]

        # Adam's dense-branch arithmetic (``m += (g - m) (1 - beta_1)``) on the touched rows.
        # Increments rather than overwrites: `scatter_add` is exact whatever the order of the
        # padding entries (increment 0) that share a row with a touched one.
        m_rows = tf.gather(m, rows)
        v_rows = tf.gather(v, rows)
        m_increment = tf.where(touched, (values - m_rows) * (1 - self.beta_1), 0.0)
        v_increment = tf.where(touched, (tf.square(values) - v_rows) * (1 - self.beta_2), 0.0)
        m.scatter_add(tf.IndexedSlices(m_increment, rows))
        v.scatter_add(tf.IndexedSlices(v_increment, rows))
        m_rows += m_increment
        v_rows += v_increment
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            v_rows = tf.maximum(tf.gather(v_hat, rows), v_rows)
            # v_hat >= 0, so the padding entries' 0 leaves it unchanged.
            v_hat.scatter_max(tf.IndexedSlices(tf.where(touched, v_rows, 0.0), rows))
        step = tf.where(touched, (m_rows * alpha) / (tf.sqrt(v_rows) + epsilon_hat), 0.0)
        variable.scatter_sub(tf.IndexedSlices(step, rows))

    def _deduplicate_sparse_grad(self, grads):
        # Overrides the protected hook through which `Optimizer.apply_gradients` merges
        # duplicate indices with `tf.unique` and hands on its variable-length output. Under XLA
        # (`jit_compile=True` in `compile`) that output is padded to a bound with unspecified
        # rows, and `tf.unique` on it again fails to compile (TF 2.21, one-index batch:
        # dynamic_padder RET_CHECK). `update_step` merges duplicates itself with fixed shapes.
        return list(grads)

    def get_config(self):
        config = super().get_config()
        # `Adam.get_config` drops `adaptive_epsilon`; keep it so a reloaded optimiser agrees.
        config["adaptive_epsilon"] = self.adaptive_epsilon
        return config


def _sum_duplicate_rows(gradient):
    """Sums the rows of an `IndexedSlices` that share an index, keeping fixed shapes.

    Args:
        gradient: `tf.IndexedSlices` with n index entries, possibly repeated.

    Returns:
        rows: int `[n]`. The k distinct indices in order of first appearance, then n - k
            copies of index 0 as padding.
        values: `[n, ...]`. The summed gradient rows of `rows`; zeros for the padding.
        touched: bool `[n]`. True for the k real rows, False for the padding.

    The outputs have n entries, not `tf.unique`'s data-dependent k, so that XLA compiles them
    without dynamic shapes.
    """
    num_entries = tf.shape(gradient.indices)[0]
    _, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(gradient.values, positions, num_entries)
    # Empty segments (positions k..n-1) get the dtype's minimum, the only negative entries.
    rows = tf.math.unsorted_segment_max(gradient.indices, positions, num_entries)
    touched = rows >= 0
    return tf.maximum(rows, 0), values, touched
