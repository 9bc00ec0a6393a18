"""Sphinx extension: every executed page says where it ran.

At the end of each page that myst-nb executed, the build appends a short note: the device
(CPU model or GPU name), the versions of JAX, jaxlib, Flax, Haiku and Optax, the build date and
how long the page took to execute. The ``{build-environment}`` directive renders the same
facts as a table (the status page uses it; its other tables are ``booktools.status_ext``'s).

The device and the versions are measured once per build, in a subprocess that runs
:mod:`jaxbook.provenance` with the build's own Python and environment (so ``JAX_PLATFORMS``
reaches it exactly as it reaches the kernels). A subprocess, not an import: the Sphinx process
then never initialises a GPU backend, which would hold accelerator memory while the kernels run.
A probe that fails is a build warning, hence an error under ``-W``: a page never claims an
environment that was not measured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from jaxbook.provenance import TAUGHT

if TYPE_CHECKING:
    from booktools.gpu_verification import GpuVerification

LOGGER = logging.getLogger(__name__)

NOTE_CLASS = "jaxbook-provenance"
TABLE_CLASS = "jaxbook-build-environment"
STATUS_DOC = "book/status"

PROBE = (
    "import json\n"
    "from jaxbook.provenance import device_description, library_versions\n"
    "print(json.dumps({'device': device_description(), 'versions': library_versions()}))\n"
)


@dataclass(frozen=True)
class BuildEnvironment:
    """What every executed page of one build shares."""

    device: str
    versions: Mapping[str, str]
    built: datetime

    def library_items(self) -> list[tuple[str, str]]:
        """``[("JAX", "0.10.2"), ...]``: the libraries the book teaches, in the order of
        :data:`jaxbook.provenance.LIBRARIES`."""
        return [
            (library.label, self.versions.get(library.distribution, "not installed"))
            for library in TAUGHT
        ]


# --------------------------------------------------------------------------- pure parts


def build_time(environ: Mapping[str, str] | None = None) -> datetime:
    """Now in UTC, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds)."""
    environ = os.environ if environ is None else environ
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    return datetime.now(tz=UTC)


def format_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_runtime(seconds: float | None) -> str:
    """``"3.2 s"``; ``"an unknown time"`` when myst-nb recorded none."""
    if seconds is None:
        return "an unknown time"
    if seconds < 0.1:
        return f"{seconds:.2f} s"
    return f"{seconds:.1f} s"


def parse_probe(stdout: str) -> tuple[str, dict[str, str]]:
    """The device and versions from the probe's last line of output (earlier lines are logs)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the probe printed nothing")
    data = json.loads(lines[-1])
    device, versions = data["device"], data["versions"]
    if not isinstance(device, str) or not isinstance(versions, dict):
        raise ValueError(f"unexpected probe output: {lines[-1]!r}")
    return device, {str(k): str(v) for k, v in versions.items()}


def page_execution(metadata: Mapping[str, Any], docname: str) -> Mapping[str, Any] | None:
    """myst-nb's execution record of a page (``env.nb_metadata[docname]["exec_data"]``).

    ``None`` for a page that was not executed: a plain MyST page, or a build with execution off.
    """
    data = metadata.get(docname) or {}
    exec_data = data.get("exec_data")
    return exec_data or None


def note_text(environment: BuildEnvironment, exec_data: Mapping[str, Any]) -> str:
    """The note's sentence, e.g. ``Executed in 4.0 s on cpu (AMD EPYC) with JAX 0.10.2, ...``."""
    items = [f"{label} {version}" for label, version in environment.library_items()]
    libraries = ", ".join(items[:-1]) + f" and {items[-1]}"
    text = (
        f"Executed in {format_runtime(exec_data.get('runtime'))} on {environment.device} "
        f"with {libraries}"
    )
    if exec_data.get("method") == "cache" and exec_data.get("mtime") is not None:
        executed = datetime.fromtimestamp(exec_data["mtime"], tz=UTC)
        text += f" (outputs from the cache, executed {format_date(executed)})"
    if exec_data.get("succeeded") is False:
        text += f", and FAILED ({exec_data.get('error') or 'unknown error'})"
    return text + f"; built {format_date(environment.built)}."


