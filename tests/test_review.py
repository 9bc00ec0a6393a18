"""The review of a change (booktools.review: what changed in review_changes, the Markdown and the
figures' HTML in review_report, the base's build in review_base) on fixture notebooks; the fault
suite runs it on a real two-commit change (tests/faults/test_review.py)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from booktools import cache, review, review_base, review_changes, review_report
from booktools.book import Paths

NUMERICS = {"device": "cpu", "isa": "AVX512", "threads": 2, "cpu": "fixture"}


def printed(source: str, text: str, **metadata) -> nbformat.NotebookNode:
    output = nbformat.v4.new_output("stream", name="stdout", text=text)
    return nbformat.v4.new_code_cell(source, outputs=[output], metadata=metadata)


def figure(source: str, svg: str, name: str, alt: str = "") -> nbformat.NotebookNode:
    output = nbformat.v4.new_output(
        "display_data", data={"image/svg+xml": svg, "text/plain": "<Figure size 560x400>"}
    )
    mystnb = {"figure": {"name": name}, "image": {"alt": alt} if alt else {}}
    return nbformat.v4.new_code_cell(source, outputs=[output], metadata={"mystnb": mystnb})


def write_page(executed: Path, name: str, cells, glue=None, **front_matter) -> None:
    notebook = nbformat.v4.new_notebook(cells=list(cells))
    notebook.metadata.update(front_matter, jaxbook={"numerics": NUMERICS, "code_digest": "0"})
    path = executed / "book" / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    if glue:
        glued = {k: {"data": {"text/plain": v}} for k, v in glue.items()}
        path.with_name(f"{name}.glue.json").write_text(json.dumps(glued), encoding="utf-8")


def reviewed(tmp_path, base_pages: dict, head_pages: dict, flags=None) -> tuple[list, str]:
    """Write both sides' pages ({name: (cells, glue, front matter)}), review and render them."""
    sides = {}
    for side, pages in (("base", base_pages), ("head", head_pages)):
        executed = tmp_path / side
        for name, (cells, glue, front_matter) in pages.items():
            write_page(executed, name, cells, glue, **front_matter)
        sides[side] = review_changes.load_side(tmp_path, executed, None, tmp_path / "no-cache")
    pages = review_changes.review_book(sides["base"], sides["head"], flags or {})
    return pages, review_report.render(pages, [], [], "the working tree", "base")


STEADY = ([printed("print(sum(range(10)))", "45\n")], None, {})


def test_a_changed_cell_is_shown_old_to_new_with_the_moved_numbers_marked(tmp_path):
    def page(answer: str):
        cells = [
            printed("print('answer', answer())", f"answer {answer} of 2\n"),
            printed("print('steady', 1.5)", "steady 1.5\n"),
        ]
        return (cells, None, {})

    _, text = reviewed(
        tmp_path,
        {"page": page("42.0"), "other": STEADY},
        {"page": page("43.0"), "other": STEADY},
    )
    assert "## book/page.md" in text
    assert "Cell 1 `print('answer', answer())`: its outputs changed" in text
    assert "- answer >>>42.0<<< of 2\n+ answer >>>43.0<<< of 2" in text
    assert "42.0 → 43.0 (relative move 0.024)" in text
    assert "steady" not in text, "an unchanged cell is not shown"
    assert "book/other" not in text, "an unchanged page is not shown"
    assert "1 with something to review" in text


def test_nothing_changed_says_so_and_shows_no_page(tmp_path):
    pages, text = reviewed(tmp_path, {"other": STEADY}, {"other": STEADY})
    assert "nothing changed" in text and "##" not in text
    assert not any(p.noteworthy for p in pages)


def test_new_removed_and_edited_cells(tmp_path):
    keep = printed("print('keep')", "keep\n")
    keep_too = printed("print('keep too')", "keep too\n")
    base = [
        printed("x = 1\nprint(x)", "1\n"),
        keep,
        printed("print('same words')", "same\n"),
        keep_too,
        printed("print('gone')", "gone\n"),
    ]
    head = [
        printed("x = 2\nprint(x)", "2\n"),  # edited, and its output changed
        keep,
        printed("print('same  words')", "same\n"),  # edited, its output unchanged: not shown
        printed("print('new')", "new\n"),
        keep_too,
    ]
    _, text = reviewed(tmp_path, {"page": (base, None, {})}, {"page": (head, None, {})})
    assert "Cell 1 `x = 2`: its outputs changed:\n\n```diff\n- >>>1<<<\n+ >>>2<<<\n```" in text
    assert "Cell 4 `print('new')`: a new cell; it outputs:\n\n```diff\n+ new\n```" in text
    assert "The base's cell 5 `print('gone')`: removed; it output:" in text
    assert "- gone" in text
    assert "same" not in text and "keep" not in text


