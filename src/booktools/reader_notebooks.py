"""The notebooks readers open (Colab, Binder, the site's ".ipynb" download), made from the
executed page: they read like the page, in plain Jupyter Markdown, with the build's outputs.

From the executed notebook (``_build/jupyter_execute/<page>.ipynb``) and its glued values
(``<page>.glue.json``, :func:`booktools.cache.export_executed`):

* markdown cells become plain Markdown (:mod:`booktools.reader_markdown`);
* a solution (``{solution-start}`` ... ``{solution-end}``) is laid out as: its prose in collapsed
  ``<details>`` cells titled "Solution to Exercise N.M", each of its code cells preceded by a
  markdown cell naming it, kept runnable but collapsed (``jupyter.source_hidden`` for Jupyter,
  a ``# @title`` line and ``cellView: form`` for Colab) and without outputs, which the reader
  gets by running it;
* a question (a ``predict(...)`` cell, :mod:`jaxbook.quiz`) becomes a markdown cell with its
  snippet and its options, unmarked, and the output and explanation in a collapsed
  ``<details>``; no ``predict(`` and no ``answer=`` is left;
* bookkeeping is left out: ``remove-cell`` cells, the input of ``remove-input`` cells (their
  output, a table for example, becomes Markdown), the ``glue``/``predict`` imports, ``glue(...)``
  calls and ``jax.config.update("jax_pprint_use_color", False)``;
* a figure keeps its output and gets its caption ("Fig. N.M: ...") in a markdown cell after it;
* first, a notice: the page, the JAX and Flax it was built and checked with and the device
  (:func:`notice`; on Colab also how to choose a GPU), then the install cell, then a cell that
  prints one line where the reader's JAX or Flax differs (:func:`version_check_source`).
"""

from __future__ import annotations

import ast
import hashlib
import html
import io
import json
import re
import textwrap
import tokenize
from pathlib import Path

import nbformat

from booktools.cells import as_python
from booktools.reader_links import BookLinks
from booktools.reader_markdown import Converter, ReaderError, details, split_solutions

NOTICE_TAG = "version-notice"
CHECK_TAG = "version-check"
SOLUTION_TAG = "solution"
QUESTION_TAG = "question"
DROPPED_METADATA = ("claims", "output_check", "jupytext")  # the build's, not the reader's
OUTPUT_PRIORITY = (
    "text/markdown",
    "text/html",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/latex",
    "text/plain",
)
IMAGES = ("image/svg+xml", "image/png", "image/jpeg")


# ---------------------------------------------------------------------- bookkeeping