def cpu_text(variants: list[str]) -> str:
    """Under which CPU numerics the page's records were verified (no full stop)."""
    if variants:
        return "Its recorded outputs were verified under " + "; ".join(variants)
    return (
        "Its recorded outputs have not been checked under other CPU numerics since they last "
        "changed"
    )


def verification_text(
    variants: list[str], gpu_records: bool, gpu: GpuVerification | None = None
) -> str:
    """Where the page's recorded outputs were verified: under which CPU numerics (``make
    numerics-matrix``), and on which GPU (``gpu``: its entry in ``tests/numerics/gpu-verified.yml``
    while it holds; ``gpu_records``: whether the page has GPU records)."""
    text = cpu_text(variants)
    if gpu is not None:
        return f"{text}. {gpu_text(gpu)}"
    if gpu_records:
        return text + (
            "; its GPU records have not been verified on a GPU since the page, the modules it "
            "imports, the pins or the records last changed."
        )
    return text + "; no GPU has run it yet (a GPU build is checked against the CPU records)."


def gpu_versions(gpu: GpuVerification) -> str:
    """``JAX 0.11.2, jaxlib 0.11.2, Flax 0.12.10, Haiku 0.0.17 and Optax 0.2.8``."""
    items = [f"{lib.label} {gpu.versions.get(lib.distribution, '?')}" for lib in TAUGHT]
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def gpu_counts(gpu: GpuVerification) -> str:
    """``69 cells matched, 0 moved, 0 failed`` (and the glued values' and other problems, when
    some moved or failed)."""
    cells, glued = gpu.cells, gpu.glued
    text = f"{cells['matched']} cells matched, {cells['moved']} moved, {cells['failed']} failed"
    if glued["moved"] or glued["failed"]:
        text += f"; glued values: {glued['moved']} moved, {glued['failed']} failed"
    if gpu.other_problems:
        text += f"; {gpu.other_problems} other problem(s)"
    return text


def gpu_claims(gpu: GpuVerification) -> str:
    if not gpu.failed_claims:
        return "every claim held"
    claims = [f"`{claim}`" for claim in gpu.failed_claims]
    listed = claims[0] if len(claims) == 1 else ", ".join(claims[:-1]) + f" and {claims[-1]}"
    return f"{'the claim' if len(claims) == 1 else 'the claims'} {listed} did not hold there"


def gpu_text(gpu: GpuVerification) -> str:
    """The note's sentence about the page's GPU verification."""
    against = ""
    if gpu.records == ["cpu"]:
        against = ", against its CPU records"
    elif "cpu" in gpu.records:
        against = ", partly against its CPU records (the page had changed since its GPU records)"
    return (
        f"On a GPU it was verified on {gpu.date} ({gpu.device}, with {gpu_versions(gpu)}"
        f"{against}): {gpu_counts(gpu)}; {gpu_claims(gpu)}."
    )


def page_verification(docname: str, root: Path) -> str:
    from booktools.gpu_verification import verified_on_gpu
    from booktools.numerics_matrix import verified_variants

    name = docname.removeprefix("book/")
    gpu_records = (root / "tests" / "golden" / "gpu" / f"{name}.yml").exists()
    return verification_text(
        verified_variants(docname, root), gpu_records, verified_on_gpu(docname, root)
    )


def note_node(text: str, status_uri: str | None = None) -> nodes.container:
    """The note as a docutils container with :data:`NOTE_CLASS` (styled in custom.css)."""
    paragraph = nodes.paragraph()
    paragraph += nodes.strong(text="Where this page ran. ")
    paragraph += nodes.Text(text)
    if status_uri:
        paragraph += nodes.Text(" ")
        paragraph += nodes.reference(
            "", "All pages: build status.", refuri=status_uri, internal=True
        )
    return nodes.container("", paragraph, classes=[NOTE_CLASS])


