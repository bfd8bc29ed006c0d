"""Benchmark: a node's memory under hostile peers, beside the floor (the idle node).

    .venv/bin/python -m bench.hostile [--connections 3000] [--megabytes 300]

Makes a small network (``network init``), runs only its national node as its own
process (``jukinet node run``: uvicorn, TLS 1.3, client certificates) and prints its
VmRSS (/proc/<pid>/status) idle (the floor), after an unsigned body of
``--megabytes``, after a signed one of the same size (to /provision/batch, the
endpoint with the largest limit), while ``--connections`` idle TLS connections are
held open, and whether the monitor's ``GET /health`` still answers (and how fast).
The bodies are generated lazily: one 1 MB chunk sent again and again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.layout import NetworkLayout
from jukinet.network.signatures import sign_request
from jukinet.network.topology import free_port_block

EXE = Path(sys.executable).with_name("jukinet")
MB = 1024 * 1024
AGENCY, MONITOR = "agency:tokyo-pref", "monitor:operations"


def _rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _drain(reader: asyncio.StreamReader) -> bytes:
    got = bytearray()
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while chunk := await reader.read(65536):
            got += chunk
    return bytes(got)


async def _flood(port: int, context: ssl.SSLContext, head: bytes, total: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    answer = asyncio.create_task(_drain(reader))
    writer.write(head)
    await asyncio.wait([answer], timeout=0.5)
    chunk = b"1" * MB
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        for _ in range(total // MB):
            if answer.done():
                break
            writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            await writer.drain()
    writer.close()
    return (await asyncio.wait_for(answer, 40))[:12]


def _head(layout: NetworkLayout, port: int, *, signed: bool) -> bytes:
    url = f"https://127.0.0.1:{port}/provision/batch?affair=x"
    headers = {"Content-Type": "text/plain"}
    if signed:
        key = NodeIdentity.in_folder(AGENCY, layout.client(AGENCY)).load_key()
        headers |= sign_request("POST", url, headers, b"never sent", key, AGENCY)
    lines = ["POST /provision/batch?affair=x HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()] + ["Transfer-Encoding: chunked"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _attack(layout: NetworkLayout, port: int, pid: int, args: argparse.Namespace) -> None:
    agency = NodeIdentity.in_folder(AGENCY, layout.client(AGENCY)).tls_context()
    monitor = NodeIdentity.in_folder(MONITOR, layout.client(MONITOR))
    floor = _rss(pid)
    print(f"floor (idle node)                       {floor:7.0f} MB")
    for signed in (False, True):
        answer = await _flood(port, agency, _head(layout, port, signed=signed), args.megabytes * MB)
        what = "signed" if signed else "unsigned"
        print(f"after a {what:8} {args.megabytes} MB body          {_rss(pid):7.0f} MB  {answer!r}")
    held = []
    for _ in range(args.connections):
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            held.append(await asyncio.open_connection("127.0.0.1", port, ssl=agency))
    await asyncio.sleep(0.5)
    print(f"{args.connections} idle TLS connections held         {_rss(pid):7.0f} MB")
    started = time.monotonic()
    async with NodeClient(monitor, timeout=10) as client:
        status = (await client.get(f"https://127.0.0.1:{port}/health"))["status"]
    print(f"monitor's GET /health meanwhile: {status} in {time.monotonic() - started:.2f} s")
    for _, writer in held:
        writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument("--megabytes", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, port = Path(tmp), free_port_block(3)
        (root / "t.toml").write_text(
            f'[network]\nname = "hostile"\n[national]\nport = {port}\n'
            f'[[prefectures]]\ncode = "130001"\nport = {port + 1}\n'
            f'[[municipalities]]\ncode = "131016"\nport = {port + 2}\nresidents = 0\n'
            '[[agencies]]\ncode = "tokyo-pref"\nname = "東京都 福祉局"\n'
        )
        subprocess.run(
            [str(EXE), "network", "init", "--topology", str(root / "t.toml"), "--dir",
             str(root / "net")],
            check=True, capture_output=True,
        )  # fmt: skip
        layout = NetworkLayout(root / "net")
        node = subprocess.Popen(
            [str(EXE), "--home", str(layout.node("national:national")), "node", "run"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while True:
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                time.sleep(0.3)
            time.sleep(1)
            asyncio.run(_attack(layout, port, node.pid, args))
        finally:
            node.send_signal(signal.SIGTERM)
            node.wait(timeout=30)


if __name__ == "__main__":
    main()
