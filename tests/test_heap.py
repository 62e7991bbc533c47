"""The collector pause around bulk work."""

import gc

import pytest

from toolkit import heap


def test_the_collector_is_paused_inside_and_resumes_after_even_on_an_error():
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with heap.paused():
            assert not gc.isenabled()
            raise ValueError
    assert gc.isenabled()


def test_a_collector_paused_before_stays_paused():
    gc.disable()
    try:
        with heap.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cycles_made_inside_are_collected_once_it_resumes():
    import weakref

    class Node:
        pass

    with heap.paused():
        node = Node()
        node.me = node  # a cycle: only the collector frees it
        alive = weakref.ref(node)
        del node
        assert alive() is not None
    gc.collect()
    assert alive() is None


def test_as_a_decorator_it_pauses_each_call():
    @heap.paused()
    def inside():
        return gc.isenabled()

    assert inside() is False and inside() is False  # every call, not the first only
    assert gc.isenabled()
