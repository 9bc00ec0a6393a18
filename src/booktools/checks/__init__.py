"""The output checker's checks, each of one thing, each with its own tests:

* :mod:`~booktools.checks.cell_outputs` — every code cell's outputs against its record (new,
  edited and deleted cells named as such);
* :mod:`~booktools.checks.glue` — the page's glued values against their record;
* :mod:`~booktools.checks.claims` — the page's claims (``acc > 0.95``) over its glued values;
* :mod:`~booktools.checks.alt_text` — every figure a cell shows has alt text;
* :mod:`~booktools.checks.kinds` — the kinds a page gives its values exist, name something, and
  a trajectory value is covered by a claim;
* :mod:`~booktools.checks.environment` — before anything is checked or recorded: the libraries
  the pages run on are installed at the pinned versions (else one error lists each difference).

They share :mod:`~booktools.checks.numbers` (printed text compared number by number) and
:mod:`~booktools.checks.profile` (the tolerances and settings of a device's profile, from
``pyproject.toml``). :mod:`booktools.outputs` runs them; :mod:`booktools.records` reads what they
check.
"""
