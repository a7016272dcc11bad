"""Decodes Stripe's bracketed form encoding (`a[b][0][c]=v`) into nested dicts and lists."""

import re
from urllib.parse import parse_qsl

from .errors import invalid

_SEGMENT = re.compile(r"\[([^\]]*)\]")


def decode(*encoded: str) -> dict:
    """Merges the given query strings / bodies; values stay strings, as Stripe receives them."""
    root: dict = {}
    for text in encoded:
        for key, value in parse_qsl(text, keep_blank_values=True):
            head, bracket, rest = key.partition("[")
            path = [head, *_SEGMENT.findall(bracket + rest)]
            node = root
            for segment in path[:-1]:
                node = node.setdefault(segment, {})
                if not isinstance(node, dict):
                    raise invalid(f"Invalid hash: {key}", head)
            # `expand[]=x` is the older append-style array encoding.
            node[path[-1] or str(len(node))] = value
    return _listify(root, "")


def _listify(value, key: str):
    if not isinstance(value, dict):
        return value
    items = {k: _listify(v, k) for k, v in value.items()}
    # Metadata keys are free-form, so `metadata[0]` is a key, not an array index.
    if items and key != "metadata" and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items
