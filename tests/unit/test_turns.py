"""The writers of one register on one host take turns (R22, docs/reliability.md,
"Waking delivery"): while one holds its turn another does not get it; once it is done
the next one does; one out of patience goes on without it (never waits for itself)."""

from __future__ import annotations

import threading
from pathlib import Path

from jukinet.storage.turns import WriterTurns


def test_a_turn_held_by_one_writer_is_not_had_by_another_until_it_is_done(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run" / "writers.lock"
    holding, release, done = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with WriterTurns(path)() as had:
            assert had
            holding.set()
            release.wait(30)
        done.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(30)
    with WriterTurns(path, patience=0.0)() as had:  # another writer, out of patience at once
        assert had is False
        entered = True
    assert entered
    release.set()
    assert done.wait(30)
    thread.join(30)
    with WriterTurns(path, patience=30.0)() as had:
        assert had is True


def test_a_writer_inside_its_own_turn_goes_on_without_a_second_one(tmp_path: Path) -> None:
    path = tmp_path / "writers.lock"
    with WriterTurns(path)() as outer, WriterTurns(path, patience=0.0)() as inner:
        assert (outer, inner) == (True, False)
