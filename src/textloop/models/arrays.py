"""Named arrays in one ``.npz`` file, written byte for byte the same for the same arrays.

``numpy.savez`` stamps each member of its zip file with the time of writing, so the same model
saved twice gets two content hashes: a candidate saved again would not be found identical to the
earlier one, and a cached training step would look changed. These files carry no time.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip member can carry


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """What ``numpy.savez(path, **arrays)`` writes, less the times; ``numpy.load`` reads it."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            member = zipfile.ZipInfo(f"{name}.npy", date_time=EPOCH)
            with archive.open(member, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asarray(arrays[name]), allow_pickle=False)