def _is_bookkeeping(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        names = {alias.name for alias in node.names}
        return (node.module, names) in (
            ("jaxbook.glue", {"glue"}),
            ("jaxbook.quiz", {"predict"}),
            ("myst_nb", {"glue"}),
        )
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    call = node.value
    if isinstance(call.func, ast.Name):
        return call.func.id == "glue"
    return (
        ast.unparse(call.func) == "jax.config.update"
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and call.args[0].value == "jax_pprint_use_color"
    )


def without_bookkeeping(source: str) -> str:
    """``source`` without the statements that only serve the build (see the module's doc)."""
    try:
        python = as_python(source)
        tree = ast.parse(python)
    except SyntaxError:
        return source
    lines = source.split("\n")
    if len(python.rstrip("\n").split("\n")) != len(source.rstrip("\n").split("\n")):
        return source  # a cell magic moved the lines: nothing is taken out
    drop = set()
    for node in tree.body:
        if _is_bookkeeping(node):
            drop.update(range(node.lineno - 1, node.end_lineno or node.lineno))
    if not drop:
        return source
    kept = "\n".join(line for i, line in enumerate(lines) if i not in drop)
    return re.sub(r"\n{4,}", "\n\n\n", kept).strip("\n")


def plain_comments(source: str, converter: Converter) -> str:
    """``source`` with the MyST roles in its comments as plain text (a comment links nowhere)."""
    if "}`" not in source:
        return source
    lines = source.split("\n")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    for token in reversed(tokens):
        if token.type == tokenize.COMMENT:
            (row, start), (_, end) = token.start, token.end
            line = lines[row - 1]
            lines[row - 1] = line[:start] + converter.plain(token.string) + line[end:]
    return "\n".join(lines)


# ---------------------------------------------------------------------- questions


def _code(text: str) -> str:
    """``text`` as inline code, or as an indented code block when it has several lines."""
    if "\n" in text:
        return "\n\n" + textwrap.indent(f"```\n{text}\n```", "  ")
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def question_markdown(cell: nbformat.NotebookNode) -> str | None:
    """The question a ``predict(...)`` cell asks, as Markdown with its answer collapsed; None
    for any other cell. The options are in the order the page gives them, none marked; the
    output is the one the build computed (the question's HTML output), else its ``answer``."""
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return None
    calls = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "predict"
    ]
    if len(calls) != 1:
        return None
    call = calls[0]
    try:
        positional = [ast.literal_eval(argument) for argument in call.args]
        arguments = dict(zip(("name", "snippet"), positional, strict=False))
        arguments |= {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
        name, snippet, answer = arguments["name"], arguments["snippet"], arguments["answer"]
        distractors, why = arguments["distractors"], arguments["why"]
    except (ValueError, KeyError) as error:
        raise ReaderError(f"a predict(...) cell the notebook cannot read: {error}") from None
    for output in cell.get("outputs", []):
        answer_html = str(output.get("data", {}).get("text/html", ""))
        shown = re.search(r'class="jb-predict-answer".*?<pre>(.*?)</pre>', answer_html, re.S)
        if shown:
            answer = html.unescape(shown.group(1))
    snippet = textwrap.dedent(snippet).strip("\n")
    # jaxbook.quiz.predict's order, so that the notebook lists the options as the page does
    options = sorted(
        [answer, *distractors],
        key=lambda option: hashlib.sha256(f"{name}|{option}".encode()).hexdigest(),
    )
    listed = "\n".join(f"- {_code(option)}" for option in options)
    return (
        f"**Predict the output.** What does this print?\n\n```python\n{snippet}\n```\n\n"
        f"{listed}\n\n" + details("Show the output", f"```\n{answer}\n```\n\n{why}")
    )


# ---------------------------------------------------------------------- outputs


def outputs_markdown(outputs: list, converter: Converter, name: str) -> str:
    """A hidden cell's outputs as Markdown: text as code blocks, Markdown converted, HTML as
    it is, images as attachments of the cell."""
    parts = []
    for number, output in enumerate(outputs):
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(f"```\n{output.get('text', '').rstrip()}\n```")
        elif kind == "error":
            parts.append(f"```\n{output.get('ename')}: {output.get('evalue')}\n```")
        elif kind in ("display_data", "execute_result"):
            data = output.get("data", {})
            mime = next((m for m in OUTPUT_PRIORITY if m in data), None)
            value = "".join(data[mime]) if mime and isinstance(data[mime], list) else data.get(mime)
            if mime == "text/markdown":
                parts.append(converter.convert(value))
            elif mime in IMAGES:
                parts.append(converter.attach(f"{name}-{number}", mime, value))
            elif mime in ("text/html", "text/latex"):
                parts.append(value)
            elif mime == "text/plain":
                parts.append(f"```\n{value.rstrip()}\n```")
    return "\n\n".join(part for part in parts if part.strip())


# ---------------------------------------------------------------------- the notice


def built_with(executed: nbformat.NotebookNode, pins: dict[str, str]) -> dict[str, str]:
    """The JAX (as the executed notebook records it) and Flax (the pin, which the output
    checker requires the build to have run) the page was built and checked with."""
    numerics = executed.metadata.get("jaxbook", {}).get("numerics", {})
    return {"JAX": numerics.get("jax") or pins["jax"], "Flax": pins["flax"]}


def device_text(executed: nbformat.NotebookNode) -> str:
    numerics = executed.metadata.get("jaxbook", {}).get("numerics", {})
    device = str(numerics.get("device", ""))
    kind = {"cpu": "a CPU", "gpu": "a GPU", "tpu": "a TPU"}.get(device, device)
    model = numerics.get(device) or numerics.get("model")
    return f"{kind} ({model})" if kind and model else kind


def notice(title: str, url: str, site: str, versions: dict[str, str], device: str, colab: bool):
    names = " and ".join(f"{name} {version}" for name, version in versions.items())
    on = f", on {device}" if device else ""
    text = (
        f"*This notebook is the page [{title}]({url}) of [jaxbook]({site}), with the outputs "
        "of the build that published it.*\n\n"
        f"**Built and checked with {names}**{on}. Other versions may print other outputs: "
        "the cell after the installation below says so when yours differ. The answers to the "
        "questions and the solutions to the exercises are collapsed: make your guess first."
    )
    if colab:
        text += (
            "\n\n**On Colab** this notebook runs on a CPU unless you choose an accelerator: "
            "*Runtime → Change runtime type*, pick a GPU (for example *T4 GPU*), *Save*, then "
            "run the notebook from the top (*Runtime → Run all*). Timings and device names will "
            "differ from the book's."
        )
    return text


VERSION_CHECK = """\
# One line if your JAX or Flax differs from those this page was built and checked with.
def check_versions(built_with):
    import importlib.metadata

    def yours(name):
        try:
            return importlib.metadata.version(name.lower())
        except importlib.metadata.PackageNotFoundError:
            return "(not installed)"

    if any(yours(name) != version for name, version in built_with.items()):
        book = " and ".join(f"{{name}} {{version}}" for name, version in built_with.items())
        mine = " and ".join(f"{{name}} {{yours(name)}}" for name in built_with)
        print(f"This page was built and checked with {{book}}; you have {{mine}}: "
              "some outputs may differ from those shown.")


check_versions({versions!r})
"""


def version_check_source(versions: dict[str, str]) -> str:
    return VERSION_CHECK.format(versions=versions)


# ---------------------------------------------------------------------- the notebook


class _Cells:
    """The reader notebook's cells as they are laid out, with unique ids."""

    def __init__(self) -> None:
        self.cells: list[nbformat.NotebookNode] = []
        self.ids: set[str] = set()

    def add(self, cell: nbformat.NotebookNode, wanted: str | None = None) -> None:
        cell_id = wanted if wanted and wanted not in self.ids else f"reader-{len(self.cells)}"
        while cell_id in self.ids:
            cell_id += "-1"
        cell["id"] = cell_id
        self.ids.add(cell_id)
        self.cells.append(cell)

    def markdown(self, text: str, converter: Converter | None = None, tags=()) -> None:
        if not text.strip():
            return
        cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": list(tags)} if tags else {})
        if converter and converter.attachments:
            cell["attachments"] = converter.attachments
            converter.attachments = {}
        self.add(cell)


def reader_notebook(
    executed: nbformat.NotebookNode,
    glued: dict,
    docname: str,
    links: BookLinks,
    root: Path,
    versions: dict[str, str],
    install: nbformat.NotebookNode | None = None,
    colab: bool = False,
) -> nbformat.NotebookNode:
    """The reader notebook of the page ``docname`` from its executed notebook and glued values;
    ``install`` is the install cell, which comes after the notice."""
    converter = Converter(links, docname, glued, root)
    out = _Cells()
    title = links.titles.get(docname, docname)
    site_notice = notice(
        title, links.page_url(docname), links.url, versions, device_text(executed), colab
    )
    out.markdown(site_notice, tags=[NOTICE_TAG])
    if install is not None:
        out.add(nbformat.from_dict(json.loads(json.dumps(install))))
    check = version_check_source(versions)
    out.add(nbformat.v4.new_code_cell(check, metadata={"tags": [CHECK_TAG]}))
    solution = None  # the title of the solution being laid out
    last_in = None  # the solution the last cell laid out belongs to
    for cell in executed.cells:
        tags = list(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "markdown":
            for kind, value in split_solutions(cell.source):
                if kind == "start":
                    solution, continued = converter.solution_title(value), False
                elif kind == "end":
                    solution = None
                elif solution:
                    text = converter.convert(value)
                    if text.strip():
                        summary = f"<b>{solution}</b>" + (" (continued)" if continued else "")
                        out.markdown(details(summary, text), converter)
                        continued, last_in = True, solution
                else:
                    out.markdown(converter.convert(value), converter)
                    last_in = None
            continue
        if cell.cell_type != "code" or "remove-cell" in tags:
            continue
        question = question_markdown(cell)
        if question:
            out.markdown(question, tags=[QUESTION_TAG])
            last_in = None
            continue
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        if "remove-input" in tags:
            shown = outputs_markdown(cell.get("outputs", []), converter, cell.get("id", "output"))
            out.markdown(shown, converter)
            last_in = None
        else:
            source = plain_comments(without_bookkeeping(cell.source), converter)
            if not source.strip():
                continue
            keep = [t for t in tags if t != "remove-output"]
            metadata: dict = {"tags": keep} if keep else {}
            outputs = [] if "remove-output" in tags or solution else cell.get("outputs", [])
            count = cell.get("execution_count") if outputs else None
            if solution:
                if last_in != solution:
                    out.markdown(
                        f"**{solution}**: its code, collapsed in the next cell. Expand the "
                        "cell to read it; run it to see what it prints."
                    )
                if not source.startswith("%%"):  # a cell magic must stay the first line
                    source = f"# @title {solution}\n{source}"
                metadata |= {"cellView": "form", "jupyter": {"source_hidden": True}}
                metadata["tags"] = [*keep, SOLUTION_TAG]
                last_in = solution
            else:
                hidden = {
                    key: True
                    for key, tag in (
                        ("source_hidden", "hide-input"),
                        ("outputs_hidden", "hide-output"),
                    )
                    if tag in tags
                }
                metadata |= {"jupyter": hidden} if hidden else {}
                last_in = None
            code = nbformat.v4.new_code_cell(source, metadata=metadata, outputs=outputs)
            code["execution_count"] = count
            out.add(code, cell.get("id"))
        if figure.get("caption"):
            caption = converter.figure_caption(figure["caption"])
            out.markdown(
                details(f"<b>{solution}</b>: the figure", caption) if solution else caption
            )
    notebook = nbformat.v4.new_notebook(cells=out.cells)
    notebook.metadata = {k: v for k, v in executed.metadata.items() if k not in DROPPED_METADATA}
    nbformat.validate(notebook)
    return notebook


def executed_page(executed_dir: Path, docname: str) -> tuple[nbformat.NotebookNode, dict]:
    """A page's executed notebook and its glued values, as the build exported them."""
    path = executed_dir / f"{docname}.ipynb"
    if not path.is_file():
        raise ReaderError(
            f"{path} is missing: the reader notebooks are made from the executed pages, so "
            "build the book first (`make book`, or `python -m booktools.build`)"
        )
    glue_path = path.with_name(path.stem + ".glue.json")
    glued = json.loads(glue_path.read_text(encoding="utf-8")) if glue_path.is_file() else {}
    return nbformat.read(path, as_version=4), glued


def stale(executed: nbformat.NotebookNode, page_notebook: nbformat.NotebookNode) -> bool:
    """Whether the executed notebook's code is not the page's any more (edited since)."""

    def code(notebook):
        return [c.source for c in notebook.cells if c.cell_type == "code"]

    return code(executed) != code(page_notebook)
