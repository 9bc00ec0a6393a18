"""What the output checker reads and records: executed notebooks summarised and normalised
(booktools.normalisation), and the YAML records (booktools.records)."""

import subprocess
import sys

import nbformat
import pytest

from booktools import normalisation, records
from booktools.book import Paths
from jaxbook.device_names import describe

ROOT = Paths.from_environment().root


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("{CpuDevice(id=0)}", "{Device(id=0)}"),
        ("{CudaDevice(id=0)}", "{Device(id=0)}"),
        ("<Foo at 0x7f32c06c33d0>", "<Foo at 0x…>"),
        ("JAX on cpu (AMD EPYC 7B13)", "JAX on <device>"),
        ("ran on cuda (NVIDIA H100 80GB HBM3)", "ran on <device>"),
    ],
)
def test_normalise(raw, normal):
    assert normalisation.normalise(raw, ROOT) == normal


@pytest.mark.parametrize(
    ("platform", "kind"),
    [("cpu", "AMD EPYC 7B13"), ("cuda", "NVIDIA H100 80GB HBM3"), ("tpu", "TPU v5 lite")],
)
def test_a_device_as_the_pages_name_it_is_normalised(platform, kind):
    # device_description() and the normaliser take the form from one module: they cannot drift.
    printed = f"timed on {describe(platform, kind)}, 3 runs"
    assert normalisation.normalise(printed, ROOT) == "timed on <device>, 3 runs"


def test_the_book_folder_and_the_environment_become_placeholders(tmp_path):
    text = f"{tmp_path}/book/x.md and {sys.prefix}/lib/site.py"
    assert normalisation.normalise(text, tmp_path) == "<root>/book/x.md and <env>/lib/site.py"


def test_normalisation_is_the_same_under_every_hash_seed():
    # A virtual environment inside the repository: the longer path must be replaced first.
    code = (
        "import sys; from pathlib import Path; from booktools.normalisation import normalise; "
        f"print(normalise({str(sys.prefix)!r} + '/lib/x.py ' + {str(ROOT)!r} + '/src', "
        f"Path({str(ROOT)!r})))"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in range(8)
    }
    assert seen == {"<env>/lib/x.py <root>/src"}


def test_outputs_are_summarised_normalised_and_an_error_by_its_first_line():
    cell_outputs = [
        {"output_type": "stream", "name": "stdout", "text": "a  \nb\n"},
        {"output_type": "execute_result", "data": {"text/plain": "1", "text/html": "<b>1</b>"}},
        {"output_type": "display_data", "data": {"image/png": "..."}},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad\nmore", "traceback": []},
    ]
    assert records.summarise_outputs(cell_outputs, ROOT) == [
        {"stream": "stdout", "text": "a\nb"},
        {"result": ["text/html", "text/plain"], "text": "1"},
        {"display": ["image/png"]},
        {"error": "ValueError", "message": "bad"},
    ]


def test_cells_are_keyed_by_label_else_by_source_and_repeats_are_numbered():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"label": "setup"}),
        nbformat.v4.new_code_cell("print(x)  "),
        nbformat.v4.new_markdown_cell("prose"),
        nbformat.v4.new_code_cell("print(x)", metadata={"tags": ["volatile-output"]}),
    ]
    cells = records.notebook_cells(notebook, ROOT)
    assert [c.key for c in cells][0] == "setup"
    assert cells[2].key == cells[1].key + "-2"
    assert [c.index for c in cells] == [1, 2, 3]
    assert [c.kind for c in cells] == ["numeric", "numeric", "volatile"]


def test_volatile_records_mask_numbers_units_and_spacing():
    assert records.mask("selu:   1.23 ms ± 45 µs over 7 runs") == "selu: #s ± #s over # runs"


def test_a_record_of_an_unknown_kind_is_malformed(tmp_path):
    golden = records.GoldenRecords(Paths.at(tmp_path))
    path = tmp_path / "x.yml"
    path.write_text("cells: [{key: a, kind: fuzzy, outputs: []}]\n", encoding="utf-8")
    with pytest.raises(records.CheckerError, match="unknown kind `fuzzy`.*make golden"):
        golden.load(path)


def test_records_live_per_profile_and_name_their_page(tmp_path):
    golden = records.GoldenRecords(Paths.at(tmp_path))
    assert golden.file("book/jit") == tmp_path / "tests" / "golden" / "jit.yml"
    assert golden.file("book/jit", "gpu") == tmp_path / "tests" / "golden" / "gpu" / "jit.yml"
    assert golden.docname_of(golden.file("book/jit", "gpu"), "gpu") == "book/jit"


