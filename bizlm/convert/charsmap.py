"""Compile text rewrite rules into SentencePiece's precompiled charsmap.

The ``tokenizers`` ``Precompiled`` normaliser reads this binary form: a u32 byte length, a
double-array trie over the UTF-8 bytes of each source string (32-bit units, darts-clone
layout), then the replacement strings, each ending in a NUL byte; a trie value is the offset
of its replacement.

Unit layout: bits 0-7 label, bit 8 "has a value", bits 10-31 offset (bit 9 would scale it by
256; never needed here). From the unit at position ``p`` the children lie at
``p ^ offset ^ byte``, and a value sits at ``p ^ offset`` with bit 31 set. The array fills
whole 256-unit blocks, since readers look up ``p ^ offset ^ byte`` without a bounds check.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field

_MAX_OFFSET = 1 << 21
_LEAF = 1 << 31
_HAS_LEAF = 1 << 8


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    value: int | None = None


def build_charsmap(rules: dict[str, str]) -> bytes:
    """Return the precompiled charsmap that rewrites each key of ``rules`` to its value."""
    replacements = bytearray()
    starts: dict[str, int] = {}
    root = _Node()
    for source, target in sorted(rules.items()):
        if not source or "\0" in source or "\0" in target:
            raise ValueError(f"cannot compile the rule {source!r} -> {target!r}")
        if target not in starts:
            starts[target] = len(replacements)
            replacements += target.encode("utf-8") + b"\0"
        node = root
        for byte in source.encode("utf-8"):
            node = node.children.setdefault(byte, _Node())
        node.value = starts[target]
    units = _double_array(root)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(replacements)


def _double_array(root: _Node) -> list[int]:
    """Place every node's children block at a free, unshared base (breadth first)."""
    units = [0]
    used = [True]
    bases: set[int] = set()
    first_free = 1
    queue: deque[tuple[_Node, int]] = deque([(root, 0)])
    while queue:
        node, position = queue.popleft()
        labels = ([0] if node.value is not None else []) + sorted(node.children)
        while first_free < len(used) and used[first_free]:
            first_free += 1
        base = _free_base(labels, used, bases, first_free)
        top = max(base ^ label for label in labels)
        if top >= len(used):
            used.extend([False] * (top + 1 - len(used)))
            units.extend([0] * (top + 1 - len(units)))
        offset = position ^ base
        if offset >= _MAX_OFFSET:
            raise ValueError("charsmap too large for a 21-bit trie offset")
        units[position] |= offset << 10 | (_HAS_LEAF if node.value is not None else 0)
        bases.add(base)
        for label in labels:
            used[base ^ label] = True
        if node.value is not None:
            units[base] = node.value | _LEAF
        for label, child in node.children.items():
            units[base ^ label] = label
            queue.append((child, base ^ label))
    return units + [0] * (-len(units) % 256)


def _free_base(labels: list[int], used: list[bool], bases: set[int], start: int) -> int:
    candidate = start
    while True:
        if candidate >= len(used) or not used[candidate]:
            base = candidate ^ labels[0]
            if base not in bases and all(
                base ^ label >= len(used) or not used[base ^ label] for label in labels
            ):
                return base
        candidate += 1
