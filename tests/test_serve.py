"""`make serve`: the full build or one page's build, stopped quietly."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from booktools.book import Paths

ROOT = Paths.from_environment().root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serves_a_page_build_and_stops_quietly(tmp_path):
    site = tmp_path / "page-prng" / "_build" / "html"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<p>the prng page build</p>", encoding="utf-8")
    port = free_port()
    env = dict(os.environ, JAXBOOK_BUILD=str(tmp_path))
    server = subprocess.Popen(
        [sys.executable, "-m", "booktools.serve", "--page", "book/prng.md", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(50):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html").read()
                break
            except OSError:
                time.sleep(0.1)
        assert b"the prng page build" in body
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=10)
    assert server.returncode == 0
    assert "book/prng.html" in out and "Stopped." in out and "Terminated" not in out


def test_no_build_says_which_command_to_run(tmp_path):
    env = dict(os.environ, JAXBOOK_BUILD=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "booktools.serve", "--page", "book/jit.md"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "make page PAGE=book/jit.md" in result.stderr
