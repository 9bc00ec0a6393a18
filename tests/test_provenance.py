"""jaxbook.provenance: the one list of the libraries the book teaches, and the device."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

from jaxbook import provenance


def test_library_versions_are_the_installed_ones_by_distribution_in_order():
    versions = provenance.library_versions()
    assert list(versions) == [
        "jax",
        "jaxlib",
        "flax",
        "dm-haiku",
        "optax",
        "orbax-checkpoint",
        "numpy",
    ]
    assert versions["flax"] == importlib.metadata.version("flax")


def test_the_book_teaches_five_libraries_and_records_numpy_too():
    assert provenance.LIBRARIES[-1] == provenance.Library(
        "numpy", "NumPy", taught=False, canary=False
    )
    taught = [library.distribution for library in provenance.TAUGHT]
    assert taught == ["jax", "jaxlib", "flax", "dm-haiku", "optax"]
    assert [library.label for library in provenance.TAUGHT] == [
        "JAX",
        "jaxlib",
        "Flax",
        "Haiku",
        "Optax",
    ]


def test_the_canary_tries_the_taught_libraries_and_orbax_but_not_numpy():
    newest = [library.distribution for library in provenance.NEWEST_IN_CANARY]
    assert newest == ["jax", "jaxlib", "flax", "dm-haiku", "optax", "orbax-checkpoint"]


def test_the_list_is_read_without_loading_jax():
    """The build's tools read it; JAX would cost them most of a second."""
    code = "import sys, jaxbook.provenance; print('jax' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_device_description_names_the_platform():
    assert provenance.device_description().split(" ", 1)[0] in {"cpu", "cuda", "gpu", "rocm", "tpu"}
