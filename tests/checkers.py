"""Small executed pages and cells for the output checker's tests."""

from booktools.records import Cell, ExecutedPage


def cell(text="accuracy 97.8%", kind="numeric", covered_by=None, outputs=None, alt_text=None):
    options = {"kind": kind, **({"covered_by": covered_by} if covered_by else {})}
    outputs = [{"stream": "stdout", "text": text}] if outputs is None else outputs
    return Cell("k", 1, "print(x)", outputs, kind, options, alt_text)


def page_with(cells=(), glue=None, claims=(), **options):
    metadata = {"output_check": options, "claims": list(claims)}
    return ExecutedPage("book/x", metadata, list(cells), glue or {}, {"device": "cpu"})
