"""Tools that build and check the book: the strict build, the output checker, page runs.

They are not imported by the pages; the pages import :mod:`jaxbook`. Where the book and its
build are is a :class:`booktools.book.Paths`, made once by each command (from ``JAXBOOK_ROOT``
and ``JAXBOOK_BUILD``, which point the tools at another book or build folder) and passed on.
"""
