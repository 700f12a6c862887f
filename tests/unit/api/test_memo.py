"""ContentMemo: one computation per distinct content, forgetting all when full."""

from __future__ import annotations

from kubelite.api.memo import ContentMemo


def test_equal_content_is_computed_once_per_context_and_forgotten_when_full() -> None:
    calls: list[str] = []
    memo: ContentMemo[str] = ContentMemo(limit=2)

    def compute(tag: str) -> str:
        calls.append(tag)
        return tag.upper()

    assert memo.get(("a",), {"x": [1]}, lambda: compute("one")) == "ONE"
    assert memo.get(("a",), {"x": [1]}, lambda: compute("again")) == "ONE"  # same content
    assert memo.get(("b",), {"x": [1]}, lambda: compute("other")) == "OTHER"  # other context
    assert calls == ["one", "other"] and len(memo) == 2
    memo.get(("a",), {"x": [2]}, lambda: compute("third"))  # full: starts over
    assert len(memo) == 1
    memo.get(("a",), {"x": [1]}, lambda: compute("recomputed"))
    assert calls[-1] == "recomputed"


def test_content_that_is_not_json_is_computed_every_time() -> None:
    memo: ContentMemo[int] = ContentMemo(limit=10)
    odd = {"s": object()}  # no JSON for it
    assert memo.get((), odd, lambda: 1) == 1 and memo.get((), odd, lambda: 2) == 2
    assert len(memo) == 0
