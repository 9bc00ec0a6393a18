import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbook import purity


@pytest.fixture
def params():
    return {
        "dense": {"kernel": jnp.ones((3, 4)), "bias": jnp.zeros(4)},
        "scale": 1.0,
        "unused": None,
        "blocks": [jnp.ones((2, 2), dtype=jnp.int32), (jnp.ones(5),)],
    }


def test_shapes_keeps_structure_and_replaces_leaves(params):
    result = purity.shapes(params)
    assert result["dense"] == {"kernel": (3, 4), "bias": (4,)}
    assert result["scale"] == ()
    assert result["unused"] is None
    assert result["blocks"] == [(2, 2), ((5,),)]


def test_count_params_sums_leaf_sizes_and_ignores_none(params):
    assert purity.count_params(params) == 12 + 4 + 1 + 4 + 5
    assert purity.count_params({}) == 0
    assert purity.count_params(None) == 0
    assert purity.count_params(np.zeros((7, 3))) == 21


def test_count_params_sees_registered_dataclass_fields_only():
    @jax.tree_util.register_dataclass
    @dataclasses.dataclass
    class Layer:
        w: jax.Array
        b: jax.Array
        width: int = dataclasses.field(default=3, metadata={"static": True})

    layer = Layer(w=jnp.ones((2, 3)), b=jnp.ones(3))
    assert purity.count_params(layer) == 9  # the static field is metadata, not a leaf
    assert "w" in purity.describe_tree(layer)


def test_describe_tree_rows_paths_and_total(params):
    text = purity.describe_tree(params)
    lines = text.splitlines()
    assert lines[0].split() == ["path", "shape", "dtype", "size"]
    # One row per leaf (None is no leaf), in jax.tree.leaves order (dict keys sorted).
    rows = [line.split()[0] for line in lines[1:-1]]
    assert rows == ["blocks/0", "blocks/1/0", "dense/bias", "dense/kernel", "scale"]
    kernel = next(line for line in lines if line.startswith("dense/kernel"))
    assert "(3, 4)" in kernel and "float32" in kernel and kernel.rstrip().endswith("12")
    assert "int32" in lines[1]
    assert "float" in next(line for line in lines if line.startswith("scale"))
    assert lines[-1] == "total: 26 numbers in 5 leaves"


def test_describe_tree_aligns_columns(params):
    lines = purity.describe_tree(params).splitlines()[:-1]
    # Every row has the same width, and the size column is right-aligned.
    assert len({len(line) for line in lines}) == 1


def test_describe_tree_of_a_single_array_and_thousands_separator():
    text = purity.describe_tree(jnp.zeros((100, 20)))
    assert text.splitlines()[1].startswith("<root>")
    assert text.splitlines()[-1] == "total: 2,000 numbers in 1 leaf"
