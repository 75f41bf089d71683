"""The structural comparator catches drift and ignores values."""

from __future__ import annotations

from .structure import differences


def test_it_ignores_values_but_not_types():
    assert differences({"a": "1", "b": [1, 2]}, {"a": "x", "b": [3.5]}) == []
    assert differences({"a": "1"}, {"a": 1}) == ["$.a: expected string, got number"]


def test_it_reports_missing_and_unexpected_keys():
    problems = differences({"a": {"b": 1}}, {"a": {"c": 1}})

    assert problems == ["$.a.b: missing", "$.a.c: unexpected key"]


def test_it_compares_list_elements_against_the_merged_shape():
    expected = {"items": [{"id": "a", "like": "1"}, {"id": "b"}]}

    assert differences(expected, {"items": [{"id": "c"}]}) == []
    assert differences(expected, {"items": [{"like": "2"}]}) == [
        "$.items[].id: missing"
    ]


def test_it_honours_allowances():
    problems = differences(
        {"a": 1, "b": 2}, {"a": 1, "c": 3}, optional={"$.b"}, extra={"$.c"}
    )

    assert problems == []
