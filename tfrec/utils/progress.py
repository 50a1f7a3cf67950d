"""A progress bar for tfrec's long evaluation loops."""


def progress_bar(batches: int, verbose: int):
    """A `tf_keras.utils.Progbar` over `batches` when `verbose` is 1, else None (silent).

    Callers do ``if bar: bar.update(done)`` after each batch.

    Args:
        batches: int. Number of batches the loop runs (the bar's target).
        verbose: int. Keras verbosity; only 1 shows a bar (0 and 2 are silent).

    Returns:
        A `tf_keras.utils.Progbar` counting in batches, or None.
    """
    if verbose != 1:
        return None
    import tf_keras as keras

    return keras.utils.Progbar(batches, unit_name="batch")
