"""``jukinet card``: the resident card (R15–R19)."""

from __future__ import annotations

from pathlib import Path

import typer

from jukinet.cli._common import console, handle_errors

app = typer.Typer(help="The resident card (R15–R19).", no_args_is_help=True)


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
