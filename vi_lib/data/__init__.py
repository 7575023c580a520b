"""Small data sets shipped inside vi_lib, so that the book runs offline and in Colab.

- :func:`load_faithful` -- Old Faithful eruptions (272 × 2), the data of Bishop (2006),
  Figs 9.8 and 10.6.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_faithful"]


def load_faithful(standardize=False):
    """Old Faithful geyser data: eruption time and waiting time, 272 rows.

    Parameters
    ----------
    standardize : bool
        If True, subtract each column's mean and divide by its standard deviation
        (``ddof=0``), as Bishop (2006) does for Fig. 10.6.

    Returns
    -------
    ndarray, shape (272, 2), float64
        Columns ``eruptions`` (minutes) and ``waiting`` (minutes until the next eruption),
        or their standardised values.

    Raises
    ------
    TypeError
        If ``standardize`` is not a bool.

    Notes
    -----
    R's data set ``faithful`` (Azzalini & Bowman 1990), stored in ``vi_lib/data/faithful.csv``
    with its source in the file's header.

    Examples
    --------
    >>> x = load_faithful()
    >>> x.shape, round(float(x[:, 0].mean()), 6), round(float(x[:, 1].mean()), 6)
    ((272, 2), 3.487783, 70.897059)
    """
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"standardize must be a bool, got {type(standardize).__name__}")
    text = resources.files(__name__).joinpath("faithful.csv").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    if rows[0] != "eruptions,waiting":
        raise RuntimeError(f"faithful.csv: unexpected header {rows[0]!r}")
    x = np.array([[float(v) for v in row.split(",")] for row in rows[1:]], dtype=np.float64)
    if standardize:
        x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x
