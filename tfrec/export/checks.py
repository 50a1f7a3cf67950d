"""Checks on serving request arguments, run inside the exported graph."""

import tensorflow as tf


def checked_k(k, num_items: int):
    """Returns `k` after asserting 1 <= k <= `num_items` (InvalidArgument with a clear message).

    The assertions are control dependencies of the returned tensor, so they run before any
    `top_k` that would otherwise fail first with a less clear message.

    Args:
        k: int32 scalar tensor, the requested number of recommendations.
        num_items: int. Size of the catalogue.

    Returns:
        `k`, as an int32 tensor that depends on the checks.
    """
    checks = [
        tf.debugging.assert_greater_equal(k, 1, message="k must be >= 1"),
        tf.debugging.assert_less_equal(
            k, num_items, message=f"k must be <= the number of items ({num_items})"
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(k)
