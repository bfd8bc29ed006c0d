"""A card in vsmartcard's virtual reader: the card side of the ``vpcd`` protocol.

pcscd's vpcd driver (Debian ``vsmartcard-vpcd``, ``/etc/reader.conf.d/vpcd``) makes a
reader per slot and listens on TCP (35963 for the first slot, 35964 for the second).
A virtual card connects to it and answers its messages: a 2-byte big-endian length,
then either an APDU or a one-byte control (0 power off, 1 power on, 2 reset, 4 send
the ATR). Every client of pcscd — OpenSC, pyscard, any PC/SC software — then sees a
reader with our chip in it. The protocol is written here by hand because it is these
few lines: vsmartcard's own card side (``vicc``) is a program, not a library, and
would bring its own card emulator (read in ``virtualsmartcard/src/vpicc/
virtualsmartcard/VirtualSmartcard.py``, ``VirtualICC.run``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable

from jukinet.card.chip import Chip

log = logging.getLogger(__name__)

PORT = 35963
"""vpcd's port for slot 0 (``CHANNELID 0x8C7B``); slot N listens on ``PORT + N``."""

POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4
WRONG_LENGTH = bytes.fromhex("6700")
TECHNICAL_PROBLEM = bytes.fromhex("6F00")


class ConnectionClosed(Exception):
    """pcscd closed the connection (it stopped, or was restarted)."""


def answer(chip: Chip, message: bytes) -> bytes | None:
    """What the card sends back for one vpcd message (``None``: nothing, for power and reset)."""
    if len(message) == 1:
        control = message[0]
        if control == POWER_OFF:
            chip.power_off()
        elif control == POWER_ON:
            chip.power_on()
        elif control == RESET:
            chip.reset()
        elif control == GET_ATR:
            return chip.atr
        else:
            log.warning("vpcd sent an unknown control byte %d", control)
        return None
    if not message:
        return WRONG_LENGTH
    try:
        return chip.process(message)
    except Exception:  # a defect of the chip must not take the reader down
        log.exception("the chip failed on a command; answered 6F00")
        return TECHNICAL_PROBLEM


def serve_connection(chip: Chip, conn: socket.socket) -> None:
    """Answer vpcd's messages on ``conn`` until pcscd closes it."""
    stream = conn.makefile("rb")
    while True:
        head = stream.read(2)
        if len(head) < 2:
            raise ConnectionClosed
        (size,) = struct.unpack("!H", head)
        message = stream.read(size)
        if len(message) < size:
            raise ConnectionClosed
        reply = answer(chip, message)
        if reply is not None:
            conn.sendall(struct.pack("!H", len(reply)) + reply)


class VirtualReaderCard:
    """Keeps ``chip`` inserted in vpcd's reader at ``host:port`` until :meth:`stop`.

    If pcscd is not listening yet, or restarts, the card connects again (every
    ``retry`` seconds). Removing the card (``stop``) closes the connection: pcscd then
    reports the reader empty, as when a card is pulled out."""

    def __init__(
        self,
        chip: Chip,
        host: str = "127.0.0.1",
        port: int = PORT,
        retry: float = 0.5,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self.chip = chip
        self.host = host
        self.port = port
        self.retry = retry
        self._on_state = on_state or (lambda state: None)
        self._stopped = threading.Event()
        self._conn: socket.socket | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        """Serve until :meth:`stop` is called (blocking)."""
        waiting_said = False
        while not self._stopped.is_set():
            try:
                conn = socket.create_connection((self.host, self.port), timeout=self.retry)
            except OSError:
                if not waiting_said:
                    self._on_state(f"waiting for pcscd's virtual reader on {self.host}:{self.port}")
                    waiting_said = True
                self._stopped.wait(self.retry)
                continue
            conn.settimeout(None)
            with self._lock:
                if self._stopped.is_set():
                    conn.close()
                    break
                self._conn = conn
            self._on_state("inserted")
            waiting_said = False
            # pcscd closing the reader (or stop() shutting the socket) ends this
            # connection; the loop connects again unless the card was pulled.
            try:
                with contextlib.suppress(ConnectionClosed, OSError, ValueError):
                    serve_connection(self.chip, conn)
            finally:
                with self._lock:
                    self._conn = None
                conn.close()
            if not self._stopped.is_set():
                self._on_state("pcscd closed the reader; connecting again")
        self.chip.power_off()

    def start(self) -> threading.Thread:
        """Serve in a daemon thread; returns it."""
        thread = threading.Thread(target=self.run, name="vpcd-card", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Pull the card out of the reader."""
        self._stopped.set()
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.shutdown(socket.SHUT_RDWR)
