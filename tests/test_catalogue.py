"""The one catalogue of user-facing text: complete in both languages, and every key used exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

import toolkit
from toolkit.catalogue import LANGS, entries, t
from toolkit.model import AGGREGATIONS, DIRECTIONS, KINDS, SCOPE_WORDS

SOURCE = Path(toolkit.__file__).resolve().parent
# t("key", ...) or t('key', ...) with a literal key (f-strings are checked by family below)
_T_CALL = re.compile(r"""(?<![\w.])t\(\s*(["'])([A-Za-z0-9_.]+)\1""")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def used_keys() -> dict[str, str]:
    found = {}
    for path in sorted(SOURCE.rglob("*.py")):
        for match in _T_CALL.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match[2], str(path.relative_to(SOURCE)))
    return found


def test_every_key_has_zh_and_en():
    for key, texts in entries().items():
        for lang in LANGS:
            assert isinstance(texts.get(lang), str) and texts[lang].strip(), (key, lang)


def test_the_scan_finds_keys():
    keys = used_keys()
    assert "cli.init.done" in keys
    assert "tasklist.err.unreadable" in keys


def test_every_literal_key_in_the_source_exists():
    missing = {key: where for key, where in used_keys().items() if key not in entries()}
    assert not missing


def test_format_fields_agree_between_languages():
    differing = {key: (fields(texts["zh"]), fields(texts["en"]))
                 for key, texts in entries().items()
                 if fields(texts["zh"]) != fields(texts["en"])}
    assert not differing


@pytest.mark.parametrize("family, codes", [
    ("tasklist.kind", KINDS), ("tasklist.direction", DIRECTIONS),
    ("tasklist.aggregation", AGGREGATIONS), ("tasklist.scope", SCOPE_WORDS),
])
def test_every_code_has_a_label(family, codes):
    for code in codes:
        assert f"{family}.{code}" in entries()


def test_labels_are_distinct_within_a_family():
    for family, codes in (("tasklist.kind", KINDS), ("tasklist.direction", DIRECTIONS),
                          ("tasklist.aggregation", AGGREGATIONS)):
        for lang in LANGS:
            labels = [t(f"{family}.{code}", lang) for code in codes]
            assert len(set(labels)) == len(labels)


def test_chinese_is_the_default_and_english_on_request():
    assert t("tasklist.sheet.main") == "重点任务清单"
    assert t("tasklist.sheet.main", "en") == "Task list"
    assert t("tasklist.col.target", year=2024) == "2024年目标"
    with pytest.raises(ValueError, match="zh, en"):
        t("tasklist.sheet.main", "fr")
