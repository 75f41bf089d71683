"""A structural comparator: keys, nesting and JSON types, not values.

Lists are compared by element shape: the expected elements are merged into
one shape (a key present in every element is required, a key present in some
is optional), and every actual element must fit it. Numbers are one type:
JSON does not tell 0 from 0.0 and the real APIs mix them (see the Analytics
fixture). Any difference is reported with its JSON path so drift fails loudly.
"""

from __future__ import annotations

from typing import Any

SCALARS = {str: "string", bool: "boolean", int: "number", float: "number"}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return SCALARS[type(value)]


class Shape:
    """The merged shape of one or more JSON values."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.keys: dict[str, Shape] = {}
        self.key_counts: dict[str, int] = {}
        self.objects = 0
        self.items: Shape | None = None

    def add(self, value: Any) -> Shape:
        kind = _kind(value)
        self.kinds.add(kind)
        if kind == "object":
            self.objects += 1
            for key, child in value.items():
                self.keys.setdefault(key, Shape()).add(child)
                self.key_counts[key] = self.key_counts.get(key, 0) + 1
        elif kind == "array":
            if self.items is None:
                self.items = Shape()
            for element in value:
                self.items.add(element)
        return self

    def required(self, key: str) -> bool:
        return self.key_counts.get(key, 0) == self.objects


def differences(
    expected: Any,
    actual: Any,
    *,
    optional: set[str] = frozenset(),
    extra: set[str] = frozenset(),
) -> list[str]:
    """Every structural difference, as readable strings with JSON paths.

    `optional`: paths that may be missing from `actual`; `extra`: paths that
    may appear in `actual` only. Paths look like `$.items[].statistics.likeCount`.
    """
    found: list[str] = []
    _compare(Shape().add(expected), actual, "$", found, set(optional), set(extra))
    return found


def _compare(
    shape: Shape,
    value: Any,
    path: str,
    found: list[str],
    optional: set[str],
    extra: set[str],
) -> None:
    kind = _kind(value)
    if kind not in shape.kinds:
        found.append(f"{path}: expected {'|'.join(sorted(shape.kinds))}, got {kind}")
        return
    if kind == "object":
        for key, child in shape.keys.items():
            child_path = f"{path}.{key}"
            if key in value:
                _compare(child, value[key], child_path, found, optional, extra)
            elif shape.required(key) and child_path not in optional:
                found.append(f"{child_path}: missing")
        for key in value:
            if key not in shape.keys and f"{path}.{key}" not in extra:
                found.append(f"{path}.{key}: unexpected key")
    elif kind == "array" and shape.items is not None and shape.items.kinds:
        for element in value:
            _compare(shape.items, element, f"{path}[]", found, optional, extra)


def assert_same_structure(expected: Any, actual: Any, **allowances: set[str]) -> None:
    problems = differences(expected, actual, **allowances)
    assert not problems, "structure drifted:\n  " + "\n  ".join(problems)
