"""ServerPool: which API server a client uses, and failing over between them."""

from __future__ import annotations

from kubelite.client.servers import FAILED_FOR, ServerPool

A, B, C, D = (f"https://10.0.0.{i}:6443" for i in (1, 2, 3, 4))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Switches:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def record(self, old: str, new: str) -> None:
        self.seen.append((old, new))


def test_the_default_server_is_current_and_stays_listed_last() -> None:
    pool = ServerPool(A + "/", rank=str)
    assert pool.current == A and pool.servers == [A]
    pool.set_servers([C, B])
    assert pool.servers == [B, C, A] and pool.current == A


def test_the_current_server_stays_while_it_answers() -> None:
    pool = ServerPool(A, rank=str)
    pool.set_servers([A, B, C])
    pool.succeeded(A)
    assert pool.current == A and pool.servers == [B, C, A]


def test_a_failed_server_hands_over_to_the_next_in_list_order() -> None:
    pool, switches = ServerPool(A, rank=str), Switches()
    pool.on_switch(switches.record)
    pool.set_servers([B, C])
    assert pool.failed(A) == B
    assert pool.failed(B) == C
    assert switches.seen == [(A, B), (B, C)]


def test_a_failure_of_another_server_changes_nothing() -> None:
    pool, switches = ServerPool(A, rank=str), Switches()
    pool.on_switch(switches.record)
    pool.set_servers([B])
    assert pool.failed(B) == A
    assert switches.seen == []
    assert pool.candidates() == [A, B]  # the failed one last


def test_recently_failed_servers_are_skipped_until_they_have_rested() -> None:
    clock = Clock()
    pool = ServerPool(A, clock, rank=str)
    pool.set_servers([B, C])
    pool.failed(B)  # not current: only marked
    assert pool.failed(A) == C  # B failed recently: skipped
    clock.now += FAILED_FOR
    assert pool.failed(C) == A  # A has rested now, B too: the next in order after C is A
    assert pool.candidates() == [A, B, C]


def test_when_every_server_failed_the_oldest_failure_is_tried_again() -> None:
    clock = Clock()
    pool = ServerPool(A, clock, rank=str)
    pool.set_servers([B, C])
    pool.failed(B)
    clock.now += 1
    pool.failed(C)
    clock.now += 1
    assert pool.failed(A) == B


def test_a_lone_server_never_switches() -> None:
    pool, switches = ServerPool(A, rank=str), Switches()
    pool.on_switch(switches.record)
    assert pool.failed(A) == A
    assert switches.seen == []


def test_a_current_server_no_longer_listed_is_left() -> None:
    pool, switches = ServerPool(A, rank=str), Switches()
    pool.on_switch(switches.record)
    pool.set_servers([B, C])
    pool.failed(A)
    assert pool.current == B
    pool.set_servers([C, D])
    assert pool.current == C and pool.servers == [C, D, A]
    assert switches.seen[-1] == (B, C)


def test_listeners_are_held_weakly() -> None:
    pool = ServerPool(A, rank=str)
    pool.set_servers([B])
    switches = Switches()
    pool.on_switch(switches.record)
    del switches
    assert pool.failed(A) == B  # no error from a collected listener


def test_use_makes_a_listed_server_current() -> None:
    pool, switches = ServerPool(A, rank=str), Switches()
    pool.on_switch(switches.record)
    pool.use(B)  # not listed: nothing changes
    assert pool.current == A
    pool.set_servers([B])
    pool.use(B + "/")
    assert pool.current == B and switches.seen == [(A, B)]


def test_failed_may_name_the_server_to_use_instead() -> None:
    pool = ServerPool(A, rank=str)
    pool.set_servers([B, C])
    assert pool.failed(A, instead=C) == C
    assert pool.failed(C, instead=D) == B  # D is not listed: the next in order not failed


def test_each_client_has_an_order_of_its_own_and_keeps_it() -> None:
    """The agents of a dead server spread over the others (k3s shuffles its list too)."""
    taken = set()
    for _ in range(40):
        pool = ServerPool(A)
        pool.set_servers([A, B, C])
        order = pool.servers
        pool.set_servers([C, B, A])  # the same servers in another order: the same list
        assert pool.servers == order and order[-1] == A  # the default stays last
        taken.add(pool.failed(A))
    assert taken == {B, C}
