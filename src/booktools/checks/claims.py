"""A page's ``claims:`` (Python comparisons over its glued values, e.g. ``acc > 0.95``; ``abs``,
``min``, ``max``, ``round`` and ``len`` may be called), asserted on every build: what the page
teaches about values that may move from machine to machine.

A claim holds on every device unless it is scoped to a device kind, where the behaviour really
differs (``- cpu: tall_rev_over_fwd > 1``: forward mode wins there, not on a GPU at that size);
each build asserts the claims of the device it ran on (:func:`booktools.records.claims_on`)."""

from __future__ import annotations

import ast
from typing import Any

from booktools.records import CLAIM_DEVICES, ExecutedPage

# What a claim may call besides comparisons and arithmetic over the page's glued values.
CLAIM_BUILTINS = {"abs": abs, "min": min, "max": max, "round": round, "len": len}


def claim_names(claim: str) -> set[str]:
    """The glued values a claim reads."""
    try:
        tree = ast.parse(str(claim), mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - set(CLAIM_BUILTINS)


def claimed_names(page: ExecutedPage) -> set[str]:
    """Every glued value some claim of the page reads."""
    return set().union(*(claim_names(c) for c in page.claims))


def scope_problems(page: ExecutedPage) -> list[str]:
    """Claims scoped to something other than a device kind (a typo would silently drop them)."""
    problems = []
    for entry in page.metadata.get("claims") or []:
        if isinstance(entry, dict):
            unknown = sorted(str(kind) for kind in entry if kind not in CLAIM_DEVICES)
            if unknown:
                problems.append(
                    f"{page.source}: claim {entry} is scoped to {', '.join(unknown)}, which is "
                    f"not a device kind ({', '.join(CLAIM_DEVICES)})"
                )
        elif not isinstance(entry, str):
            problems.append(f"{page.source}: claim {entry!r} is not a Python expression")
    return problems


def check_claims(page: ExecutedPage) -> list[str]:
    """The page's claims for its device that do not hold, or name a value the page did not
    glue, and claims scoped to no known device kind."""
    problems = scope_problems(page)
    values: dict[str, Any] = {}
    for name, text in page.glue.items():
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text
    for claim in page.claims:
        try:
            holds = eval(claim, {"__builtins__": CLAIM_BUILTINS}, dict(values))  # noqa: S307
        except NameError as error:
            problems.append(
                f"{page.source}: claim `{claim}` names a value the page did not glue ({error})"
            )
            continue
        except SyntaxError:
            problems.append(f"{page.source}: claim `{claim}` is not a Python expression")
            continue
        except Exception as error:  # noqa: BLE001 - a claim that cannot be evaluated fails
            problems.append(
                f"{page.source}: claim `{claim}` cannot be evaluated "
                f"({type(error).__name__}: {error})"
            )
            continue
        if not holds:
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items() if k in claim_names(claim))
            problems.append(f"{page.source}: claim `{claim}` does not hold on this device: {shown}")
    return problems
