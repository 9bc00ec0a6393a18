"""The external link check (booktools.linkcheck): its report, its tracking issue, and the whole
mechanism against a local server with one good, one missing and one moved URL."""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from booktools import linkcheck
from booktools.book import Book, Paths
from booktools.build import jupyter_book_command
from booktools.linkcheck import IssueAction, Link


def output_line(filename, lineno, status, uri, info="", code=0) -> str:
    return json.dumps(
        {
            "filename": filename,
            "lineno": lineno,
            "status": status,
            "code": code,
            "uri": uri,
            "info": info,
        }
    )


OUTPUT_JSON = "\n".join(
    [
        output_line("book/jit.md", 40, "working", "https://docs.jax.dev"),
        output_line(
            "book/prng.md",
            265,
            "redirected",
            "https://example.org/old",
            "https://example.org/new",
            301,
        ),
        output_line(
            "book/vmap.md",
            12,
            "broken",
            "https://example.org/gone",
            "404 Client Error: Not Found for url: https://example.org/gone",
        ),
        output_line("book/grad.md", 7, "working", "https://arxiv.org/abs/1604.06174"),
        output_line("book/dsp.md", 3, "timeout", "https://slow.example.org", "Read timed out."),
        output_line("book/index.md", 5, "unchecked", "mailto:someone@example.org"),
        output_line("book/jit.md", 9, "ignored", "https://down.example.org", "service unavailable"),
    ]
)


def test_parse_output_reads_every_field():
    links = linkcheck.parse_output(OUTPUT_JSON + "\n\n")
    assert len(links) == 7
    assert links[1] == Link(
        page="book/prng.md",
        line=265,
        status="redirected",
        code=301,
        uri="https://example.org/old",
        info="https://example.org/new",
    )


def test_parse_output_names_the_line_it_cannot_read():
    with pytest.raises(ValueError, match="line 2"):
        linkcheck.parse_output(output_line("book/a.md", 1, "working", "https://a") + "\n{}")


def test_report_lists_broken_links_first_then_redirects_then_the_working_count():
    text = linkcheck.report(linkcheck.parse_output(OUTPUT_JSON))
    assert text.splitlines()[2] == "2 broken, 1 redirected, 2 working, 1 ignored (6 external links)"
    order = [text.index(s) for s in ("## Broken (2)", "## Redirected (1)", "## Working (2)")]
    assert order == sorted(order)
    broken = text[text.index("## Broken") : text.index("## Redirected")]
    # sorted by page: book/dsp.md before book/vmap.md
    assert broken.index("`book/dsp.md` line 3: <https://slow.example.org>") < broken.index(
        "`book/vmap.md` line 12: <https://example.org/gone>\n"
        "  - 404 Client Error: Not Found for url: https://example.org/gone"
    )
    assert "timed out: Read timed out." in broken
    assert (
        "`book/prng.md` line 265: <https://example.org/old> permanently (301) to "
        "<https://example.org/new>" in text
    )
    assert "2 links work." in text
    assert "## Ignored (1)\n\n- `book/jit.md` line 9: <https://down.example.org>: service" in text
    assert text.endswith(
        "1 other link (anchors within the book, mailto:) is not requested; "
        "the strict build checks the book's own references.\n"
    )


def test_report_without_broken_links_has_no_broken_section():
    links = [Link("book/jit.md", 1, "working", 0, "https://docs.jax.dev", "")]
    text = linkcheck.report(links)
    assert "Broken" not in text and "Redirected" not in text
    assert text.splitlines()[2] == "0 broken, 0 redirected, 1 working (1 external link)"


def test_a_missing_local_file_is_broken_with_a_reason():
    link = Link("book/jit.md", 3, "broken", 0, "images/missing.svg", "")
    assert linkcheck.broken_reason(link) == "not found"


REFUSED = (
    "HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /x (Caused by "
    "NewConnectionError(\"HTTPConnection(host='127.0.0.1', port=1): Failed to establish a new "
    'connection: [Errno 111] Connection refused"))'
)


def test_a_failed_connection_is_reported_by_its_innermost_error():
    link = Link("book/jit.md", 3, "broken", 0, "http://127.0.0.1:1/x", REFUSED)
    assert linkcheck.broken_reason(link) == (
        "NewConnectionError: Failed to establish a new connection: [Errno 111] Connection refused"
    )


def test_no_answer_at_all_is_reported_as_a_network_problem():
    refused = [Link(f"book/p{i}.md", 1, "broken", 0, f"https://x{i}.org", REFUSED) for i in (1, 2)]
    assert linkcheck.unreachable(refused)
    assert "**No link could be reached.**" in linkcheck.report(refused)
    answered = [*refused, Link("book/p3.md", 1, "broken", 0, "https://x3.org", "404 Client Error")]
    assert not linkcheck.unreachable(answered)
    assert not linkcheck.unreachable(linkcheck.parse_output(OUTPUT_JSON))
    assert "No link could be reached" not in linkcheck.report(answered)


