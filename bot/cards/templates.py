"""JSON card templates shipped in the package, loaded with :mod:`importlib.resources`.

A template is an Adaptive Card (or fragment) in which a string ``"${name}"`` is replaced by the value bound to
``name`` (any JSON value: a list of elements, a number …), and ``${name}`` inside a longer string by its text.
Values are inserted as data, never parsed as JSON, so user text cannot inject card elements.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from importlib import resources
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{([a-z_][a-z0-9_]*)\}")


@cache
def _load(name: str) -> Any:
    text = resources.files("bot.cards").joinpath("templates", f"{name}.json").read_text("utf-8")
    return json.loads(text)


def fill(name: str, **values: Any) -> Any:
    """The template ``name`` with placeholders bound to ``values`` (missing names raise KeyError)."""
    return _bind(copy.deepcopy(_load(name)), values)


def _bind(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: _bind(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_bind(v, values) for v in node]
    if isinstance(node, str):
        whole = _PLACEHOLDER.fullmatch(node)
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), node)
    return node