def test_volatile_cells_are_compared_by_their_form(tmp_path):
    def timing(text: str):
        return ([printed("benchmark(f)", text, tags=["volatile-output"])], None, {})

    _, text = reviewed(tmp_path, {"page": timing("3.2 ms\n")}, {"page": timing("4.1 ms\n")})
    assert "nothing changed" in text
    _, text = reviewed(tmp_path / "2", {"page": timing("3.2 ms\n")}, {"page": timing("3 ms\n4\n")})
    assert "its outputs changed" in text


def test_glued_values_and_claims_added_removed_and_now_failing(tmp_path):
    cells = [printed("glue('acc', acc)", "")]
    base = (cells, {"acc": "0.97", "gap": "0.01"}, {"claims": ["acc > 0.95", "gap < 0.05"]})
    head = (cells, {"acc": "0.93", "gap": "0.01"}, {"claims": ["acc > 0.95", "gap < 0.02"]})
    pages, text = reviewed(tmp_path, {"page": base}, {"page": head})
    assert "`acc`: `0.97` → `0.93`" in text
    (page,) = pages
    assert page.claims == [
        "now FAILS: claim `acc > 0.95` does not hold on this device: acc=0.93",
        "added `gap < 0.02`: holds",
        "removed `gap < 0.05`",
    ]
    head = (cells, {"acc": "0.97", "gap": "0.03"}, {"claims": ["acc > 0.95", "gap < 0.02"]})
    (page,), _ = reviewed(tmp_path / "2", {"page": base}, {"page": head})
    assert page.claims[0].startswith("added `gap < 0.02`: FAILS: claim `gap < 0.02` does not")


def test_new_changed_and_removed_figures_with_their_alt_text(tmp_path):
    base = [
        figure("plot(loss)", "<svg>a</svg>", "fig-page-loss", "The loss falls."),
        figure("plot(old)", "<svg>o</svg>", "fig-page-old", "Old."),
        figure("plot(same)", "<svg>s</svg>", "fig-page-same", "Same."),
    ]
    head = [
        figure("plot(loss)", "<svg>b</svg>", "fig-page-loss", "The loss falls to 0.1."),
        figure("plot(same)", "<svg>s</svg>", "fig-page-same", "Same."),
        figure("plot(new)", "<svg>n</svg>", "fig-page-new"),
    ]
    (page,), text = reviewed(tmp_path, {"page": (base, None, {})}, {"page": (head, None, {})})
    assert page.figures == [
        "changed figure `fig-page-loss` (cell 1): the image changed, alt text "
        "“The loss falls.” → “The loss falls to 0.1.”",
        "new figure `fig-page-new` (cell 3), NO alt text",
        "removed figure `fig-page-old` (cell 2)",
    ]
    assert "fig-page-same" not in text
    (finding,) = page.accessibility
    assert "cell 3" in finding and "a figure without alt text" in finding


def test_a_figure_drawn_again_at_another_time_has_not_changed(tmp_path):
    def drawn(when: str):
        svg = f"<svg><metadata><dc:date>{when}</dc:date></metadata><path d='M 0 0'/></svg>"
        return ([figure("plot(loss)", svg, "fig-page-loss", "The loss.")], None, {})

    _, text = reviewed(
        tmp_path, {"page": drawn("2026-11-30T15:24:12")}, {"page": drawn("2026-12-01T09:00:00")}
    )
    assert "nothing changed" in text


def svg(body: str, drawn: str = "2026-11-30T15:24:12") -> str:
    """An SVG as Matplotlib writes it: the time of drawing in its metadata."""
    return f"<svg><metadata><dc:date>{drawn}</dc:date></metadata>{body}</svg>"


def inlined(page: str) -> list[str]:
    """The images of the figures' HTML, decoded from their data URIs."""
    found = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    return [base64.b64decode(data).decode() for data in found]