def environment_table(environment: BuildEnvironment) -> nodes.table:
    """A two-column table: what, and its value (device, each library, build date)."""
    rows = [
        ("Device", environment.device),
        *environment.library_items(),
        ("Built", format_date(environment.built)),
    ]
    return two_column_table(("What", "Version or name"), rows, widths=(30, 70))


def two_column_table(
    header: tuple[str, str], rows: list[tuple[str, str]], widths: tuple[int, int]
) -> nodes.table:
    return table_node(header, rows, widths)


def table_node(
    header: tuple[str, ...], rows: list[tuple[str, ...]], widths: tuple[int, ...]
) -> nodes.table:
    table = nodes.table(classes=[TABLE_CLASS, "colwidths-auto"])
    tgroup = nodes.tgroup(cols=len(header))
    table += tgroup
    for width in widths:
        tgroup += nodes.colspec(colwidth=width)
    thead = nodes.thead()
    tgroup += thead
    thead += _row(*header)
    tbody = nodes.tbody()
    tgroup += tbody
    for row in rows:
        tbody += _row(*row)
    return table


def _row(*cells: str) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        row += nodes.entry("", nodes.paragraph(text=cell))
    return row


# --------------------------------------------------------------------------- Sphinx glue


def probe_environment(cwd: str | None = None) -> tuple[str, dict[str, str]]:
    """Run :data:`PROBE` with this Python; raises ``RuntimeError`` with its stderr on failure."""
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"exit status {result.returncode}: {result.stderr.strip()[-2000:]}")
    return parse_probe(result.stdout)


def build_environment(app: Sphinx) -> BuildEnvironment | None:
    """The build's environment, measured on first use and kept on ``app``."""
    if not hasattr(app, "_jaxbook_build_environment"):
        try:
            started = time.perf_counter()
            device, versions = probe_environment(cwd=str(app.srcdir))
            LOGGER.info(
                f"[provenance] {device}; {versions} ({time.perf_counter() - started:.1f} s)"
            )
            environment = BuildEnvironment(device, versions, build_time())
        except (OSError, RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as error:
            LOGGER.warning(f"[provenance] could not describe the build's device: {error}")
            environment = None
        app._jaxbook_build_environment = environment  # type: ignore[attr-defined]
    return app._jaxbook_build_environment  # type: ignore[attr-defined]


class BuildEnvironmentPlaceholder(nodes.General, nodes.Element):
    """Replaced by :func:`environment_table` once the build has measured its environment."""


class BuildEnvironmentDirective(SphinxDirective):
    """``{build-environment}``: a table of the device and library versions of this build."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        return [BuildEnvironmentPlaceholder()]


def add_provenance(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    placeholders = list(doctree.findall(BuildEnvironmentPlaceholder))
    exec_data = page_execution(getattr(app.env, "nb_metadata", {}), docname)
    if not placeholders and exec_data is None:
        return
    environment = build_environment(app)
    for placeholder in placeholders:
        if environment is None:
            placeholder.replace_self(nodes.paragraph(text="The build environment is unknown."))
        else:
            placeholder.replace_self(environment_table(environment))
    if exec_data is None or environment is None:
        return
    status_uri = None
    if STATUS_DOC in app.env.found_docs and docname != STATUS_DOC and app.builder.format == "html":
        status_uri = app.builder.get_relative_uri(docname, STATUS_DOC)
    text = note_text(environment, exec_data)
    if (Path(app.srcdir) / "tests" / "golden" / f"{docname.removeprefix('book/')}.yml").exists():
        text += " " + page_verification(docname, Path(app.srcdir))
    doctree += note_node(text, status_uri)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(BuildEnvironmentPlaceholder)
    app.add_directive("build-environment", BuildEnvironmentDirective)
    app.connect("doctree-resolved", add_provenance)
    return {"parallel_read_safe": True, "parallel_write_safe": False}
