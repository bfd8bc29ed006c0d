"""``AgencyClient``: lookup, search, verify and batch status over mTLS with signed requests."""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Literal, cast
from urllib.parse import urlencode

import tomli_w
from aiohttp.http_exceptions import HttpProcessingError

from jukinet.errors import ConfigurationError, PeerUnreachable
from jukinet.network.client import NodeClient, NodeIdentity
from jukinet.network.messages import (
    BatchRow,
    LookupRequest,
    LookupResponse,
    SearchRequest,
    SearchResponse,
    VerifyRequest,
    VerifyResponse,
)
from jukinet.network.messages_history import HistoryEntry, HistoryPage, HistoryRequest

SETTINGS_FILE = "agency.toml"
BATCH_CHUNK = 20_000  # lines per request: memory stays flat on both sides


@dataclass(frozen=True, slots=True)
class AgencySettings:
    """An agency's folder: its key and certificate, and where the nodes are.

    ``node_url`` is the node that serves the agency's recipient in the legal table
    (the national node, or a prefecture's), written by ``network init``; a folder
    written before it was named falls back to the national node.
    """

    identity: NodeIdentity
    national_url: str
    node_url: str

    @classmethod
    def from_folder(cls, folder: Path) -> AgencySettings:
        try:
            data = tomllib.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
            node_id, national = str(data["node_id"]), str(data["national_url"])
        except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(
                f"{folder} is not an agency's folder ({SETTINGS_FILE}: {exc})."
            ) from None
        node_url = data.get("node_url", national)
        if not isinstance(node_url, str) or not node_url.startswith("https://"):
            raise ConfigurationError(
                f"{folder / SETTINGS_FILE}: node_url must be the https:// URL of the node "
                f"serving this agency, not {node_url!r}."
            )
        return cls(NodeIdentity.in_folder(node_id, folder), national, node_url)


def write_settings(folder: Path, node_id: str, national_url: str, *, node_url: str) -> None:
    """``agency.toml``: who the agency is, the national node, and the node serving it."""
    document = {"node_id": node_id, "national_url": national_url, "node_url": node_url}
    (folder / SETTINGS_FILE).write_text(tomli_w.dumps(document), encoding="utf-8")


