"""``jukinet agency batch --resume`` as an agency runs it (R24): the installed command
against a national node's provision routes over real mTLS, whose first answer breaks
off after a few rows. The first run fails in one line that says how to go on; the
resumed run completes the answer file; a third finds nothing to resume.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from jukinet.agency.client import write_settings
from jukinet.keys import NodeKey
from jukinet.nodes.national import service as national_service
from tests.e2e.conftest import EXE
from tests.integration.provision.nodes import Node
from tests.integration.test_batch_resume import AFFAIR, Cut, node_app, write_source
from tests.mtls import identities, serving


async def jukinet(*args: str | Path) -> tuple[int, str, str]:
    """The installed command: exit status, stdout, stderr."""
    env = {k: v for k, v in os.environ.items() if k != "JUKINET_DEBUG"} | {"COLUMNS": "200"}
    process = await asyncio.create_subprocess_exec(
        str(EXE), *map(str, args), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def test_the_command_resumes_a_batch_that_broke_off(tmp_path: Path) -> None:
    home = tmp_path / "national"
    url = f"sqlite:///{tmp_path / 'national.db'}"
    national_service.init_node(home, "national", "全国センター", url, NodeKey.generate())
    node = Node(national_service.open_node(home))
    source, target = tmp_path / "codes.csv", tmp_path / "answers.jsonl"
    try:
        write_source(node, source)
        server, agency = identities(tmp_path)
        folder = agency.key_path.parent

        async def scenario() -> list[tuple[int, str, str]]:
            async with serving(Cut(node_app(node), 5), server) as node_url:
                write_settings(folder, agency.node_id, node_url, node_url=node_url)
                batch = ("agency", "batch", source, target, "--as", folder, "--affair", AFFAIR)
                runs = [await jukinet(*batch)]
                for _ in range(2):
                    runs.append(await jukinet(*batch, "--resume"))
                return runs

        broke, resumed, again = asyncio.run(scenario())
    finally:
        node.store.close()
    lines = source.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    numbers = [n for n, line in enumerate(lines, 1) if line and n > 1]  # no header, no blank
    assert [r["row"] for r in rows] == numbers  # each row once, in order
    assert all(r["resident_code"] in lines[r["row"] - 1] for r in rows if "resident_code" in r)
    code, out, err = broke
    assert code == 1 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("error: ") and f"after row {numbers[4]}" in err
    assert "--resume sends the rest" in err and err.rstrip().endswith("[peer-unreachable]")
    code, out, err = resumed
    assert code == 0, err
    assert out.startswith(f"resumed after row {numbers[4]}; {len(numbers) - 5} rows: ")
    code, out, err = again
    assert code == 1 and len(err.splitlines()) == 1 and "nothing to resume" in err, err
