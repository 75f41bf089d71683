"""Partial-response selectors: Google `fields=` and Graph `fields=` syntax."""

from __future__ import annotations

from typing import Any

Selector = dict[str, "Selector | None"]


def parse_google_fields(text: str) -> Selector:
    """Parse `items(id,statistics(viewCount)),nextPageToken` or `items/id`."""
    selector, rest = _parse_list(text.replace(" ", ""), 0, "(", ")")
    if rest != len(text.replace(" ", "")):
        raise ValueError(f"bad fields expression: {text!r}")
    return selector


def _parse_list(text: str, pos: int, open_: str, close: str) -> tuple[Selector, int]:
    result: Selector = {}
    while pos < len(text) and text[pos] != close:
        start = pos
        while pos < len(text) and text[pos] not in f",{open_}{close}":
            pos += 1
        path = text[start:pos]
        if not path:
            raise ValueError("empty field name")
        sub: Selector | None = None
        if pos < len(text) and text[pos] == open_:
            sub, pos = _parse_list(text, pos + 1, open_, close)
            if pos >= len(text) or text[pos] != close:
                raise ValueError("unbalanced parentheses")
            pos += 1
        # a/b/c is shorthand for a(b(c)).
        names = path.split("/")
        node = sub
        for name in reversed(names[1:]):
            node = {name: node}
        _merge(result, names[0], node)
        if pos < len(text) and text[pos] == ",":
            pos += 1
    return result, pos


def _merge(target: Selector, name: str, node: Selector | None) -> None:
    if name in target and target[name] is not None and node is not None:
        existing = target[name]
        assert existing is not None
        for key, value in node.items():
            _merge(existing, key, value)
    elif name in target and node is not None and target[name] is None:
        return
    else:
        target[name] = node


def apply_selector(data: Any, selector: Selector | None) -> Any:
    """Keep only the selected keys, descending into lists element by element."""
    if selector is None:
        return data
    if isinstance(data, list):
        return [apply_selector(element, selector) for element in data]
    if not isinstance(data, dict):
        return data
    return {
        key: apply_selector(data[key], sub)
        for key, sub in selector.items()
        if key in data
    }


def parse_graph_fields(text: str) -> list[tuple[str, dict[str, str], str | None]]:
    """Split Graph fields: `a,b{c,d},business_discovery.username(x){e}`.

    Returns (name, modifiers, nested fields text or None) for each field.
    """
    fields: list[tuple[str, dict[str, str], str | None]] = []
    depth = 0
    start = 0
    parts = []
    for pos, char in enumerate(text):
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:pos])
            start = pos + 1
    parts.append(text[start:])
    for part in (p.strip() for p in parts):
        if not part:
            continue
        nested = None
        if "{" in part and part.endswith("}"):
            brace = part.index("{")
            nested = part[brace + 1 : -1]
            part = part[:brace]
        name, *mods = _split_modifiers(part)
        modifiers = {}
        for mod in mods:
            key, _, value = mod.partition("(")
            modifiers[key] = value.rstrip(")")
        fields.append((name, modifiers, nested))
    return fields


def _split_modifiers(part: str) -> list[str]:
    pieces, depth, start = [], 0, 0
    for pos, char in enumerate(part):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "." and depth == 0:
            pieces.append(part[start:pos])
            start = pos + 1
    pieces.append(part[start:])
    return pieces
