"""``make serve``: the built site on http://localhost:PORT, until Ctrl-C.

``python -m booktools.serve [--page book/x.md] [--port N]`` serves the full build
(``_build/html``) or the build that ``make page PAGE=book/x.md`` made of one page. Ctrl-C (or
SIGTERM) stops it quietly, with exit status 0.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import signal
import sys
from pathlib import Path

from booktools.book import Paths


def site_of(paths: Paths, page: str | None) -> Path:
    if page:
        return paths.page_build(Path(page).stem) / "_build" / "html"
    return paths.html


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", help="serve the `make page` build of this page")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    paths = Paths.from_environment()
    site = site_of(paths, args.page)
    if not (site / "index.html").is_file():
        command = f"make page PAGE={args.page}" if args.page else "make book"
        print(f"No site at {paths.relative(site)}: run `{command}` first.", file=sys.stderr)
        return 1
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    signal.signal(signal.SIGTERM, _stop)
    start = f"{args.page.removesuffix('.md')}.html" if args.page else "index.html"
    print(f"Serving {paths.relative(site)} on http://localhost:{args.port}/{start} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nStopped.")
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
