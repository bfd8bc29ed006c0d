"""The client an administrative body installs: identity confirmation for listed affairs.

    async with AgencyClient.from_folder(Path("clients/agency-mofa-passport")) as agency:
        answer = await agency.verify("passport-issuance", code, name, born, sex, address)

Every call names an affair of the legal table (R2, R5); the node answers only what
the affair may receive and records the provision (R14).
"""

from jukinet.agency.client import AgencyClient, AgencySettings

__all__ = ["AgencyClient", "AgencySettings"]
