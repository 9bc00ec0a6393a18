"""The reader notebooks (booktools.reader_notebooks): plain Markdown, the build's outputs, no
bookkeeping, answers hidden until asked, the version notice first. On a scratch book whose
"executed" notebook is made here (always runs), then on the book's own executed pages
(_build/jupyter_execute, skipped where the book has not been built)."""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import json
import re
import shutil
import textwrap

import nbformat
import pytest
from reader_checks import (
    answer_shown_early,
    layout_problems,
    problems,
    questions,
    without_build,
)

from booktools import notebooks
from booktools.book import Book, Paths
from booktools.reader_links import BookLinks, blocks, site_url, sphinx_id
from booktools.reader_markdown import Converter, ReaderError, split_solutions
from booktools.reader_notebooks import (
    built_with,
    executed_page,
    question_markdown,
    reader_notebook,
    version_check_source,
    without_bookkeeping,
)
from jaxbook.quiz import Question

REAL = Book()
SITE = "https://jaxbook.github.io/jaxbook/"

# ---------------------------------------------------------------------- a scratch book

CONFIG = """\
title: scratch
repository:
  url: https://github.com/jaxbook/jaxbook
  branch: main
bibtex_bibfiles:
  - book/references.bib
"""
TOC = """\
format: jb-book
root: book/index
parts:
  - caption: First
    numbered: 1
    chapters:
      - file: book/other
  - caption: Second
    numbered: 1
    chapters:
      - file: book/page
  - caption: About
    chapters:
      - file: book/glossary
      - file: book/references
"""
BIB = """\
@misc{jax2018github, author = {Bradbury, James and Frostig, Roy}, title = {{JAX}}, year = {2018}}
@misc{lecture, title = {Some {JAX} lecture}, year = {2023}}
"""
GLOSSARY = "# Glossary\n\n```{glossary}\nXLA\n  The compiler.\n\npytree\n  A tree.\n```\n"
HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""
PAGE = (
    HEADER
    + '''
# A page

(page-intro)=
## Intro

It took {glue:text}`ratio:.1f` times as long; the {term}`pytrees <pytree>` and {term}`XLA` of
{doc}`other`, as {cite:p}`jax2018github` shows and {cite:t}`lecture` says; see {ref}`page-intro`,
{numref}`page-ex-first` and {ref}`the first one <page-ex-first>`.

```{code-cell} ipython3
import jax
from jaxbook.glue import glue
from jaxbook.quiz import predict

jax.config.update("jax_pprint_use_color", False)
x = 1  # as in {doc}`other`
```

```{code-cell} ipython3
:tags: [remove-cell]

glue("ratio", 12.345, display=False)
```

```{note}
A note on {term}`XLA`.
```

```{warning}
:class: dropdown
A hidden warning.
```

```{glue} listing
```

````{tab-set}
```{tab-item} First
One.
```
```{tab-item} Second
Two.
```
````

```{literalinclude} /src/mod.py
:pyobject: first
:caption: mod.first
```

````{dropdown} Source of the second
```{literalinclude} /src/mod.py
:pyobject: second
```
````

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: A figure of {term}`XLA`.
    name: fig-page-one
---
print("figure")
```

```{code-cell} ipython3
:tags: [remove-input]

show_table()
```

```{code-cell} ipython3
---
tags: [remove-input]
mystnb:
  figure:
    caption: A figure whose code is hidden.
---
draw()
```

## Check

```{code-cell} ipython3
:tags: [remove-input]

predict(
    "page-q",
    """
print(1 + 2)
""",
    answer="3",
    distractors=["12", "raises TypeError"],
    why="Integers add.",
)
```

## Exercises

```{exercise} First
:label: page-ex-first

Do it.
```

```{solution-start} page-ex-first
:class: dropdown
```

Prose of the solution.

```{code-cell} ipython3
print("solution")
```

More prose, {glue:text}`ratio:.0f`.

```{solution-end}
```

````{exercise}
:label: page-ex-second

Code in an exercise:

```python
y = 2
```
````

```{solution-start} page-ex-second
```

```{code-cell} ipython3
print("second")
```

```{solution-end}
```

After the exercises.
'''
)
GLUED = {
    "ratio": {"data": {"text/plain": "12.345"}},
    "listing": {"data": {"text/plain": "line one\nline two"}},
}
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>'


def stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def display(data, kind="display_data"):
    if kind == "execute_result":
        return nbformat.v4.new_output(kind, data=data, execution_count=1)
    return nbformat.v4.new_output(kind, data=data)


def executed_notebook(page_notebook):
    """The page as the build exports it: outputs, glued values, the numerics it ran under."""
    options = ("12", "3", "raises TypeError")
    question = Question("page-q", "print(1 + 2)", options, "3", "Integers add.")
    notebook = page_notebook
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        if source.startswith("print("):
            cell.outputs = [stream(source.split('"')[1] + "\n")]
            if "figure" in source:
                cell.outputs.append(display({"image/svg+xml": SVG, "text/plain": "<Figure>"}))
        elif source.startswith("draw("):
            cell.outputs = [display({"image/svg+xml": SVG, "text/plain": "<Figure>"})]
        elif source.startswith("show_table"):
            cell.outputs = [display({"text/markdown": "| a | b |\n| --- | --- |\n| 1 | 2 |"})]
        elif source.startswith("predict("):
            data = {"text/html": question._repr_html_(), "text/plain": repr(question)}
            cell.outputs = [display(data, "execute_result")]
    notebook.metadata["jaxbook"] = {"numerics": {"device": "cpu", "cpu": "Test CPU", "jax": "9.9"}}
    notebook.metadata["claims"] = ["x > 1"]
    return notebook


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A scratch book (two numbered parts, a glossary, references) and its page executed."""
    root = tmp_path_factory.mktemp("book")
    files = {
        "_config.yml": CONFIG,
        "_toc.yml": TOC,
        "book/index.md": "# Index\n",
        "book/other.md": "# Other page\n\nText.\n",
        "book/page.md": PAGE,
        "book/glossary.md": GLOSSARY,
        "book/references.md": "# References\n\n```{bibliography}\n:all:\n```\n",
        "book/references.bib": BIB,
        "src/mod.py": "import os\n\n\ndef first():\n    return 1\n\n\n"
        "def second():\n    return 2\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    shutil.copy(REAL.paths.requirements, root / "requirements.txt")
    book = Book(Paths.at(root))
    executed = book.paths.executed / "book"
    executed.mkdir(parents=True)
    nbformat.write(executed_notebook(book.page("book/page").notebook()), executed / "page.ipynb")
    (executed / "page.glue.json").write_text(json.dumps(GLUED), encoding="utf-8")
    return book


@pytest.fixture(scope="module")
def reader(scratch, tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    written = notebooks.generate(scratch, out, package="jaxbook @ x", colab=True)
    assert [p.relative_to(out).as_posix() for p in written] == ["book/page.ipynb"]
    return nbformat.read(written[0], as_version=4)


def markdown(notebook) -> str:
    return "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def test_the_scratch_notebook_has_nothing_a_reader_should_not_see(reader):
    assert problems(reader, "book/page") == []
    nbformat.validate(reader)
    assert "claims" not in reader.metadata and "jupytext" not in reader.metadata


def test_the_notice_names_the_versions_then_the_install_cell_then_the_check(reader, scratch):
    versions = {"JAX": "9.9", "Flax": scratch.pins["flax"]}  # the JAX the page ran with
    assert layout_problems(reader, versions) == []
    notice = reader.cells[0].source
    assert "on a CPU (Test CPU)" in notice and f"{SITE}book/page.html" in notice
    assert "Runtime → Change runtime type" in notice  # Colab's notebooks: how to get a GPU
    assert "jaxbook @ x" in reader.cells[1].source


def test_glued_values_are_the_text_the_build_computed(reader):
    text = markdown(reader)
    assert "It took 12.3 times as long" in text and "More prose, 12." in text
    assert "```\nline one\nline two\n```" in text  # the glue directive: a text/plain block


def test_terms_citations_and_references_link_to_the_site(reader):
    text = markdown(reader)
    assert f"[pytrees]({SITE}book/glossary.html#term-pytree)" in text
    assert f"[XLA]({SITE}book/glossary.html#term-XLA)" in text
    assert f"[Other page]({SITE}book/other.html)" in text
    assert f"([Bradbury and Frostig, 2018]({SITE}book/references.html#cite-jax2018github))" in text
    assert f"[Some JAX lecture (2023)]({SITE}book/references.html#cite-lecture)" in text
    assert f"[Intro]({SITE}book/page.html#page-intro)" in text
    assert f"[Exercise 2.1]({SITE}book/page.html#page-ex-first)" in text  # chapter 2: continuous
    assert f"[the first one]({SITE}book/page.html#page-ex-first)" in text


def test_admonitions_tabs_listings_and_dropdowns_are_markdown(reader):
    text = markdown(reader)
    assert f"> **Note**\n>\n> A note on [XLA]({SITE}book/glossary.html#term-XLA)." in text
    assert "<details><summary><b>Warning</b></summary>\n\nA hidden warning.\n\n</details>" in text
    assert "**First**\n\nOne.\n\n**Second**\n\nTwo." in text
    assert "*mod.first*\n\n```python\ndef first():\n    return 1\n```" in text
    assert "<details><summary>Source of the second</summary>\n\n```python\ndef second()" in text
    assert "import os" not in text


def test_figures_keep_their_output_and_get_their_caption_after_them(reader):
    index = next(i for i, c in enumerate(reader.cells) if c.source == 'print("figure")')
    figure, caption = reader.cells[index], reader.cells[index + 1]
    assert any("image/svg+xml" in o.get("data", {}) for o in figure.outputs)
    assert caption.source == f"**Fig. 2.1:** A figure of [XLA]({SITE}book/glossary.html#term-XLA)."


def test_a_figure_whose_code_is_hidden_is_an_attached_image_and_its_caption(reader):
    index = next(i for i, c in enumerate(reader.cells) if "attachment:" in c.source)
    image, caption = reader.cells[index], reader.cells[index + 1]
    ((name, bundle),) = image.attachments.items()
    assert image.source == f"![{name.rsplit('.', 1)[0]}](attachment:{name})"
    assert base64.b64decode(bundle["image/svg+xml"]).decode() == SVG
    assert caption.source == "**Fig. 2.2:** A figure whose code is hidden."
    assert not any("draw()" in c.source for c in reader.cells)


def test_bookkeeping_is_left_out_and_hidden_outputs_become_markdown(reader):
    first = next(c for c in reader.cells if c.cell_type == "code" and "import jax" in c.source)
    assert first.source == "import jax\n\nx = 1  # as in other"  # a comment links nowhere
    assert "| a | b |\n| --- | --- |\n| 1 | 2 |" in markdown(reader)
    assert not any("show_table" in c.source for c in reader.cells)


def test_a_question_hides_its_output_until_it_is_asked(reader):
    (question,) = questions(reader)
    assert answer_shown_early(question, "3", "Integers add.") is None
    assert "```python\nprint(1 + 2)\n```" in question
    # in jaxbook.quiz's order, as the page lists them
    assert re.findall(r"^- (.*)$", question, re.M) == ["`raises TypeError`", "`3`", "`12`"]


def test_exercises_are_headings_and_solutions_are_collapsed_and_runnable(reader):
    cells = reader.cells
    text = markdown(reader)
    assert "### Exercise 2.1: First\n\nDo it." in text
    assert "### Exercise 2.2\n\nCode in an exercise:\n\n```python\ny = 2\n```" in text
    first = next(i for i, c in enumerate(cells) if "Prose of the solution." in c.source)
    assert cells[first].source.startswith("<details><summary><b>Solution to Exercise 2.1</b>")
    code = cells[first + 1]
    assert code.source == '# @title Solution to Exercise 2.1\nprint("solution")'
    assert code.metadata["jupyter"] == {"source_hidden": True}
    assert code.metadata["cellView"] == "form" and code.outputs == []
    assert "(continued)" in cells[first + 2].source and "More prose" in cells[first + 2].source
    second = next(i for i, c in enumerate(cells) if 'print("second")' in c.source)
    assert cells[second - 1].source.startswith("**Solution to Exercise 2.2**")
    assert cells[-1].source == "After the exercises."


def test_generate_refuses_a_missing_or_stale_executed_page(scratch, tmp_path):
    with pytest.raises(ReaderError, match="build the book first"):
        notebooks.generate(scratch, tmp_path, "jaxbook", executed=tmp_path / "none")
    stale = tmp_path / "stale" / "book"
    stale.mkdir(parents=True)
    notebook = executed_notebook(scratch.page("book/page").notebook())
    next(c for c in notebook.cells if c.cell_type == "code").source += "\nx = 2"
    nbformat.write(notebook, stale / "page.ipynb")
    with pytest.raises(ReaderError, match="older than book/page.md's code"):
        notebooks.generate(scratch, tmp_path / "out", "jaxbook", executed=stale.parent)


def test_a_download_notebook_has_no_colab_note(scratch, tmp_path):
    (path,) = notebooks.generate(scratch, tmp_path, "jaxbook", colab=False)
    notice = nbformat.read(path, as_version=4).cells[0].source
    assert "Colab" not in notice and "Built and checked with JAX 9.9" in notice


# ---------------------------------------------------------------------- the parts


def test_the_version_check_prints_one_line_only_where_versions_differ(monkeypatch):
    import importlib.metadata

    source = version_check_source({"JAX": "1.0", "Flax": "2.0"})
    for installed, lines in (({"jax": "1.0", "flax": "2.0"}, 0), ({"jax": "1.1"}, 1)):

        def version(name, installed=installed):
            if name not in installed:
                raise importlib.metadata.PackageNotFoundError(name)
            return installed[name]

        monkeypatch.setattr(importlib.metadata, "version", version)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(source, {})
        assert len(printed.getvalue().splitlines()) == lines
    assert printed.getvalue().strip() == (
        "This page was built and checked with JAX 1.0 and Flax 2.0; you have JAX 1.1 and "
        "Flax (not installed): some outputs may differ from those shown."
    )


def test_built_with_takes_jax_from_the_executed_page_and_flax_from_the_pins():
    notebook = nbformat.v4.new_notebook(metadata={"jaxbook": {"numerics": {"jax": "0.9"}}})
    assert built_with(notebook, {"jax": "1.0", "flax": "2.0"}) == {"JAX": "0.9", "Flax": "2.0"}
    assert built_with(nbformat.v4.new_notebook(), {"jax": "1.0", "flax": "2.0"})["JAX"] == "1.0"


def test_bookkeeping_statements_are_taken_out_and_nothing_else():
    source = textwrap.dedent(
        """\
        import jax
        from jaxbook.glue import glue
        from jaxbook.quiz import predict
        from jaxbook import grad
        jax.config.update("jax_pprint_use_color", False)
        jax.config.update("jax_enable_x64", True)
        glue("a",
             1, display=False)
        %timeit grad.f(1)"""
    )
    assert without_bookkeeping(source) == (
        'import jax\nfrom jaxbook import grad\njax.config.update("jax_enable_x64", True)\n'
        "%timeit grad.f(1)"
    )
    assert without_bookkeeping("x = 1") == "x = 1"


def test_a_question_with_a_multi_line_output_lists_it_as_a_block():
    cell = nbformat.v4.new_code_cell(
        'predict("q", "print(1)\\nprint(2)", answer="1\\n2", distractors=["2\\n1"], why="Order.")'
    )
    question = question_markdown(cell)
    assert "answer=" not in question and "predict(" not in question
    assert answer_shown_early(question, "1\n2", "Order.") is None
    assert question_markdown(nbformat.v4.new_code_cell("print(1)")) is None


def test_solution_fences_inside_code_blocks_are_text():
    text = (
        "Before.\n\n````markdown\n```{solution-start} x\n```\n````\n\n"
        "```{solution-start} y\n```\nIn."
    )
    assert split_solutions(text) == [
        ("text", "Before.\n\n````markdown\n```{solution-start} x\n```\n````\n"),
        ("start", "y"),
        ("text", "In."),
    ]


def test_a_fence_closes_at_a_line_of_at_least_as_many_of_its_characters():
    text = "````{tab-set}\n```{tab-item} A\nx\n```\n````\nafter"
    kinds = [(b.kind, b.name) for b in blocks(text)]
    assert kinds == [("directive", "tab-set"), ("prose", "")]


def test_unknown_terms_labels_and_glue_are_errors_not_raw_markup(scratch):
    converter = Converter(BookLinks.of(scratch), "book/page", {}, scratch.paths.root)
    for text, message in (
        ("{term}`nothing`", "no glossary term"),
        ("{ref}`nowhere`", "names no label"),
        ("{glue:text}`gone`", "no glued value"),
        ("{cite:p}`nobody`", "not in the bibliography"),
    ):
        with pytest.raises(ReaderError, match=message):
            converter.convert(text)


def test_literalinclude_of_a_missing_file_is_named(scratch):
    converter = Converter(BookLinks.of(scratch), "book/page", {}, scratch.paths.root)
    with pytest.raises(FileNotFoundError, match="/src/gone.py"):
        converter.convert("```{literalinclude} /src/gone.py\n```\n")


def test_site_url_is_the_baseurl_or_the_repositorys_pages():
    assert site_url({"repository": {"url": "https://github.com/Org/Book"}}) == (
        "https://org.github.io/Book/"
    )
    assert site_url({"repository": {"url": "https://github.com/org/org.github.io"}}) == (
        "https://org.github.io/"
    )
    assert site_url({"html": {"baseurl": "https://book.example/x"}}) == "https://book.example/x/"


def test_sphinx_ids_keep_case_and_drop_accents():
    assert sphinx_id("term-Jacobian-vector product") == "term-Jacobian-vector-product"
    assert sphinx_id("term-rematérialisation") == "term-rematerialisation"


def test_write_binder_environment_makes_a_folder_binder_can_launch(tmp_path):
    notebooks.write_binder_environment(REAL, tmp_path)
    for name in (".binder/postBuild", ".binder/requirements.txt", ".binder/runtime.txt"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "pyproject.toml").is_file() and (tmp_path / "README.md").is_file()
    assert (tmp_path / "src/jaxbook/quiz.py").is_file()
    assert not list(tmp_path.rglob("__pycache__")) and not (tmp_path / "src/booktools").exists()


# ---------------------------------------------------------------------- the book's pages


def built(docname: str):
    path = REAL.paths.executed / f"{docname}.ipynb"
    if not path.is_file():
        without_build(f"{path} is missing: build the book (`make book`) to check its notebooks")
    return executed_page(REAL.paths.executed, docname)


@pytest.fixture(scope="module")
def links():
    return BookLinks.of(REAL)


@pytest.mark.parametrize("chapter_page", REAL.executable_pages, ids=lambda p: p.docname)
def test_each_page_of_the_book_reads_like_the_page(chapter_page, links):
    page = chapter_page
    executed, glued = built(page.docname)
    versions = built_with(executed, REAL.pins)
    install = notebooks.install_cell("jaxbook", REAL.pins)
    notebook = reader_notebook(
        executed, glued, page.docname, links, REAL.paths.root, versions, install, colab=True
    )
    nbformat.validate(notebook)
    assert problems(notebook, page.docname) == []
    assert layout_problems(notebook, versions) == []
    asked = [c for c in executed.cells if c.cell_type == "code" and question_markdown(c)]
    shown = questions(notebook)
    assert len(shown) == len(asked)
    for cell, question in zip(asked, shown, strict=True):
        call = ast.parse(cell.source).body[0].value
        said = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
        assert answer_shown_early(question, said["answer"], said["why"]) is None, question
    chapter = links.chapters.get(page.docname)
    exercises = links.exercises.get(page.docname, [])
    headings = re.findall(r"^#+ Exercise ([\d.]+)", markdown(notebook), re.M)
    assert headings == [f"{chapter}.{i}" for i in range(1, len(exercises) + 1)]


@pytest.mark.parametrize("chapter_page", REAL.executable_pages, ids=lambda p: p.docname)
def test_numbers_and_anchors_agree_with_the_built_site(chapter_page, links):
    page = chapter_page
    site = REAL.paths.html
    html_page = site / f"{page.docname}.html"
    if not html_page.is_file():
        without_build(f"{html_page} is missing: build the book (`make book`) to compare")
    html = html_page.read_text(encoding="utf-8")
    number = re.search(r'<h1>\s*<span class="section-number">(\d+)\.', html)
    assert links.chapters.get(page.docname) == (number.group(1) if number else None)
    for label, target in links.labels.items():
        if target.docname == page.docname:
            assert f'id="{target.anchor}"' in html, label
    number = r'<span class="caption-number">{} ([\d.]+)'
    site_exercises = re.findall(number.format("Exercise"), html)
    ours = [links.labels[label].text.split()[1] for label in links.exercises[page.docname] if label]
    assert ours == site_exercises
    executed = REAL.paths.executed / f"{page.docname}.ipynb"
    if executed.is_file():
        notebook = reader_notebook(
            *executed_page(REAL.paths.executed, page.docname),
            page.docname,
            links,
            REAL.paths.root,
            {"JAX": "x", "Flax": "y"},
        )
        captions = re.findall(r"^\*\*Fig\. ([\d.]+):\*\*", markdown(notebook), re.M)
        assert captions == re.findall(number.format("Fig\\."), html)


def test_glossary_and_citation_anchors_exist_on_the_built_site(links):
    glossary = REAL.paths.html / "book/glossary.html"
    references = REAL.paths.html / "book/references.html"
    if not glossary.is_file():
        without_build(f"{glossary} is missing: build the book (`make book`) to compare")
    ids = set(re.findall(r'id="([^"]+)"', glossary.read_text(encoding="utf-8")))
    for term in {term for _, term in links.terms.values()}:
        assert links.term(term)[0].split("#")[1] in ids, term
    cited = references.read_text(encoding="utf-8")
    if 'id="cite-' not in cited:
        pytest.skip("the site was built before bibtex_cite_id (_config.yml): rebuild to compare")
    for key in links.citations:
        assert f'id="{links.citation_url(key).split("#")[1]}"' in cited, key


def test_the_checks_bite_on_the_notebooks_of_the_myst_source():
    """What Colab, Binder and the download showed before: the page as jupytext reads it."""
    page = next(p for p in REAL.executable_pages if "predict(" in p.text and "glue(" in p.text)
    found = "\n".join(problems(page.notebook(), page.docname))
    for kind in ("MyST role", "MyST directive", "predict(...) call", "'glue('", "'answer='"):
        assert kind in found, kind


def test_the_question_check_bites_on_an_answer_shown_early():
    hidden = details_of("```\n3\n```\n\nIntegers add.")
    assert answer_shown_early("- `3` (right)\n- `12`\n" + hidden, "3", "Integers add.")
    assert answer_shown_early("- `3`\n- `12`\n\nIt prints 3.\n" + hidden, "3", "Integers add.")
    assert answer_shown_early("- `3`\n- `12`\n\nIntegers add.\n" + hidden, "3", "Integers add.")
    assert answer_shown_early("- `3`\n- `12`\n\n```\n3\n```\n\nIntegers add.", "3", "Integers add.")
    assert answer_shown_early("- `3`\n- `12`\n" + hidden, "3", "Integers add.") is None


def details_of(body: str) -> str:
    return f"\n<details><summary>Show the output</summary>\n\n{body}\n\n</details>"
