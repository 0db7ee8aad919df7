"""`debate serve`: the terminal UI served to a browser over loopback, driven as a browser
would drive it (the page, then the websocket that carries the terminal)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from episodes.store import DebateStore
from tests.conftest import free_port
from tests.tui_fixtures import sample_debate

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "cli"]


def test_serve_defaults_to_loopback():
    import cli

    args = cli.build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 8000
    command = cli.serve_command(cli.build_parser().parse_args(["serve", "--out", "x"]))
    assert command[1:3] == ["-m", "cli"] and command[3:] == ["tui", "--out", "x"]


def test_serve_rejects_a_bad_port(tmp_path):
    done = subprocess.run(
        [*CLI, "serve", "--port", "70000"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "debate: error: --port 70000: give a port between 1 and 65535"


def test_serve_on_a_taken_port_says_so_in_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*CLI, "serve", "--port", str(port), "--data-dir", str(tmp_path / "d")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"debate: error: --host 127.0.0.1 --port {port}: cannot listen there "
        "(address already in use); give another --port"
    )


@pytest.fixture
def served(tmp_path):
    out = tmp_path / "debates"
    DebateStore(out).save(sample_debate())
    port = free_port()
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--out", str(out), "--data-dir", str(tmp_path / "d")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        yield port, proc
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def _drive(port: int) -> tuple[str, bytes]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for _ in range(200):  # the server may take a few seconds to start
            try:
                async with session.get(f"http://127.0.0.1:{port}/") as page:
                    html = await page.text()
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the server never answered")
        seen = b""
        async with session.ws_connect(f"ws://127.0.0.1:{port}/ws?width=100&height=30") as ws:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and b"palette" not in seen:
                try:
                    message = await ws.receive(timeout=5)
                except TimeoutError:
                    continue
                if message.type == aiohttp.WSMsgType.BINARY:
                    seen += message.data
                elif message.type == aiohttp.WSMsgType.TEXT:
                    seen += message.data.encode()
                elif message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
            await ws.send_json(["stdin", "q"])
        return html, seen


def test_serve_drives_the_app_over_loopback(served):
    port, _proc = served
    html, seen = asyncio.run(_drive(port))
    assert f"ws://127.0.0.1:{port}/ws" in html and "Panel debates" in html
    # The library, drawn by the app the server started, reached the browser's socket.

    plain = re.sub(rb"\x1b\[[0-9;?$]*[A-Za-z]", b"", seen)
    assert b"Compute as the" in plain and b"1 debate" in plain
