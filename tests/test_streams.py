"""A cell's streams merged in one place (booktools.streams): chunks joined exactly when a page
is executed, then merged as myst-nb renders the page."""

import nbformat

from booktools import records, streams
from booktools.book import Paths


def stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_chunks_are_joined_exactly_into_the_first_stream_of_their_name():
    outputs = [
        stream("stdout", "-2.4424558"),
        stream("stderr", "a warning\n"),
        stream("stdout", " -1.2574776 (4,)\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
    ]
    joined = streams.join_chunks(outputs)
    assert [o.get("name", o["output_type"]) for o in joined] == [
        "stdout",
        "stderr",
        "execute_result",
    ]
    assert joined[0]["text"] == "-2.4424558 -1.2574776 (4,)\n"


def test_as_rendered_leaves_one_stream_of_each_name_as_the_page_shows_it():
    outputs = [
        stream("stderr", "careful\n\n"),
        stream("stdout", "step 1\rstep 2"),
        stream("stdout", " done\n"),
    ]
    rendered = streams.as_rendered(outputs)
    # stdout before an adjacent stderr, carriage returns applied, one final newline: myst-nb's
    # own merging, applied to chunks joined exactly (a split line stays one line).
    assert [(o["name"], o["text"]) for o in rendered] == [
        ("stdout", "step 2 done\n"),
        ("stderr", "careful\n"),
    ]
    assert streams.as_rendered(rendered) == rendered  # merging twice changes nothing


def test_the_checker_reads_each_rendered_stream_as_it_is():
    rendered = streams.as_rendered([stream("stdout", "a\n"), stream("stdout", "b\n")])
    root = Paths.from_environment().root
    assert records.summarise_outputs(rendered, root) == [{"stream": "stdout", "text": "a\nb"}]
