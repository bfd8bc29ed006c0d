"""The one exception hierarchy of jukinet.

Every error carries a stable ``code`` (for logs, the audit trail and, later, the
``type`` of an RFC 9457 problem) and a sentence a clerk at the window understands.
This module imports nothing of the project, so the domain may raise these errors
without depending on any adapter.

    JukinetError
     ├── InvalidInput                 the request itself is wrong
     │    ├── InvalidResidentCode
     │    ├── InvalidLocalGovernmentCode
     │    ├── UnknownMunicipality
     │    └── InvalidDate
     ├── NotFound
     │    ├── ResidentNotFound
     │    ├── HouseholdNotFound
     │    └── OperatorNotFound
     ├── EventRefused                 the event is illegal in the record's state
 │    └── MoveWithCardRefused     moving with the card: deadline, card, certificate (R21)
     ├── AccessDenied                 who is asking may not do it (R10–R13)
     │    ├── AuthenticationFailed
     │    │    └── OperatorCardRefused no operator card, or not this operator's valid card (R11)
     │    ├── OperatorCardRemoved     the operator card left the reader: the session ended (R11)
     │    ├── AccountInactive
     │    ├── AccountLocked
     │    ├── RoleNotAllowed
     │    ├── ProvisionRefused        the legal table (別表) does not allow this provision (R2, R5)
     │    ├── DisclosureRefused       a municipality asked about someone not its resident (R14)
     │    ├── SignatureRefused        a request's RFC 9421 signature proves no member (R7, R8)
     │    ├── UpdateRefused           an identity update its sender may not make (R1)
     │    ├── CertificationRefused    the JPKI CA does not certify or revoke as asked (R15)
     │    ├── CardCertificateRefused  a card's JPKI certificate or signature proves no signer (R15)
     │    ├── WideAreaRefused        the home municipality refuses a wide-area copy request (R20)


     │    ├── CheckpointRefused       a prefecture does not cosign a checkpoint: a fork (R25)
     │    └── PeerRefused             another node answered with a refusal
     ├── PeerUnreachable              another node gave no usable answer
     ├── PoolExhausted                no unused resident code is left (R6)
     ├── CardError                    the resident card or its reader (R15–R19)
     │    ├── CardNotPresent          no card in the reader, or it was removed
     │    ├── CardRefused             the card answered a command with an error status word
     │    ├── BrokenCard              the card image is changed or unreadable: a broken chip (R19)
     │    ├── CardNotGenuine          the card failed INTERNAL AUTHENTICATE (R17)
     │    └── NoSigningCertificate    the card holds no JPKI signing certificate (under 15, R15)
     ├── StorageFull                  the node's disk is full: nothing can be written
     ├── CopyRefused                  a copy of the resident record the law does not give (R4, R20)
     │    └── GlyphMissing            a printed character the copy's font lacks (the PDF)
     ├── RenderFailed                 the copy could not be typeset: nothing issued
     └── ConfigurationError           the node's files or database are not usable
          ├── LegalTableInvalid       the legal table file is wrong and is not loaded (R2, R4)
          └── DirectoryRefused        a directory not signed by this network's national node
               └── DirectoryRolledBack  a directory older than the one the node holds (R9)
     EmergencyOrderRefused            (an InvalidInput) an order not valid or not signed enough (R9)
     NetworkStopped                   (a PeerUnreachable) traffic held: directory expired,
                                      network halted or node isolated (R9)
     CardSignInRefused                (an AccessDenied) a card sign-in that proves nothing here
     CardAgentRefused                 (an InvalidInput) the terminal's card agent refuses
"""

from __future__ import annotations


class JukinetError(Exception):
    """Base of every error jukinet raises on purpose."""

    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(JukinetError):
    code = "invalid-input"


class InvalidResidentCode(InvalidInput):
    code = "invalid-resident-code"


class InvalidLocalGovernmentCode(InvalidInput):
    code = "invalid-local-government-code"


class UnknownMunicipality(InvalidInput):
    code = "unknown-municipality"


class InvalidDate(InvalidInput):
    code = "invalid-date"


class NotFound(JukinetError):
    code = "not-found"


class ResidentNotFound(NotFound):
    code = "resident-not-found"


class HouseholdNotFound(NotFound):
    code = "household-not-found"


