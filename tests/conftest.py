"""Fixtures shared by the unit tests of more than one chapter."""

from __future__ import annotations

import pytest

from jaxbook import flax_haiku as fh

FLAX_BATCH = 16


@pytest.fixture(scope="session")
def data():
    """The digits split the two Flax chapters train on (book/flax_haiku.md, book/flax_nnx.md)."""
    return fh.load_digits_split(seed=0)


@pytest.fixture(scope="session")
def batch(data):
    """The first training examples and labels of :func:`data`."""
    return data.x_train[:FLAX_BATCH], data.y_train[:FLAX_BATCH]