def test_the_linkcheck_config_executes_nothing_and_keeps_the_book_config(tmp_path):
    path = linkcheck.linkcheck_config(Book(), tmp_path)
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "off"
    sphinx_config = config["sphinx"]["config"]
    assert {k: sphinx_config[k] for k in linkcheck.LINKCHECK_SETTINGS} == (
        linkcheck.LINKCHECK_SETTINGS
    )
    assert "mystnb.glue" in sphinx_config["suppress_warnings"]
    assert "booktools.provenance_ext" in config["sphinx"]["extra_extensions"]


def test_the_linkcheck_build_is_not_strict(tmp_path):
    paths = Paths.from_environment()
    command = jupyter_book_command(paths, tmp_path, builder="linkcheck", strict=False)
    assert "-W" not in command and "-n" not in command
    assert command[-2:] == ["--builder", "linkcheck"]
    assert "-W" in jupyter_book_command(paths, tmp_path)  # the book's build stays strict


def test_everything_the_check_writes_is_in_one_visible_folder(tmp_path):
    # actions/upload-artifact leaves hidden folders out: the workflow uploads these paths.
    paths = Paths.at(tmp_path)
    assert linkcheck.report_file(paths) == tmp_path / "_build" / "linkcheck" / "report.md"
    assert linkcheck.sphinx_output_file(paths) == (
        tmp_path / "_build" / "linkcheck" / "_build" / "html" / "output.json"
    )
    workflow = yaml.safe_load(
        (Paths.from_environment().root / ".github/workflows/linkcheck.yml").read_text("utf-8")
    )
    upload = next(
        s for s in workflow["jobs"]["linkcheck"]["steps"] if "upload" in s.get("uses", "")
    )
    uploaded = upload["with"]["path"].split()
    for written in (linkcheck.report_file(paths), linkcheck.sphinx_output_file(paths)):
        assert written.relative_to(tmp_path).as_posix() in uploaded


# The tracking issue ------------------------------------------------------------------------

REPORT = "# External links\n\n1 broken, 0 redirected, 3 working (4 links)\n"
OTHER = {"number": 3, "title": "Broken external links in the README?", "body": ""}


def tracking(number, body=REPORT):
    return {"number": number, "title": linkcheck.ISSUE_TITLE, "body": body}


def test_a_broken_link_opens_the_tracking_issue():
    action = linkcheck.tracking_issue_action(REPORT, True, [OTHER])
    assert action == IssueAction("create", body=REPORT)


def test_a_changed_report_updates_the_open_issue():
    action = linkcheck.tracking_issue_action(
        REPORT, True, [OTHER, tracking(9, "an older report")], "https://run/1"
    )
    assert (action.kind, action.number, action.body) == ("update", 9, REPORT)
    assert "https://run/1" in action.comment


def test_the_same_report_leaves_the_issue_alone():
    action = linkcheck.tracking_issue_action(REPORT, True, [tracking(9, REPORT + "\n")])
    assert action == IssueAction("none", 9)


def test_working_links_close_the_open_issue():
    action = linkcheck.tracking_issue_action("all good", False, [tracking(9)], "https://run/2")
    assert (action.kind, action.number) == ("close", 9)
    assert "https://run/2" in action.comment


def test_working_links_and_no_issue_do_nothing():
    assert linkcheck.tracking_issue_action("all good", False, [OTHER]) == IssueAction("none")


def test_a_check_that_reached_no_link_leaves_the_issue_alone():
    for issues in ([], [tracking(9, "an older report")]):
        action = linkcheck.tracking_issue_action(REPORT, True, issues, network_down=True)
        assert action.kind == "none"


def test_the_oldest_of_two_open_tracking_issues_is_the_one_updated():
    action = linkcheck.tracking_issue_action(REPORT, True, [tracking(12, "x"), tracking(9, "y")])
    assert action.number == 9


def test_gh_command_lines():
    assert linkcheck.gh_commands(IssueAction("create", body=REPORT)) == [
        ["gh", "issue", "create", "--title", "Broken external links", "--body-file", "-"]
    ]
    update = linkcheck.gh_commands(IssueAction("update", 9, REPORT, "changed"))
    assert update == [
        ["gh", "issue", "edit", "9", "--body-file", "-"],
        ["gh", "issue", "comment", "9", "--body", "changed"],
    ]
    assert linkcheck.gh_commands(IssueAction("close", 9, comment="fixed")) == [
        ["gh", "issue", "close", "9", "--comment", "fixed"]
    ]
    assert linkcheck.gh_commands(IssueAction("none", 9)) == []


