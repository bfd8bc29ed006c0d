"""Every endpoint's body limit fits what a legitimate caller sends (R7, R24)."""

from __future__ import annotations

from jukinet.agency.client import BATCH_CHUNK
from jukinet.network.endpoints import BATCH_LINE_BYTES, ENDPOINTS


def test_a_full_chunk_of_the_agency_client_fits_the_batch_limit() -> None:
    for row in ENDPOINTS:
        if row.path == "/provision/batch":
            assert row.max_body >= BATCH_CHUNK * (BATCH_LINE_BYTES + 1)


def test_gets_take_no_body_and_every_post_takes_one() -> None:
    for row in ENDPOINTS:
        assert (row.max_body == 0) == (row.method == "GET"), row