class OperatorNotFound(NotFound):
    code = "operator-not-found"


class EventRefused(JukinetError):
    code = "event-refused"


class AccessDenied(JukinetError):
    code = "access-denied"


class AuthenticationFailed(AccessDenied):
    code = "authentication-failed"


class OperatorCardRefused(AuthenticationFailed):
    """Sign-in without this operator's valid card: missing, another's, not genuine, revoked."""

    code = "operator-card-refused"


class OperatorCardRemoved(AccessDenied):
    """The operator card is no longer in the reader: the session has ended (R11)."""

    code = "operator-card-removed"


class AccountInactive(AccessDenied):
    code = "account-inactive"


class AccountLocked(AccessDenied):
    code = "account-locked"


class RoleNotAllowed(AccessDenied):
    code = "role-not-allowed"


class PoolExhausted(JukinetError):
    code = "pool-exhausted"


class StorageFull(JukinetError):
    """The node's database could not write: its disk (or the database's space) is full.
    Nothing of the refused write was kept; the node works again once space is freed."""

    code = "storage-full"


class ConfigurationError(JukinetError):
    code = "configuration-error"


class ProvisionRefused(AccessDenied):
    code = "provision-refused"


class DisclosureRefused(AccessDenied):
    """A municipality may ask about the provisions of its own residents only (R14)."""

    code = "disclosure-refused"


class LegalTableInvalid(ConfigurationError):
    code = "legal-table-invalid"


class PeerRefused(AccessDenied):
    """The peer answered, and the answer was not a success (``status`` is not 2xx)."""

    code = "peer-refused"

    def __init__(self, status: int, detail: str, url: str = "") -> None:
        super().__init__(f"{url or 'The peer'} refused the request ({status}): {detail}")
        self.status = status
        self.detail = detail
        self.url = url


class PeerUnreachable(JukinetError):
    """No usable answer: the connection or the TLS handshake failed, or the answer broke off."""

    code = "peer-unreachable"


