"""The one error type of tfrec's readers: input a user must fix."""


class DataError(ValueError):
    """A user's input file, or its content, that tfrec cannot use.

    Raised by every reader (`tfrec.data.read_movielens`, `tfrec.data.read_sequences`,
    `tfrec.data.load_item_features`, ...) for a file the user must fix: a wrong separator, a
    non-numeric, negative or out-of-range id, a header line where none belongs, an empty or
    truncated file, bytes that are not UTF-8, a feature array with NaN or the wrong shape. The
    message names the file and, where one line (or array row) is at fault, its number and the
    offending value. `tfrec.export.ExportedRecommender` raises it for a folder that is not a
    tfrec export, and `tfrec.plots.plot_runs` for a file that is not a metrics file. The
    ``tfrec`` command prints it on one line and exits with status 2.

    A subclass of `ValueError`, so code that caught the readers' former `ValueError` still works.

    Example:
        >>> from tfrec.data import DataError
        >>> issubclass(DataError, ValueError)
        True
    """
