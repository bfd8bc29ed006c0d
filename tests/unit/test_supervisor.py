"""How long the supervisor waits before it restarts a node that died (``network up``)."""

from __future__ import annotations

from jukinet.network.supervisor import STABLE, restart_delay


def test_a_node_that_keeps_dying_at_once_is_restarted_ever_more_slowly() -> None:
    delays = [restart_delay(n, ran_for=1.0) for n in range(1, 8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_a_node_that_ran_for_a_while_is_restarted_at_once_whatever_its_past() -> None:
    """Five deaths over a week are no crash loop: the sixth restart is as quick as the first."""
    assert restart_delay(6, ran_for=STABLE) == restart_delay(1, ran_for=0.0) == 1.0
