"""What an app tells the shared factory about itself (docs/ui.md, "Adding an app")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jukinet.web.common.accounts import AccountFile
from jukinet.web.common.i18n import Catalogue
from jukinet.web.common.sessions import IDLE_TIMEOUT

# (actor, action, target, outcome ok|refused, detail): how an app records what its
# operators did in its node's audit log, the same entries the CLI makes.
Audit = Callable[[str, str, str, str, str], None]


def _no_audit(_actor: str, _action: str, _target: str, _outcome: str, _detail: str) -> None:
    return None


@dataclass(frozen=True)
class Site:
    name: str  # the catalogue key of the app's title, e.g. "console.title"
    catalogue: Catalogue
    templates: Path  # the app's own templates (beside the shared ones)
    accounts: AccountFile
    origin: str  # https://HOST:PORT as the browser sees it (WebAuthn checks it)
    rp_id: str  # the WebAuthn relying party: the host name (never an IP address)
    nav: tuple[tuple[str, str], ...] = ()  # (path, catalogue key) of the main menu
    audit: Audit = field(default=_no_audit)
    idle_timeout: float = IDLE_TIMEOUT
