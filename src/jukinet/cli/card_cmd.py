"""``jukinet card``: the resident card on this machine's card stack (docs/card.md).

``card serve IMAGE`` puts a card image in vsmartcard's virtual reader of the local
pcscd, so that any PC/SC software (OpenSC, a terminal of the window) finds the card
there, until Ctrl-C pulls it out.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from jukinet.cli._common import console, handle_errors

app = typer.Typer(no_args_is_help=True, help="The resident card and the card reader.")


@app.command("serve")
@handle_errors
def serve(
    image: Path = typer.Argument(..., help="The card image (written by `jukinet card demo`)."),
    key: Path | None = typer.Option(
        None, "--key", help="The chip's key (default: the image's name + .key beside it)."
    ),
    slot: int = typer.Option(
        0, "--slot", min=0, max=1, help="vpcd's slot: 0 is 'Virtual PCD 00 00', 1 is '... 00 01'."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Where pcscd's vpcd driver listens."),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="vpcd's port (default: 35963 + slot)."
    ),
) -> None:
    """Put the card in the virtual reader until Ctrl-C; every change is kept in the image."""
    from jukinet.card.image import key_path, open_image, read_chip_key
    from jukinet.card.vpcd import PORT, VirtualReaderCard

    chip = open_image(image, read_chip_key(key or key_path(image)))
    reader = f"Virtual PCD 00 0{slot}"
    card = VirtualReaderCard(
        chip,
        host=host,
        port=port or PORT + slot,
        on_state=lambda state: console.print(
            f"card {image.name} in reader '{reader}'" if state == "inserted" else state
        ),
    )

    def pull(_signum: int, _frame: FrameType | None) -> None:
        card.stop()

    signal.signal(signal.SIGINT, pull)
    signal.signal(signal.SIGTERM, pull)
    thread = threading.Thread(target=card.run, name="vpcd-card")
    thread.start()
    while thread.is_alive():
        thread.join(0.2)
    console.print("card removed")
