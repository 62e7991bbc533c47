"""The one catalogue of user-facing text: Chinese by default, English on request.

Entries live in ``toolkit/text/*.yaml`` (one file per area, one catalogue):
each key maps to ``{zh: ..., en: ...}`` with ``str.format`` fields.
"""

from __future__ import annotations

import functools
from pathlib import Path

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
TEXT_DIR = Path(__file__).with_name("text")


@functools.cache
def entries() -> dict[str, dict[str, str]]:
    """Every catalogue entry, keyed by message key; duplicate keys are a bug. Parsed
    once for the files as they are (``toolkit.parsed``)."""
    from toolkit.parsed import parsed, parser

    files = {path.name: path.read_bytes() for path in sorted(TEXT_DIR.glob("*.yaml"))}
    sources = [name.encode() + b"\0" + raw for name, raw in files.items()]
    return parsed("catalogue", sources, lambda: _merged(files), parser("yaml", __file__))


def _merged(files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    """The entries of the catalogue's files ({name: bytes}, in order), checked."""
    import yaml

    from toolkit.parsed import text_of

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: every command starts faster
    merged: dict[str, dict[str, str]] = {}
    for name, raw in files.items():
        data = yaml.load(text_of(raw), Loader=loader) or {}  # noqa: S506
        for key, texts in data.items():
            if key in merged:
                raise KeyError(f"catalogue key {key!r} defined twice ({name})")
            missing = [lang for lang in LANGS if lang not in texts]
            if missing:
                raise KeyError(f"catalogue key {key!r} lacks {missing} ({name})")
            merged[key] = texts
    return merged


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    return lang


def texts(key: str) -> set[str]:
    """``key``'s text in every language: what a label read back from a workbook may be."""
    return {entries()[key][lang] for lang in LANGS}


def t(key: str, lang: str = DEFAULT_LANG, **fields) -> str:
    """The text for ``key`` in ``lang``, with ``fields`` filled in."""
    template = entries()[key][check_lang(lang)]
    return template.format(**fields) if fields else template