class SignatureRefused(AccessDenied):
    """The request's signature does not prove who sent it (401) or the signer is not a
    member of the network (403). ``keyid`` is the one claimed, if any, for the log."""

    code = "signature-refused"

    def __init__(self, reason: str, status: int, keyid: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.keyid = keyid


class DirectoryRefused(ConfigurationError):
    """A directory whose signature does not verify, or that belongs to another network."""

    code = "directory-refused"


class UpdateRefused(AccessDenied):
    code = "update-refused"


class CertificationRefused(AccessDenied):
    """The JPKI certification authority refuses to issue or revoke: the resident is not
    the caller's, a signing certificate for a person under 15, a key that is not a
    card's RSA-2048 key (R15)."""

    code = "certification-refused"


class CardCertificateRefused(AccessDenied):
    """A document signed with a card does not verify: the certificate is revoked, expired,
    not issued by this network's JPKI CA, or the signature does not match (R15)."""

    code = "card-certificate-refused"


class CardError(JukinetError):
    code = "card-error"


class CardStateRefused(JukinetError):
    """A step of a card's life cycle that its state does not allow, or a card that does
    not prove its holder's identity here (suspended, revoked, replaced, expired, another
    municipality's; R15–R17)."""

    code = "card-state-refused"


class CardNotPresent(CardError):
    code = "card-not-present"


class CardRefused(CardError):
    """The card answered with a status word other than 9000 (``sw``, e.g. 0x6982)."""

    code = "card-refused"

    def __init__(self, message: str, sw: int) -> None:
        super().__init__(message)
        self.sw = sw


class BrokenCard(CardError):
    """The card image does not decrypt under the chip's key, or its content is not a card:
    it is treated as a broken chip and never used (R19)."""

    code = "broken-card"


class CardNotGenuine(CardError):
    """The card's certificate is not its issuer's, or the card did not prove it holds
    the certified key (R17)."""

    code = "card-not-genuine"


# Services between municipalities (R3, R4, R20, R21).


class CopyRefused(JukinetError):
    """A copy of the resident record that the law does not give as asked (第12条, R4, R20)."""

    code = "copy-refused"


# Copies of the resident record as PDF (jukinet.documents)


class GlyphMissing(CopyRefused):
    """A printed character (or variation sequence) the copy's font does not hold."""

    code = "glyph-missing"

    def __init__(self, message: str, *, item: str, code_points: tuple[int, ...]) -> None:
        super().__init__(message)
        self.item = item
        self.code_points = code_points


class RenderFailed(JukinetError):
    """The copy could not be typeset (a broken template or font set-up), nothing issued."""

    code = "render-failed"


# The card of a resident under 15 (R15).


class NoSigningCertificate(CardError):
    """The card holds no JPKI signing certificate (JPKI gives none to a person under 15),
    so it cannot sign; it still proves its holder (user authentication)."""

    code = "no-signing-certificate"


# Moving with the card (R21).


class MoveWithCardRefused(EventRefused):
    """A step of moving with the card that the law or the message does not allow: a
    lapsed deadline, the wrong card, no or used certificate information, a cancelled
    move, a message out of order (第24条の2, R21)."""

    code = "move-with-card-refused"


# Wide-area copies (R20, 第12条の4): municipality B refuses what A asked.


class WideAreaRefused(AccessDenied):
    """The home municipality does not answer this request for a wide-area copy: not its
    resident, not the person's own record or household, no recorded verification, a card
    proof that proves nobody, or a request answered before (R20)."""

    code = "wide-area-refused"


# Audit checkpoints and their cosigning (R12, R25; docs/audit.md).


class CheckpointRefused(AccessDenied):
    """A prefecture refuses to cosign a municipality's checkpoint: it is not signed by
    the municipality, or it does not extend the one it cosigned before (a fork)."""

    code = "checkpoint-refused"


# The directory as heartbeat and the emergency stop (R9).


class DirectoryRolledBack(DirectoryRefused):
    """A correctly signed directory older than the one the node holds: a replay (R9)."""

    code = "directory-rolled-back"

    def __init__(self, message: str, *, version: int) -> None:
        super().__init__(message)
        self.version = version


class NetworkStopped(PeerUnreachable):
    """Network traffic is held: this node's directory has expired, the network is halted
    or a node of the exchange is isolated (R9). Nothing is dropped: outboxes wait."""

    code = "network-stopped"


class EmergencyOrderRefused(InvalidInput):
    """An emergency order that is not valid now, not signed by enough different known
    operators, or that does not fit the network's state (R9)."""

    code = "emergency-order-refused"


# The safety report (R25; docs/report.md).


class BundleRefused(InvalidInput):
    """An audit bundle given to the safety report does not verify, is not a node's, or
    the set of bundles lacks one the report needs: no figure is computed from it."""

    code = "bundle-refused"


# The hotlist: blocks the national node's operators confirm (R7, docs/ids.md).


class BlockRefused(InvalidInput):
    """A block or lift that is not valid now, not signed by a known operator, names no
    alert, address or node it can block, or does not fit the hotlist (R7)."""

    code = "block-refused"


# The disclosure answer a resident can check (R14).


class DisclosureUnverified(InvalidInput):
    """A disclosure answer that does not verify: a signature, a proof, or a provision left
    out of it that the node's published provision log holds (R14)."""

    code = "disclosure-unverified"


# Loading identities in bulk into a prefecture or national node (docs/operations.md).


class LoadRefused(InvalidInput):
    """A bulk load whose file has a bad row, or a row the node cannot take: the whole file
    is refused, nothing is loaded; the message names the row."""

    code = "load-refused"


# Signing in with the resident card through a terminal's card agent (docs/card-agent.md).


class CardSignInRefused(AccessDenied):
    """A sign-in answer from the card that proves nothing here: it signed another site's
    origin or another challenge, the signature or its certificate does not verify, or it
    is a signing certificate where sign-in takes the user-authentication one (R15)."""

    code = "card-sign-in-refused"


class CardAgentRefused(InvalidInput):
    """The card agent refuses a request: not from an allowed page, a Host that is not the
    agent's, a malformed body, or a card step the card refused (docs/card-agent.md)."""

    code = "card-agent-refused"


# The resident portal (docs/ui.md, "The resident portal").


class PortalSignInRefused(AccessDenied):
    """A card that signed in correctly but is not an active card this municipality issued
    to one of its residents: the portal opens no session (R15)."""

    code = "portal-sign-in-refused"
