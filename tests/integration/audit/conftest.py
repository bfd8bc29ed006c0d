from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.audit import gocheck


@pytest.fixture(scope="session")
def auditcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go program an external auditor runs (tests/go/auditcheck), built once."""
    return gocheck.build(tmp_path_factory.mktemp("go"))
