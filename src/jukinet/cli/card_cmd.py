"""``jukinet card``: the resident card (R15–R19) on this machine's card stack (docs/card.md).

``card demo FILE`` writes an issued test card image; ``card serve IMAGE`` puts a card
image in vsmartcard's virtual reader of the local pcscd, so that any PC/SC software
(OpenSC, a terminal of the window) finds the card there, until Ctrl-C pulls it out.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from jukinet.cli._common import console, handle_errors
from jukinet.cli.card_window_cmd import register_commands

app = typer.Typer(no_args_is_help=True, help="The resident card (R15–R19) and the card reader.")


@app.command("demo")
@handle_errors
def demo(
    file: Path = typer.Argument(..., help="The card image to write (must not exist)."),
    pin: str | None = typer.Option(
        None, "--pin", help="4 digits: the PIN of every application but JPKI signing."
    ),
    signing_password: str | None = typer.Option(
        None, "--signing-password", help="6-16 upper-case letters and digits (JPKI signing)."
    ),
) -> None:
    """Write an issued test card image for a made-up resident, and print its PINs."""
    from jukinet.card.demo import write_demo_card

    card = write_demo_card(file, pin=pin, signing_password=signing_password)
    console.print(f"Card image {card.image} for {card.holder.name}")
    console.print(f"  resident code    {card.holder.resident_code}")
    console.print(f"  card number      {card.holder.card_number}")
    console.print(f"  PIN              {card.pins.jpki_auth}  (JPKI authentication, other apps)")
    console.print(f"  signing password {card.pins.jpki_sign}  (JPKI signing)")
    for written in card.files[1:]:
        console.print(f"  wrote {written}")


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


register_commands(app)
