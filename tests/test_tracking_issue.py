"""booktools.tracking_issue: the one tracking issue a scheduled check keeps (the link check's and
the canary's), decided from its report and carried out through a fake `gh`."""

from __future__ import annotations

from booktools import tracking_issue
from booktools.tracking_issue import IssueAction, TrackingIssue

ISSUE = TrackingIssue("Canary: something", resolved="All good again", tool="thing issue")
REPORT = "# Report\n\none page failed\n"


def tracking(number, body=REPORT, title=ISSUE.title):
    return {"number": number, "title": title, "body": body}


def test_a_failing_check_opens_the_issue_and_a_passing_one_closes_it():
    assert tracking_issue.decide(ISSUE, REPORT, True, []) == IssueAction("create", body=REPORT)
    closed = tracking_issue.decide(ISSUE, "fine", False, [tracking(4)], "https://run/1")
    assert closed == IssueAction("close", 4, comment="All good again (https://run/1).")


def test_only_the_issue_of_its_own_title_is_touched():
    other = tracking(2, title="Broken external links")
    assert tracking_issue.decide(ISSUE, REPORT, True, [other]).kind == "create"
    assert tracking_issue.decide(ISSUE, "fine", False, [other]) == IssueAction("none")


def test_the_same_report_changes_nothing_and_a_new_one_updates_the_issue():
    assert tracking_issue.decide(ISSUE, REPORT, True, [tracking(4)]) == IssueAction("none", 4)
    update = tracking_issue.decide(ISSUE, REPORT + "more\n", True, [tracking(4)], "https://r/2")
    assert (update.kind, update.number, update.body) == ("update", 4, REPORT + "more\n")
    assert "https://r/2" in update.comment


def test_an_inconclusive_check_changes_nothing():
    action = tracking_issue.decide(ISSUE, REPORT, True, [tracking(4, "old")], inconclusive=True)
    assert action == IssueAction("none", 4)


def test_a_report_longer_than_github_takes_is_cut_with_a_line_saying_so():
    long_report = "\n".join(f"line {i}" for i in range(20_000))
    action = tracking_issue.decide(ISSUE, long_report, True, [])
    assert len(action.body) < 65_536
    assert action.body.endswith("(cut here: the whole report is the workflow run's artifact)\n")
    # the cut body already in the issue is "the same report": no update every week
    same = tracking_issue.decide(ISSUE, long_report, True, [tracking(4, action.body)])
    assert same == IssueAction("none", 4)


def test_sync_lists_the_open_issues_by_title_then_updates_through_gh(fake_gh, capsys):
    calls = fake_gh([tracking(7, "an older report")])
    assert tracking_issue.sync(ISSUE, REPORT, True, "https://run/3") == 0
    listing, edit, comment = calls()
    assert listing["args"][:4] == ["issue", "list", "--state", "open"]
    assert f'"{ISSUE.title}" in:title' in listing["args"]
    assert edit == {"args": ["issue", "edit", "7", "--body-file", "-"], "stdin": REPORT}
    assert comment["args"][:3] == ["issue", "comment", "7"]
    assert "thing issue: update #7" in capsys.readouterr().out


def test_sync_without_gh_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no gh there
    assert tracking_issue.sync(ISSUE, REPORT, True) == 1
    assert "thing issue: the GitHub CLI (gh) is not installed" in capsys.readouterr().err