def test_a_written_record_reads_back(tmp_path):
    golden = records.GoldenRecords(Paths.at(tmp_path))
    cell = records.Cell(
        "k", 1, "print(t)", [{"stream": "stdout", "text": "1.5 ms"}], "volatile", {}, None
    )
    page = records.ExecutedPage("book/x", {}, [cell], {"n": "3"}, {"device": "cpu"})
    path = golden.write(page)
    assert path == golden.file("book/x")
    data = golden.load(path)
    assert data["cells"][0]["outputs"] == [{"stream": "stdout", "text": "#s"}]
    assert data["cells"][0]["kind"] == "volatile"
    assert data["glue"] == {"n": "3"}
    assert path.read_text(encoding="utf-8").startswith("# Recorded outputs of book/x.md")


# --------------------------------------------------------------------------- GPU records


GPU = {"device": "gpu", "model": "NVIDIA H200", "jax": "0.11.2", "jaxlib": "0.11.2"}
CPU = {"device": "cpu", "isa": "AVX512", "threads": 2, "jax": "0.11.2", "jaxlib": "0.11.2"}


def printed(key, text, index=1):
    return records.Cell(
        key, index, f"print({key})", [{"stream": "stdout", "text": text}], "numeric", {}, None
    )


def recorded_page(golden, numerics, cells, glue):
    return golden.write(records.ExecutedPage("book/x", {}, cells, glue, numerics))


def test_a_gpu_record_is_completed_cell_by_cell_from_the_cpu_record(tmp_path):
    golden = records.GoldenRecords(Paths.at(tmp_path))
    # The GPU ran the page as it was: cells a, b, c; glued `old` and `kept`.
    recorded_page(
        golden,
        GPU,
        [printed("a", "1"), printed("b", "2"), printed("c", "3")],
        {"old": "1", "kept": "2"},
    )
    # Since then cell b became b2 and `new` is glued; the CPU record followed.
    recorded_page(
        golden,
        CPU,
        [printed("a", "1"), printed("b2", "2.5"), printed("c", "3")],
        {"new": "5", "kept": "2"},
    )
    page = records.ExecutedPage(
        "book/x",
        {},
        [printed("a", "1", 1), printed("b2", "2.5", 2), printed("c", "3", 3)],
        {"new": "5", "kept": "2"},
        GPU,
    )
    expected = golden.expected(page, "gpu")
    assert [c["key"] for c in expected.cells] == ["a", "b2", "c"]
    assert expected.numerics == GPU and expected.borrowed_cells == {"b2": CPU}
    assert expected.glue == {"kept": "2", "new": "5"} and expected.borrowed_glue == {"new": CPU}
    assert expected.sources == [golden.file("book/x", "gpu"), golden.file("book/x")]
    assert expected.notes == [
        "book/x.md: the gpu record's cell [b] `print(b)` is on neither the page nor its CPU "
        "record (the page changed since); left out until the gpu record is made again",
        "book/x.md, cell 2 [b2] `print(b2)`: not in the gpu record (the cell changed since it "
        "was made); checked against its CPU record",
        "book/x.md: the gpu record's glued value `old` is glued by neither the page nor its CPU "
        "record (the page changed since); left out",
        "book/x.md: glued value `new` is not in the gpu record (the page changed since it was "
        "made); checked against its CPU record",
    ]


def test_a_gpu_record_that_covers_the_page_borrows_nothing(tmp_path):
    golden = records.GoldenRecords(Paths.at(tmp_path))
    cells = [printed("a", "1")]
    recorded_page(golden, GPU, cells, {"n": "1"})
    recorded_page(golden, CPU, cells, {"n": "1"})
    expected = golden.expected(records.ExecutedPage("book/x", {}, cells, {"n": "1"}, GPU), "gpu")
    assert expected.notes == [] and not expected.borrowed_cells and not expected.borrowed_glue
    assert expected.sources == [golden.file("book/x", "gpu")]


def test_without_a_gpu_record_the_whole_page_is_checked_against_the_cpu_record(tmp_path):
    golden = records.GoldenRecords(Paths.at(tmp_path))
    cells = [printed("a", "1")]
    page = records.ExecutedPage("book/x", {}, cells, {}, GPU)
    assert golden.expected(page, "gpu") is None
    recorded_page(golden, CPU, cells, {})
    expected = golden.expected(page, "gpu")
    assert expected.numerics == CPU and expected.sources == [golden.file("book/x")]
    assert expected.notes == ["book/x.md: no gpu records yet; checked against the CPU records"]
    # A CPU build never borrows: its own record is the only one.
    assert golden.expected(records.ExecutedPage("book/x", {}, cells, {}, CPU), "cpu").notes == []
