"""The batch floor: the node's reads and provision writes in plain SQL, in its own process.

    python -m bench.batch_floor --home NODE_FOLDER --codes FILE [--chunk 5000]

On the node's own database (its engine, so the same SQLite pragmas or PostgreSQL
settings), for each chunk of the codes in FILE (one per line), sorted, in one
transaction that commits:

- the same read as the node's batch: the identity columns the node reads with the
  kept sector pseudonym joined in (``provision_batch.read_held``), ``resident_code
  IN (...)`` over the sorted chunk;
- the same provision information the node writes (``provision_store.log_provisions``
  and ``provision_log.append``): one ``provisions`` row per person provided with all
  its columns (the fixed ones copied from the node's last batch row), its leaf index
  and keyed commitment, the provision tree's stored hashes of each leaf (the same
  leaf lines, hashed as the node does) and the tree head's update; and, as the node
  does after a chunk, the newest rows taken into the person index in one sorted
  ``INSERT … SELECT`` once there are ``provision_store.PERSON_RUN`` of them.

Not done here: the answer rows (records, pseudonyms, JSON), the HTTP exchange and the
one audit entry a chunk (a row per 5,000 persons). Prints one JSON object: codes/s,
persons provided, CPU µs per code of this process, and the wall µs per code of its
parts: the read, the provision log's hashes (HMACs, leaf lines, tree), the rest
(inserts, head update and commit).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection

from bench.floors import own_cpu
from jukinet.audit import merkle
from jukinet.audit import provision_log as fmt
from jukinet.nodes.identity.provision_store import PERSON_RUN
from jukinet.nodes.identity.provision_store import PERSONS_MARK as MARK
from jukinet.nodes.national import service as national

_READ = ("i.resident_code, i.person_key, i.name, i.date_of_birth, i.sex, i.address, i.status, "
         "i.change_reason, i.change_date, p.pseudonym")  # fmt: skip
SECTOR = "pension"  # the benchmark affair's sector (bench/provision.py)
_WRITE = ("at, node, agency, recipient, affair, function, person_key, resident_code, "
          "fields, request_id, leaf, basis, commitment")  # fmt: skip


def _head(conn: Connection) -> merkle.Appender:
    size, kept = conn.exec_driver_sql("SELECT size, edge FROM provision_head WHERE id = 1").one()
    edge = merkle.edge_indexes(int(size))
    kept = bytes(kept)
    hashes = [kept[i : i + merkle.HASH_SIZE] for i in range(0, len(kept), merkle.HASH_SIZE)]
    return merkle.Appender(
        int(size), {(lv, n): h for (lv, n, _), h in zip(edge, hashes, strict=True)}
    )


def index_persons(conn: Connection, mark: str) -> None:
    """The node's person index run (``provision_store.index_persons``) in plain SQL."""
    upto = int(conn.exec_driver_sql(f"SELECT value FROM node WHERE key = '{MARK}'").scalar_one())
    top = conn.exec_driver_sql("SELECT max(id) FROM provisions").scalar_one()
    if top - upto < PERSON_RUN:
        return
    conn.exec_driver_sql(
        "INSERT INTO provision_persons (person_key, id, at) SELECT person_key, id, at "
        f"FROM provisions WHERE id > {mark} AND id <= {mark} ORDER BY person_key, id",
        (upto, top),
    )
    conn.exec_driver_sql(f"UPDATE node SET value = {mark} WHERE key = '{MARK}'", (str(top),))


def run(home: Path, codes: list[str], chunk: int) -> dict[str, float]:
    store = national.open_node(home)
    engine = store.engine
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    with engine.connect() as conn:
        secret = bytes.fromhex(
            conn.exec_driver_sql(
                "SELECT value FROM node WHERE key = 'disclosure_secret'"
            ).scalar_one()
        )
        node_id, agency, recipient, affair, fields, basis = conn.exec_driver_sql(
            "SELECT node, agency, recipient, affair, fields, basis FROM provisions "
            "WHERE function = 'batch' ORDER BY id DESC LIMIT 1"
        ).one()
    insert_row = f"INSERT INTO provisions ({_WRITE}) VALUES ({', '.join([mark] * 13)})"
    insert_hash = f"INSERT INTO provision_tree (idx, hash) VALUES ({mark}, {mark})"
    set_head = f"UPDATE provision_head SET size = {mark}, root = {mark}, edge = {mark} WHERE id = 1"
    provided = 0
    spent = {"read": 0.0, "hashes": 0.0}  # wall seconds of the parts; the rest is writing
    cpu0, t0 = own_cpu(), time.perf_counter()
    for i in range(0, len(codes), chunk):
        part = sorted(set(codes[i : i + chunk]))
        at, request = datetime.now(UTC).isoformat(), uuid.uuid4().hex
        template = fmt.LeafTemplate(at, node_id, recipient, affair, basis, "batch", fields, request)
        with engine.begin() as conn:
            marks = ", ".join([mark] * len(part))
            read = (
                f"SELECT {_READ} FROM identities i LEFT JOIN pseudonyms p ON "
                f"p.person_key = i.person_key AND p.sector = {mark} "
                f"WHERE i.resident_code IN ({marks})"
            )
            mark_read = time.perf_counter()
            people = {r[1]: r[0] for r in conn.exec_driver_sql(read, (SECTOR, *part))}
            mark_hash = time.perf_counter()
            spent["read"] += mark_hash - mark_read
            tree = _head(conn)
            index = merkle.stored_hash_count(tree.size)
            rows, hashes = [], []
            for key, code in people.items():
                n = tree.size
                c = fmt.commitment(fmt.resident_key(secret, key), n)
                for h in tree.add(merkle.leaf_hash(template.line(n, c))):
                    hashes.append((index, h))
                    index += 1
                rows.append((at, node_id, agency, recipient, affair, "batch", key, code, fields,
                             request, n, basis, c))  # fmt: skip
            spent["hashes"] += time.perf_counter() - mark_hash
            conn.exec_driver_sql(insert_row, rows)
            conn.exec_driver_sql(insert_hash, hashes)
            head = (tree.size, tree.root(), b"".join(tree.right_edge()))
            conn.exec_driver_sql(set_head, head)
            index_persons(conn, mark)
            provided += len(rows)
    elapsed, cpu = time.perf_counter() - t0, own_cpu() - cpu0
    store.close()
    per = 1e6 / len(codes)
    return {"rate": len(codes) / elapsed, "provided": provided, "cpu_us": cpu * per,
            "read_us": spent["read"] * per, "hashes_us": spent["hashes"] * per,
            "write_us": (elapsed - spent["read"] - spent["hashes"]) * per}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--codes", type=Path, required=True)
    parser.add_argument("--chunk", type=int, default=5000)
    args = parser.parse_args()
    codes = args.codes.read_text().split()
    print(json.dumps(run(args.home, codes, args.chunk)))


if __name__ == "__main__":
    main()
