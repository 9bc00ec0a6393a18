"""Readable tracebacks: only the frames of cells and of jaxbook, and no build paths."""

import sys

import pytest

from booktools import kernel_errors


def raise_through(tmp_path):
    """A "cell" calls jaxbook code, which calls a library that raises."""
    library = tmp_path / "site-packages" / "lib.py"
    library.parent.mkdir()
    library.write_text("def fail():\n    raise ValueError('boom')\n", encoding="utf-8")
    package = tmp_path / "src" / "bookpkg"
    package.mkdir(parents=True)
    (package / "helper.py").write_text("import lib\n\n\ndef run():\n    lib.fail()\n", "utf-8")
    sys.path[:0] = [str(library.parent), str(package.parent)]
    try:
        namespace = {}
        cell = compile(
            "import bookpkg.helper\nbookpkg.helper.run()\n", "/tmp/ipykernel_1/c.py", "exec"
        )
        with pytest.raises(ValueError) as caught:
            exec(cell, namespace)
    finally:
        del sys.path[:2]
        for name in ("lib", "bookpkg", "bookpkg.helper"):
            sys.modules.pop(name, None)
    return caught.value, package


def test_only_cell_and_jaxbook_frames_are_kept(tmp_path):
    error, package = raise_through(tmp_path)
    files = []
    tb = kernel_errors.reader_traceback(error.__traceback__, package_dir=package)
    while tb is not None:
        files.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert files == ["/tmp/ipykernel_1/c.py", str(package / "helper.py")]


def test_build_paths_become_import_paths_and_cell_names():
    text = f"File {kernel_errors.PACKAGE_DIR}/grad.py:12, in rms_error"
    assert kernel_errors.scrub(text) == "File jaxbook/grad.py:12, in rms_error"
    jax_message = (
        "tracing the function norm at /tmp/ipykernel_6853/2560960569.py:1 for jit; "
        "nonzero at /work/x/.venv/lib/python3.11/site-packages/jax/_src/numpy/lax_numpy.py:3610"
    )
    cells = {"/tmp/ipykernel_6853/2560960569.py": 29}
    assert kernel_errors.scrub(jax_message, cells) == (
        "tracing the function norm at Cell In[29], line 1 for jit; "
        "nonzero at jax/_src/numpy/lax_numpy.py:3610"
    )
    assert kernel_errors.scrub("at /tmp/ipykernel_1/2.py:3") == "at a cell, line 3"


def test_the_startup_file_installs_the_handler(tmp_path):
    folder = kernel_errors.write_startup_file(tmp_path)
    startup = folder / "profile_default" / "startup" / "00-readable-errors.py"
    assert "install()" in startup.read_text(encoding="utf-8")