def test_the_issue_command_opens_the_issue_through_gh(tmp_path, fake_gh):
    output = tmp_path / "output.json"
    output.write_text(OUTPUT_JSON, encoding="utf-8")
    calls = fake_gh([OTHER])
    assert linkcheck.update_tracking_issue(output, "https://run/3") == 0
    listing, create = calls()
    assert listing["args"][:4] == ["issue", "list", "--state", "open"]
    assert create["args"] == [
        "issue",
        "create",
        "--title",
        linkcheck.ISSUE_TITLE,
        "--body-file",
        "-",
    ]
    assert create["stdin"] == linkcheck.report(linkcheck.parse_output(OUTPUT_JSON))


def test_the_issue_command_leaves_the_issue_alone_without_a_finished_check(tmp_path, fake_gh):
    fake_gh([tracking(9)])
    assert linkcheck.update_tracking_issue(tmp_path / "output.json", "") == 1
    assert not (tmp_path / "gh.log").exists()  # gh was never called


def test_the_issue_command_changes_nothing_when_no_link_was_reached(tmp_path, fake_gh):
    output = tmp_path / "output.json"
    output.write_text(output_line("book/jit.md", 3, "broken", "http://x.org", REFUSED), "utf-8")
    calls = fake_gh([tracking(9, "an older report")])
    assert linkcheck.update_tracking_issue(output, "") == 0
    assert [c["args"][:2] for c in calls()] == [["issue", "list"]]


def test_without_gh_the_issue_command_says_so(tmp_path, monkeypatch, capsys):
    output = tmp_path / "output.json"
    output.write_text(OUTPUT_JSON, encoding="utf-8")
    monkeypatch.setenv("PATH", str(tmp_path))  # no gh there
    assert linkcheck.update_tracking_issue(output, "") == 1
    assert "the GitHub CLI (gh) is not installed" in capsys.readouterr().err


# The mechanism, end to end -----------------------------------------------------------------


class OneGoodOneMissing(BaseHTTPRequestHandler):
    """/good answers 200, /moved redirects there for good, anything else is 404."""

    def do_HEAD(self):
        self.answer(with_body=False)

    def do_GET(self):
        self.answer(with_body=True)

    def answer(self, with_body):
        if self.path == "/good":
            body = b"<html><body><p>here</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/good")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass  # keep the test's output to what failed


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), OneGoodOneMissing)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


PAGE = """# Links

A [good link]({base}/good).

A [missing link]({base}/missing),
on line 5 of this page.

A [moved link]({base}/moved).
"""


def scratch_book(root, base):
    (root / "book").mkdir(parents=True)
    conf = ['extensions = ["myst_parser"]', 'exclude_patterns = ["_build"]']
    conf += [f"{name} = {value!r}" for name, value in linkcheck.LINKCHECK_SETTINGS.items()]
    (root / "conf.py").write_text("\n".join(conf) + "\n", encoding="utf-8")
    (root / "index.md").write_text(
        "# Scratch book\n\n```{toctree}\nbook/links\n```\n", encoding="utf-8"
    )
    (root / "book" / "links.md").write_text(PAGE.format(base=base), encoding="utf-8")


def test_the_check_reports_the_missing_url_and_counts_the_good_one(tmp_path, server, capsys):
    source, out = tmp_path / "book-root", tmp_path / "out"
    scratch_book(source, server)
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    report_path = tmp_path / "linkcheck" / "report.md"
    status = linkcheck.check(
        [sys.executable, "-m", "sphinx", "-b", "linkcheck", str(source), str(out)],
        out / "output.json",
        report_path,
        tmp_path / "sphinx.log",
        cwd=source,
        env=env,
    )
    assert status == 1
    text = report_path.read_text(encoding="utf-8")
    printed = capsys.readouterr()
    assert text in printed.out
    assert printed.err.strip() == f"linkcheck: 1 broken link(s); report: {report_path}"
    assert text.splitlines()[2] == "1 broken, 1 redirected, 1 working (3 external links)"
    assert f"- `book/links.md` line 5: <{server}/missing>\n  - 404 Client Error: Not Found" in text
    assert f"<{server}/moved> permanently (301) to <{server}/good>" in text
    assert "1 link works." in text
    assert f"{server}/good>" not in text.split("## Redirected")[0]


def test_a_build_that_stops_gives_one_clear_line_and_no_report(tmp_path, capsys):
    report_path = tmp_path / "report.md"
    report_path.write_text("the last run's report", encoding="utf-8")
    status = linkcheck.check(
        [sys.executable, "-c", "print('Extension error: no such thing'); raise SystemExit(2)"],
        tmp_path / "output.json",
        report_path,
        tmp_path / "build.log",
        cwd=tmp_path,
    )
    assert status == 1 and not report_path.exists()
    err = capsys.readouterr().err
    assert "Extension error: no such thing" in err
    assert err.splitlines()[-1] == (
        "LINKCHECK FAILED: the build stopped (exit status 2) before it checked the links; "
        f"its log is {tmp_path / 'build.log'}"
    )
