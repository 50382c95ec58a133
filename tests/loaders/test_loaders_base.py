"""``load_grouped``: the batch shape every grouping loader (issues, users) shares."""

from __future__ import annotations

import pytest

from loaders.base import load_grouped


async def test_values_come_back_in_request_order_one_call_per_group() -> None:
    calls: list[tuple[str, list[str]]] = []

    async def load(site: str, requests: list[tuple[str, str]]) -> list[str]:
        calls.append((site, [key for _site, key in requests]))
        return [f"{site}/{key}" for _site, key in requests]

    requests = [("a", "1"), ("b", "2"), ("a", "3"), ("b", "4")]
    values = await load_grouped(requests, lambda r: r[0], load)
    assert values == ["a/1", "b/2", "a/3", "b/4"]
    assert sorted(calls) == [("a", ["1", "3"]), ("b", ["2", "4"])]


async def test_a_failing_group_stands_in_for_its_own_requests_only() -> None:
    async def load(site: str, requests: list[tuple[str, str]]) -> list[str | None]:
        if site == "down":
            raise ConnectionError(site)
        return [key for _site, key in requests]

    requests = [("up", "1"), ("down", "2"), ("up", "3"), ("down", "4")]
    values = await load_grouped(requests, lambda r: r[0], load)
    assert values[0::2] == ["1", "3"]
    assert all(isinstance(v, ConnectionError) for v in values[1::2])


async def test_a_group_answering_the_wrong_count_fails_rather_than_shifting_values() -> None:
    async def load(_site: str, requests: list[str]) -> list[str]:
        return requests[:-1]

    with pytest.raises(ValueError, match="zip"):
        await load_grouped(["x", "y"], lambda _r: "s", load)


@pytest.mark.parametrize("requests", [[], ["only"]])
async def test_small_batches(requests: list[str]) -> None:
    assert await load_grouped(requests, lambda r: r, lambda _g, rs: _echo(rs)) == requests


async def _echo(requests: list[str]) -> list[str]:
    return requests