class AgencyClient:
    """One session to a node: the one serving the agency (``settings.node_url``) unless
    ``node_url`` names another."""

    def __init__(self, settings: AgencySettings, node_url: str | None = None) -> None:
        self.settings = settings
        self.url = (node_url or settings.node_url).rstrip("/")
        # A batch request may stream for minutes; a node that does not answer at all is
        # given up on after the connect timeout, one that stops mid-answer after 60 s.
        self._client = NodeClient(
            settings.identity, timeout=600.0, connect_timeout=10.0, read_timeout=60.0
        )

    @classmethod
    def from_folder(cls, folder: Path, node_url: str | None = None) -> AgencyClient:
        return cls(AgencySettings.from_folder(folder), node_url)

    async def __aenter__(self) -> AgencyClient:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def lookup(self, affair: str, resident_code: str) -> LookupResponse:
        request = LookupRequest(affair=affair, resident_code=resident_code)
        answer = await self._client.post(f"{self.url}/provision/lookup", request)
        return LookupResponse.model_validate(answer)

    async def search(
        self,
        affair: str,
        name: str,
        *,
        date_of_birth: date | None = None,
        sex: Literal["male", "female"] | None = None,
        address: str | None = None,
    ) -> SearchResponse:
        request = SearchRequest(
            affair=affair, name=name, date_of_birth=date_of_birth, sex=sex, address=address
        )
        answer = await self._client.post(f"{self.url}/provision/search", request)
        return SearchResponse.model_validate(answer)

    async def verify(
        self,
        affair: str,
        resident_code: str,
        name: str,
        date_of_birth: date,
        sex: Literal["male", "female"],
        address: str,
    ) -> VerifyResponse:
        request = VerifyRequest(
            affair=affair, resident_code=resident_code, name=name, date_of_birth=date_of_birth,
            sex=sex, address=address,
        )  # fmt: skip
        answer = await self._client.post(f"{self.url}/provision/verify", request)
        return VerifyResponse.model_validate(answer)

    async def history(self, request: HistoryRequest) -> HistoryPage:
        """One page of this agency's own provisions at its node (``messages_history``)."""
        answer = await self._client.post(f"{self.url}/provision/history", request)
        return HistoryPage.model_validate(answer)

    async def history_all(self, request: HistoryRequest) -> AsyncIterator[HistoryEntry]:
        """Every entry of the window, page after page, oldest first; a call whose rows
        went on over a page boundary comes out as one entry (its counts and codes joined)."""
        held: HistoryEntry | None = None
        while True:
            page = await self.history(request)
            for entry in page.entries:
                if held is not None and _same_call(held, entry):
                    held = _joined(held, entry)
                    continue
                if held is not None:
                    yield held
                held = entry
            if page.next is None:
                break
            request = request.model_copy(update={"after": page.next})
        if held is not None:
            yield held

    async def batch(
        self,
        affair: str,
        lines: Iterable[str | bytes],
        *,
        first_row: int = 1,
        chunk: int = BATCH_CHUNK,
        progress: Callable[[int], None] = lambda _rows: None,
    ) -> AsyncIterator[BatchRow]:
        """Status of every resident code in ``lines`` (CSV or JSON lines), in input order.

        The file goes up in chunks of ``chunk`` lines, each its own signed request, so
        neither side ever holds the whole file; rows keep their numbers across chunks,
        counted from ``first_row`` (the line number of ``lines``' first line in its file:
        more than 1 when a batch is resumed, see ``batch_file``). Lines go up as they are:
        ``bytes`` unchanged, ``str`` as UTF-8 (a file read with ``errors="surrogateescape"``
        gets its undecodable bytes back), so the node can answer each malformed line
        with its own row error. An answer line that is not a batch row, or an answer
        that breaks off (the connection dropped, the node stopped), raises
        PeerUnreachable naming the last row answered; ``progress`` gets the number of
        the last line sent and answered, chunk by chunk.
        """
        done, last = first_row - 1, 0
        blocks = _blocks(lines, chunk)
        # Two chunks in flight: the next one goes up (and the node works on it) while
        # this one's answer is read; its answer waits in the connection's buffers, so
        # memory stays flat (TCP flow control holds the node back).
        current = self._send(affair, done + 1, next(blocks, None))
        try:
            while current is not None:
                answers, first, size = current
                # The next chunk goes up once this one is being answered (a refused or
                # failed request is not followed by another).
                await asyncio.wait([first])
                taken = not first.cancelled() and first.exception() is None
                upcoming = self._send(
                    affair, done + size + 1, next(blocks, None) if taken else None
                )
                try:
                    async for row in self._rows(answers, first, last):
                        last = row.row
                        yield row
                except BaseException:  # also the reader stopping early (GeneratorExit)
                    current = None  # closed by _rows
                    if upcoming is not None:
                        await _abandon(upcoming)
                    raise
                done += size
                progress(done)
                current = upcoming
        finally:
            if current is not None:
                await _abandon(current)

    def _send(self, affair: str, first_row: int, block: list[bytes] | None) -> _InFlight | None:
        """The request of ``block`` started: its answer lines, and a task that reads the
        first of them (so the request goes up now); None for no block."""
        if block is None:
            return None
        query = urlencode({"affair": affair, "first_row": first_row})
        url, body = f"{self.url}/provision/batch?{query}", b"".join(block)
        answers = cast(
            "AsyncGenerator[bytes, None]",
            self._client.raw_lines_post(url, body, "text/plain; charset=utf-8"),
        )
        return answers, asyncio.ensure_future(_first(answers)), len(block)

    async def _rows(
        self, answers: AsyncGenerator[bytes, None], first: asyncio.Future[bytes | None], last: int
    ) -> AsyncIterator[BatchRow]:
        """The batch rows of one request's answer; a line that cannot be read or an
        answer that breaks off raises PeerUnreachable naming the last row answered."""
        async with aclosing(answers):
            try:
                raw = await first
                if raw is None:
                    return
                row = BatchRow.model_validate_json(raw)
                last = row.row
                yield row
                async for raw in answers:
                    row = BatchRow.model_validate_json(raw)
                    last = row.row
                    yield row
            except (HttpProcessingError, ValueError):  # too long, not JSON, not a row
                raise PeerUnreachable(
                    f"{self.url} sent a batch answer line that cannot be read, "
                    f"{_after(last)}: the rows after it were not answered."
                ) from None
            except PeerUnreachable as exc:
                if not last:
                    raise  # nothing answered yet: the reason as it is
                cause = type(exc.__cause__).__name__ if exc.__cause__ else exc.message
                raise PeerUnreachable(
                    f"{self.url}: the batch answer broke off {_after(last)} ({cause}): "
                    "the rows after it were not answered."
                ) from exc


# A chunk's request in flight: its answer lines, the task reading the first, its size.
_InFlight = tuple["AsyncGenerator[bytes, None]", "asyncio.Future[bytes | None]", int]


async def _first(answers: AsyncGenerator[bytes, None]) -> bytes | None:
    try:
        return await answers.__anext__()
    except StopAsyncIteration:
        return None


async def _abandon(flight: _InFlight) -> None:
    """Stop a request in flight whose answer is no longer wanted."""
    answers, first, _ = flight
    first.cancel()
    with contextlib.suppress(BaseException):
        await first
    with contextlib.suppress(BaseException):
        await answers.aclose()


def _same_call(a: HistoryEntry, b: HistoryEntry) -> bool:
    return (a.request_id, a.at, a.fields) == (b.request_id, b.at, b.fields)


def _joined(a: HistoryEntry, b: HistoryEntry) -> HistoryEntry:
    codes = None if a.resident_codes is None else a.resident_codes + (b.resident_codes or [])
    return a.model_copy(update={"residents": a.residents + b.residents, "resident_codes": codes})


def _after(row: int) -> str:
    return f"after row {row:,}" if row else "before its first row"


def _encoded(line: str | bytes) -> bytes:
    if isinstance(line, bytes):
        return line
    try:
        return line.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate: the node refuses that row
        return line.encode("utf-8", "surrogatepass")


def _blocks(lines: Iterable[str | bytes], size: int) -> Iterator[list[bytes]]:
    block: list[bytes] = []
    for line in lines:
        raw = _encoded(line)
        block.append(raw if raw.endswith(b"\n") else raw + b"\n")
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block