def test_a_changed_figure_is_shown_old_beside_new_in_html_the_report_links_to(tmp_path):
    base = [
        figure("plot(loss)", svg("<path d='M 0 0 L 1 1'/>"), "fig-page-loss", "The loss falls."),
        figure("plot(same)", svg("<path d='M 5 5'/>"), "fig-page-same", "Same."),
    ]
    head = [
        figure(
            "plot(loss)",
            svg("<path d='M 0 0 L 1 2'/>", "2026-12-01"),
            "fig-page-loss",
            "The loss falls.",
        ),
        figure("plot(same)", svg("<path d='M 5 5'/>", "2026-12-01"), "fig-page-same", "Same."),
    ]
    pages, _ = reviewed(tmp_path, {"page": (base, None, {})}, {"page": (head, None, {})})
    paths = Paths.at(tmp_path / "repo")
    output = paths.build / "review.md"
    link = review.write_figures(paths, output, pages, "the working tree", "base")
    assert link == review_report.FiguresLink(
        "review/figures.html", "_build/review/figures.html", "review/figures.html"
    )
    page = (paths.build / "review" / "figures.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'id="book-page"' in page
    assert "changed figure <code>fig-page-loss</code> (cell 1)" in page
    # both images, the base's first, inlined: the file stands alone in CI's artifact
    assert inlined(page) == [
        base[0].outputs[0].data["image/svg+xml"],
        head[0].outputs[0].data["image/svg+xml"],
    ]
    assert page.count('alt="The loss falls."') == 2
    assert "fig-page-same" not in page, "redrawn, not changed"
    assert 'src="http' not in page and "<link" not in page and "<script" not in page

    text = review_report.render(pages, [], [], "the working tree", "base", link)
    assert (
        "The figures that changed, old and new side by side: [_build/review/figures.html]"
        "(review/figures.html) (in CI: `review/figures.html` in the run's `site-and-reports` "
        "artifact)."
    ) in text
    figures = text[text.index("**Figures:**") :]
    assert "[this page in figures.html](review/figures.html#book-page)" in figures


def test_new_and_removed_figures_are_shown_beside_nothing(tmp_path):
    base = [figure("plot(old)", svg("<circle r='1'/>"), "fig-page-old", "Old.")]
    head = [figure("plot(new)", svg("<circle r='2'/>"), "fig-page-new")]
    pages, _ = reviewed(tmp_path, {"page": (base, None, {})}, {"page": (head, None, {})})
    page = review_report.figures_html(pages, "the working tree", "base")
    assert "new figure <code>fig-page-new</code> (cell 1)" in page
    assert "removed figure <code>fig-page-old</code> (cell 1)" in page
    assert page.count("no such figure") == 2 and "Alt text: NONE" in page
    assert inlined(page) == [svg("<circle r='2'/>"), svg("<circle r='1'/>")]


def test_a_figure_redrawn_with_other_svg_metadata_gives_no_figures_html(tmp_path):
    def drawn(when: str):
        return (
            [figure("plot(loss)", svg("<path d='M 0 0'/>", when), "fig-page-loss", "L.")],
            None,
            {},
        )

    pages, _ = reviewed(tmp_path, {"page": drawn("2026-11-30")}, {"page": drawn("2026-12-01")})
    paths = Paths.at(tmp_path / "repo")
    stale = paths.build / "review" / "figures.html"  # an earlier review's
    stale.parent.mkdir(parents=True)
    stale.write_text("<!DOCTYPE html>", encoding="utf-8")
    assert review.write_figures(paths, paths.build / "review.md", pages, "head", "base") is None
    assert not stale.exists()
    text = review_report.render(pages, [], [], "the working tree", "base", None)
    assert "figures.html" not in text and "nothing changed" in text


def test_ci_uploads_the_figures_html_in_the_artifact_the_report_names():
    workflow = yaml.safe_load(
        (Paths.from_environment().root / ".github" / "workflows" / "ci.yml").read_text("utf-8")
    )
    steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["name"] == review_report.ARTIFACT
    uploaded = upload["with"]["path"].split()
    assert "_build/review/figures.html" in uploaded
    # the artifact holds _build (the paths' common folder): the report names review/...
    assert all(p.startswith("_build/") for p in uploaded)
    # and the job summary links the artifact itself when there are figures to see
    link = next(s for s in steps if "figures.html" in s.get("run", ""))
    url = link["env"]["ARTIFACT_URL"]
    assert url == "${{ steps." + upload["id"] + ".outputs.artifact-url }}"
    assert "GITHUB_STEP_SUMMARY" in link["run"] and "pull_request" in link["if"]


def test_time_and_weight_are_shown_only_when_they_move_beyond_a_rebuild(tmp_path):
    def page(seconds, weight):
        return review_changes.PageReview("book/p", seconds=seconds, weight=weight)

    assert not page((10.0, 12.0), (700_000, 700_400)).noteworthy
    assert page((10.0, 20.0), (700_000, 700_400)).time_moved
    assert page((10.0, 10.0), (700_000, 720_000)).weight_moved
    text = review_report.render([page((10.0, 20.0), (700_000, 720_000))], [], [], "head", "base")
    assert "Execution 10.0 s → 20.0 s (**moved**)" in text
    assert "weight 700.0 kB → 720.0 kB (+20,000 bytes) (**moved**)" in text


def test_page_weight_counts_the_html_and_the_local_files_it_names(tmp_path):
    site = tmp_path / "html"
    (site / "book").mkdir(parents=True)
    (site / "_static").mkdir()
    (site / "_images").mkdir()
    (site / "_static" / "a.css").write_text("x" * 100)
    (site / "_static" / "a.js").write_text("x" * 200)
    (site / "_images" / "f.svg").write_text("x" * 300)
    html = (
        '<link rel="stylesheet" href="../_static/a.css?v=1"><script src="../_static/a.js">'
        '</script><script src="https://example.org/x.js"></script>'
        '<img src="../_images/f.svg" alt="A figure."><img src="../_images/f.svg">'
    )
    (site / "book" / "p.html").write_text(html)
    weight, without_alt = review_changes.page_weight(site, "book/p")
    assert weight == len(html) + 100 + 200 + 300
    assert without_alt == ["../_images/f.svg"]
    assert review_changes.page_weight(site, "book/missing") == (None, [])


def test_what_the_checker_flags_shows_a_page_that_did_not_change(tmp_path):
    flag = "book/other.md, cell 1 [cell-1] `print(1)`: number 1 differs beyond rtol"
    _, text = reviewed(tmp_path, {"other": STEADY}, {"other": STEADY}, {"book/other": [flag]})
    assert "## book/other.md" in text and f"- {flag}" in text


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def repository(tmp_path) -> Paths:
    """A one-commit git repository as the review's root."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text("jax==0\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
            + args,
            cwd=root,
            check=True,
            capture_output=True,
        )
    return Paths.at(root)


def test_an_unknown_base_is_not_a_commit(repository):
    assert review_base.resolve_commit(repository.root, "no-such-commit") is None
    assert review_base.resolve_commit(repository.root, "HEAD") is not None
    note = "`no-such-commit` is not a commit of this repository"
    text = review_report.render([], [note], [], "head", None)
    assert "with no base to compare with" in text and f"> {note}" in text


def fake_build(output: str, succeeds: bool):
    def run_build(paths, site, log, env):
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(output, encoding="utf-8")
        return None if succeeds else output

    return run_build


def test_a_base_that_does_not_build_is_said_in_one_line(repository, monkeypatch):
    monkeypatch.setattr(
        review_base, "run_build", fake_build("Traceback\nBUILD FAILED: boom", False)
    )
    built, notes, _ = review_base.build_base(repository, "HEAD", site=False)
    assert built is None
    (note,) = notes
    assert "does not build (BUILD FAILED: boom;" in note and "reported alone" in note
    assert not review_base.base_paths(repository).root.exists(), "the worktree is removed"


def test_a_base_without_executed_notebooks_is_said_in_one_line(repository, monkeypatch):
    monkeypatch.setattr(review_base, "run_build", fake_build("cache: 0 page(s) executed", True))
    built, notes, _ = review_base.build_base(repository, "HEAD", site=False)
    assert built is None
    (note,) = notes
    assert "left no executed notebooks" in note and "reported alone" in note


def test_a_damaged_cache_is_said_in_one_line(tmp_path, capsys):
    damaged = tmp_path / "cache"
    damaged.mkdir()
    (damaged / "global.db").write_bytes(b"this is not sqlite")
    cache.open_cache(damaged)  # what a build prints when it meets a damaged cache
    (note,) = review_base.build_notes(capsys.readouterr().out, "base")
    assert "could not be read" in note and "every page executed" in note


def test_a_cache_from_another_environment_is_said_in_one_line():
    (note,) = review_base.build_notes("cache: 9 page(s) executed, 0 taken from the cache", "base")
    assert "all 9 of its pages were executed" in note
    assert (
        review_base.build_notes("cache: 1 page(s) executed, 8 taken from the cache", "base") == []
    )
