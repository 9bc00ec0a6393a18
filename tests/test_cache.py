"""What the execution cache stores: a cell's streams merged exactly as they were printed."""

import nbformat

from booktools.cache import merge_streams


def stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_a_line_split_between_chunks_stays_one_line():
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(a, b, shape)")
    cell.outputs = [
        stream("stdout", "-2.4424558"),
        stream("stderr", "a warning\n"),
        stream("stdout", " -1.2574776 (4,)\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
    ]
    notebook.cells.append(cell)
    outputs = merge_streams(notebook).cells[0].outputs
    assert [o["output_type"] for o in outputs] == ["stream", "stream", "execute_result"]
    assert outputs[0]["text"] == "-2.4424558 -1.2574776 (4,)\n"
    assert outputs[1]["text"] == "a warning\n"
