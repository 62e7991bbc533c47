"""Plain-text tables that line up Chinese text (two columns per wide character)."""

from __future__ import annotations

import re
import unicodedata

# wide characters all: CJK punctuation, the unified ideographs, fullwidth forms
USUAL_WIDE = ((0x3000, 0x303E), (0x4E00, 0x9FFF), (0xFF01, 0xFF60), (0xFFE0, 0xFFE6))
_USUAL_WIDE = re.compile("[%s]+" % "".join(f"{chr(a)}-{chr(b)}" for a, b in USUAL_WIDE))


def width(text: str) -> int:
    if text.isascii():  # most cells: no wide character to look up
        return len(text)
    narrow = _USUAL_WIDE.sub("", text)
    if narrow.isascii():  # Chinese and ASCII only: no character to look up either
        return 2 * len(text) - len(narrow)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clip(text: str, limit: int) -> str:
    if width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        w = width(ch)
        if used + w > limit - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def render(headers, rows, limits=None) -> str:
    """Rows of cells as aligned text; ``limits`` caps a column's width (in columns)."""
    limits = limits or {}
    rows = [[clip(c, limits[i]) if i in limits else c
             for i, c in enumerate("" if c is None else str(c) for c in row)] for row in rows]
    lines = [[(str(h), width(str(h))) for h in headers]]
    lines += [[(c, width(c)) for c in row] for row in rows]  # each cell measured once
    widths = [max(line[i][1] for line in lines) for i in range(len(headers))]

    def line(cells):
        return "  ".join(c + " " * (widths[i] - w) for i, (c, w) in enumerate(cells)).rstrip()

    out = [line(lines[0]), "  ".join("-" * w for w in widths)]
    out.extend(line(cells) for cells in lines[1:])
    return "\n".join(out)
