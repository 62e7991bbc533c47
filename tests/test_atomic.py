"""Outputs are written atomically, and readable by whoever may read new files here."""

from __future__ import annotations

import os
import stat

import pytest

from toolkit.atomic import atomic_path, write_bytes, write_text


def test_a_written_file_has_the_permissions_of_any_new_file(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_text(tmp_path / "汇总表.txt", "ok")
        plain = tmp_path / "plain.txt"
        plain.write_text("ok")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o644


def test_a_failure_keeps_the_last_good_file_and_leaves_no_part_behind(tmp_path):
    dest = write_text(tmp_path / "out.xlsx", "last good")
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer failed")
    assert dest.read_text() == "last good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]


def test_a_copy_that_need_not_be_durable_is_still_atomic_and_readable(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_bytes(tmp_path / "copy.xlsx", b"received", durable=False)
    finally:
        os.umask(old)
    assert path.read_bytes() == b"received"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.xlsx"]
