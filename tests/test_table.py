"""Tables printed to a terminal line up whatever mix of Chinese and ASCII they hold."""

from __future__ import annotations

import unicodedata

import pytest

from toolkit.cli.table import USUAL_WIDE, clip, render, width


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@pytest.mark.parametrize("text", [
    "", "653101", "喀什市", "（重复）与第 12 号文件相同：疏附县_2024H1_返回.xlsx",
    "１２３ＡＢＣ", "Ünïcödé 和中文", "한국어 mixed", "emoji 🙂 表", "…—“”", "　全角空格",
])
def test_a_cell_is_as_wide_as_a_terminal_shows_it(text):
    assert width(text) == columns(text)


def test_the_characters_counted_wide_without_a_lookup_are_all_wide():
    for low, high in USUAL_WIDE:
        assert all(unicodedata.east_asian_width(chr(c)) in "WF" for c in range(low, high + 1))


def test_columns_line_up_after_chinese_cells():
    lines = render(["单位", "状态", "文件"],
                   [["喀什市", "已收到", "a.xlsx"], ["Kashgar City", "received", "b.xlsx"]])
    starts = {columns(line[:line.index(".xlsx") - 1]) for line in lines.splitlines()[2:]}
    assert len(starts) == 1


def test_a_clipped_cell_fits_its_limit():
    cell = clip("（重复）与第 12 号文件相同：疏附县_2024H1_返回.xlsx", 20)
    assert cell.endswith("…") and columns(cell) <= 20
