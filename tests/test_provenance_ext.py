"""The "Where this page ran" extension: its pure parts, and its doctree handler on fakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from booktools import provenance_ext as ext

VERSIONS = {
    "jax": "0.10.2",
    "jaxlib": "0.10.2",
    "flax": "0.12.8",
    "dm-haiku": "0.0.17",
    "optax": "0.2.8",
    "numpy": "2.4.6",
}
BUILT = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
ENVIRONMENT = ext.BuildEnvironment("cpu (AMD EPYC 7B13)", VERSIONS, BUILT)


def test_build_time_honours_source_date_epoch():
    assert ext.build_time({"SOURCE_DATE_EPOCH": "0"}) == datetime(1970, 1, 1, tzinfo=UTC)
    now = ext.build_time({})
    assert now.tzinfo is not None and abs((datetime.now(tz=UTC) - now).total_seconds()) < 60


def test_format_date_and_runtime():
    assert ext.format_date(BUILT) == "2026-01-02 03:04 UTC"
    assert ext.format_runtime(3.21) == "3.2 s"
    assert ext.format_runtime(0.042) == "0.04 s"
    assert ext.format_runtime(None) == "an unknown time"


def test_parse_probe_takes_the_last_line_and_rejects_garbage():
    stdout = "some log line\n" + json.dumps({"device": "cuda (H100)", "versions": VERSIONS})
    assert ext.parse_probe(stdout) == ("cuda (H100)", VERSIONS)
    with pytest.raises(ValueError):
        ext.parse_probe("")
    with pytest.raises(ValueError):
        ext.parse_probe(json.dumps({"device": 3, "versions": []}))


def test_library_items_name_the_five_libraries_in_order():
    assert ENVIRONMENT.library_items() == [
        ("JAX", "0.10.2"),
        ("jaxlib", "0.10.2"),
        ("Flax", "0.12.8"),
        ("Haiku", "0.0.17"),
        ("Optax", "0.2.8"),
    ]
    partial = ext.BuildEnvironment("cpu", {"jax": "1"}, BUILT)
    assert ("Haiku", "not installed") in partial.library_items()


def test_page_execution_is_none_for_pages_that_did_not_run():
    metadata = {"book/jit": {"exec_data": {"runtime": 1.0}}, "book/status": {"exec_table": True}}
    assert ext.page_execution(metadata, "book/jit") == {"runtime": 1.0}
    assert ext.page_execution(metadata, "book/status") is None
    assert ext.page_execution(metadata, "book/missing") is None


def test_note_text_names_device_versions_runtime_and_build_date():
    text = ext.note_text(ENVIRONMENT, {"runtime": 4.04, "method": "direct", "succeeded": True})
    assert text == (
        "Executed in 4.0 s on cpu (AMD EPYC 7B13) with JAX 0.10.2, jaxlib 0.10.2, "
        "Flax 0.12.8, Haiku 0.0.17 and Optax 0.2.8; built 2026-01-02 03:04 UTC."
    )


def test_note_text_is_honest_about_cached_and_failed_runs():
    cached = ext.note_text(
        ENVIRONMENT, {"runtime": 1, "method": "cache", "mtime": 0, "succeeded": True}
    )
    assert "outputs from the cache, executed 1970-01-01 00:00 UTC" in cached
    failed = ext.note_text(ENVIRONMENT, {"runtime": 1, "succeeded": False, "error": "Boom"})
    assert "FAILED (Boom)" in failed


def test_note_node_is_a_styled_container_with_a_link_to_the_status_page():
    node = ext.note_node("Executed in 1.0 s.", "status.html")
    assert isinstance(node, nodes.container) and ext.NOTE_CLASS in node["classes"]
    assert node.astext() == "Where this page ran. Executed in 1.0 s. All pages: build status."
    (link,) = node.findall(nodes.reference)
    assert link["refuri"] == "status.html"
    assert not list(ext.note_node("x").findall(nodes.reference))


def test_environment_table_lists_device_libraries_and_date():
    table = ext.environment_table(ENVIRONMENT)
    cells = [entry.astext() for entry in table.findall(nodes.entry)]
    assert cells[:4] == ["What", "Version or name", "Device", "cpu (AMD EPYC 7B13)"]
    assert "Haiku" in cells and cells[-2:] == ["Built", "2026-01-02 03:04 UTC"]


# --------------------------------------------------------------------------- the handler


def _document(*children: nodes.Node) -> nodes.document:
    document = new_document("test", get_default_settings(Parser))
    section = nodes.section()
    section += nodes.paragraph(text="The page.")
    document += section
    for child in children:
        document += child
    return document


def _fake_app(metadata: dict) -> SimpleNamespace:
    builder = SimpleNamespace(
        format="html", get_relative_uri=lambda src, dest: f"../{dest.split('/')[-1]}.html"
    )
    env = SimpleNamespace(nb_metadata=metadata, found_docs={"book/jit", "book/status"})
    app = SimpleNamespace(env=env, builder=builder, srcdir=".")
    app._jaxbook_build_environment = ENVIRONMENT  # measured once per build
    return app


def test_handler_appends_the_note_to_executed_pages_only():
    app = _fake_app({"book/jit": {"exec_data": {"runtime": 2.0, "succeeded": True}}})
    executed, plain = _document(), _document()
    ext.add_provenance(app, executed, "book/jit")
    ext.add_provenance(app, plain, "book/index")
    note = executed.children[-1]
    assert ext.NOTE_CLASS in note["classes"]
    assert "Executed in 2.0 s on cpu (AMD EPYC 7B13)" in note.astext()
    assert next(note.findall(nodes.reference))["refuri"] == "../status.html"
    assert not [n for n in plain.findall(nodes.container) if ext.NOTE_CLASS in n["classes"]]


def test_handler_replaces_the_build_environment_placeholder():
    app = _fake_app({})
    document = _document(ext.BuildEnvironmentPlaceholder())
    ext.add_provenance(app, document, "book/status")
    assert not list(document.findall(ext.BuildEnvironmentPlaceholder))
    (table,) = document.findall(nodes.table)
    assert ext.TABLE_CLASS in table["classes"]


def test_probe_describes_this_machine():
    """The real subprocess probe, as the build runs it."""
    device, versions = ext.probe_environment()
    assert device.split(" ", 1)[0] in {"cpu", "cuda", "gpu", "rocm", "tpu"}
    assert versions["jax"] == versions["jaxlib"] != "not installed"


def test_verification_text_names_the_variants_or_says_there_are_none():
    both = ext.verification_text(["cpu AVX512, 2 threads (X)", "cpu SSE4_2, 2 threads (X)"], True)
    assert both == (
        "Its recorded outputs were verified under cpu AVX512, 2 threads (X); "
        "cpu SSE4_2, 2 threads (X)."
    )
    none = ext.verification_text([], False)
    assert "have not been checked under other CPU numerics" in none
    assert "no GPU has run it yet" in none
