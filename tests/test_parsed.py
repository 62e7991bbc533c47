"""Parses kept between commands: an edited file is always read as it now is, and a kept
parse that is gone, broken or cannot be written changes nothing but the time taken."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from toolkit import catalogue
from toolkit.config import CONFIG_NAME, open_workspace
from toolkit.errors import ConfigError
from toolkit.parsed import ENV_CACHE, cache_folder, parsed

CONFIG = '''[periods]
"2024H1" = {{ deadline = 2024-07-{day} }}

[[units]]
code = "653101"
name = "{name}"
'''


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(ENV_CACHE, str(folder))
    return folder


def write_config(folder, name: str, day: str = "10"):
    path = folder / CONFIG_NAME
    path.write_text(CONFIG.format(name=name, day=day), encoding="utf-8")
    return path


def kashi(folder):
    workspace = open_workspace(folder)
    return workspace.tasklist.unit("653101").name, workspace.config.deadlines["2024H1"]


def test_the_next_command_reads_the_kept_parse_of_the_config(tmp_path, cache):
    write_config(tmp_path, "喀什")
    assert kashi(tmp_path) == ("喀什", dt.date(2024, 7, 10))
    kept, = cache.glob("config-*.json")
    # what the next command reads is the kept parse, not the file parsed again
    kept.write_text(kept.read_text(encoding="utf-8").replace("喀什", "读自缓存"),
                    encoding="utf-8")
    assert kashi(tmp_path) == ("读自缓存", dt.date(2024, 7, 10))


def test_an_edited_config_is_read_as_it_now_is_whatever_its_time_stamp(tmp_path, cache):
    path = write_config(tmp_path, "喀什", day="10")
    assert kashi(tmp_path) == ("喀什", dt.date(2024, 7, 10))
    stamp = path.stat()
    path = write_config(tmp_path, "疏附", day="15")  # as long, and dated as before
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert kashi(tmp_path) == ("疏附", dt.date(2024, 7, 15))
    assert len(list(cache.glob("config-*.json"))) == 1  # the older parse is gone


def test_two_workspaces_keep_a_parse_each(tmp_path, cache):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        write_config(tmp_path / name, f"单位{name}")
    for _ in range(2):
        assert [kashi(tmp_path / name)[0] for name in ("a", "b")] == ["单位a", "单位b"]
    assert len(list(cache.glob("config-*.json"))) == 2


def test_a_broken_config_is_refused_as_before_and_nothing_kept(tmp_path, cache):
    (tmp_path / CONFIG_NAME).write_text("[smtp\nhost = 1\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ConfigError, match="not valid TOML"):
            open_workspace(tmp_path)
    (tmp_path / CONFIG_NAME).write_bytes(b'[plan]\nlang = "\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        open_workspace(tmp_path)
    assert not list(cache.glob("*.json"))


def test_a_broken_or_missing_cache_changes_nothing(tmp_path, cache, monkeypatch):
    write_config(tmp_path, "喀什")
    kashi(tmp_path)
    kept, = cache.glob("config-*.json")
    kept.write_text('{"units": [', encoding="utf-8")  # cut short
    assert kashi(tmp_path) == ("喀什", dt.date(2024, 7, 10))
    assert json.loads(kept.read_text(encoding="utf-8"))["data"]["units"]  # written again, whole
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be", encoding="utf-8")
    monkeypatch.setenv(ENV_CACHE, str(blocked / "parsed"))
    assert kashi(tmp_path) == ("喀什", dt.date(2024, 7, 10))
    monkeypatch.setenv(ENV_CACHE, "")  # keep nothing
    assert cache_folder() is None and kashi(tmp_path) == ("喀什", dt.date(2024, 7, 10))


@pytest.mark.parametrize("data", [
    {"when": dt.datetime(2024, 7, 10, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
     "day": dt.date(2024, 7, 10), "at": dt.time(9, 30), "local": dt.datetime(2024, 7, 10)},
    {"whole": 1, "float": 1.0, "yes": True, "none": None, "list": [1, "二", [3.5]]},
    {"targets": {2024: 59, 2025: None}, "mixed": [{1: "一", "二": 2, None: 0.5}]},
])
def test_what_json_gives_back_exactly_is_kept_and_read_back_exactly(cache, data):
    calls = []
    for _ in range(2):
        back = parsed("sample", [b"same bytes"], lambda: calls.append(1) or data, b"p")
        assert back == data
        assert [type(v) for v in back.values()] == [type(v) for v in data.values()]
    assert len(calls) == 1


@pytest.mark.parametrize("data", [
    {"pair": (1, 2)},  # JSON gives a list back
    {"\0date": "2024-07-10"},  # and a date: the one table spelled as a date is
    {"\0pairs": [[2024, "年"]]},  # and a table: the one spelled as its pairs is
    {"nan": float("nan")},
])
def test_what_json_would_change_is_parsed_every_time(cache, data):
    calls = []
    for _ in range(2):
        parsed("sample", [b"same bytes"], lambda: calls.append(1) or data, b"p")
    assert len(calls) == 2 and not list(cache.glob("*.json"))


def test_other_bytes_or_another_parser_parse_again(cache):
    calls = []

    def parse():
        calls.append(1)
        return {"n": len(calls)}

    assert parsed("s", [b"a", b"b"], parse, b"v1") == {"n": 1}
    assert parsed("s", [b"a", b"b"], parse, b"v1") == {"n": 1}
    assert parsed("s", [b"ab"], parse, b"v1") == {"n": 2}  # the same bytes, cut elsewhere
    assert parsed("s", [b"ab"], parse, b"v2") == {"n": 3}


def test_the_catalogue_read_from_its_kept_parse_is_the_catalogue(cache):
    fresh = catalogue._merged({path.name: path.read_bytes()
                               for path in sorted(catalogue.TEXT_DIR.glob("*.yaml"))})
    catalogue.entries.cache_clear()
    try:
        assert catalogue.entries() == fresh  # parsed, and kept
        catalogue.entries.cache_clear()
        assert catalogue.entries() == fresh  # read back from what was kept
        assert len(list(cache.glob("catalogue-*.json"))) == 1
    finally:
        catalogue.entries.cache_clear()


def test_the_default_folder_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_CACHE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    assert cache_folder() == tmp_path / "urbanization-toolkit" / "parsed"


def test_an_edited_task_list_is_read_anew_and_its_problems_keep_their_lines(tmp_path, cache):
    from toolkit.errors import TaskListError
    from toolkit.tasklist import BUNDLED_TASKLIST, load_tasklist

    path = tmp_path / "tasklist.yaml"
    text = BUNDLED_TASKLIST.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    first = load_tasklist(path)
    assert load_tasklist(path) == first  # the second time from the kept parse
    assert len(list(cache.glob("tasklist-*.json"))) == 1
    path.write_text(text.replace(f'version: "{first.version}"', 'version: "edited"', 1),
                    encoding="utf-8")
    assert load_tasklist(path).version == "edited"
    lines = text.splitlines()
    second = lines.index('  - id: "2"', lines.index("actions:")) + 1
    lines[second - 1] = '  - id: "1"'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(TaskListError) as info:
        load_tasklist(path)
    assert [p.line for p in info.value.problems if "duplicate action" in p.message] == [second]


def test_a_kept_parse_that_reads_back_wrong_is_passed_over(tmp_path, cache):
    write_config(tmp_path, "喀什")
    kashi(tmp_path)
    kept, = cache.glob("config-*.json")
    for garbage in ("[" * 100_000 + "]" * 100_000, "[]", '{"key": "other", "data": {}}'):
        kept.write_text(garbage, encoding="utf-8")
        assert kashi(tmp_path) == ("喀什", dt.date(2024, 7, 10))


def test_a_config_with_old_mac_line_endings_is_read_as_before(tmp_path, cache):
    (tmp_path / CONFIG_NAME).write_bytes(CONFIG.format(name="喀什", day="10")
                                         .replace("\n", "\r").encode("utf-8"))
    assert kashi(tmp_path) == ("喀什", dt.date(2024, 7, 10))


ALIASES = """
junk:
  a: &a [x, x, x, x, x, x, x, x, x, x]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
"""


def test_a_task_list_whose_aliases_multiply_it_is_not_kept(tmp_path, cache, monkeypatch):
    from toolkit.tasklist import BUNDLED_TASKLIST, load_tasklist

    path = tmp_path / "tasklist.yaml"
    path.write_text(BUNDLED_TASKLIST.read_text(encoding="utf-8") + ALIASES, encoding="utf-8")
    kept = load_tasklist(path)
    assert not list(cache.glob("tasklist-*.json"))  # 100,000 values from six lines: not kept
    monkeypatch.setenv(ENV_CACHE, "")
    assert load_tasklist(path) == kept


def test_a_recursive_task_list_is_refused_with_or_without_a_cache(tmp_path, cache, monkeypatch):
    from toolkit.errors import TaskListError
    from toolkit.tasklist import BUNDLED_TASKLIST, load_tasklist

    path = tmp_path / "tasklist.yaml"
    text = BUNDLED_TASKLIST.read_text(encoding="utf-8")
    path.write_text(text.replace("plan:\n", "plan: &plan\n  self: *plan\n", 1), encoding="utf-8")
    messages = []
    for folder in (str(cache), ""):
        monkeypatch.setenv(ENV_CACHE, folder)
        with pytest.raises(TaskListError) as info:
            load_tasklist(path)
        messages.append([str(p) for p in info.value.problems])
    assert messages[0] == messages[1] and "recursive" in messages[0][0]


def test_a_task_list_named_like_the_catalogue_leaves_the_catalogue_kept(tmp_path, cache):
    from toolkit.tasklist import BUNDLED_TASKLIST, load_tasklist

    catalogue.entries.cache_clear()
    try:
        catalogue.entries()
        path = tmp_path / "catalogue.yaml"
        path.write_text(BUNDLED_TASKLIST.read_text(encoding="utf-8"), encoding="utf-8")
        load_tasklist(path)
        assert len(list(cache.glob("catalogue-*.json"))) == 1
        assert len(list(cache.glob("tasklist-*.json"))) == 1
    finally:
        catalogue.entries.cache_clear()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_in_place_of_a_kept_parse_is_passed_over_not_waited_on(tmp_path, cache):
    import subprocess
    import sys

    write_config(tmp_path, "喀什")
    kashi(tmp_path)
    kept, = cache.glob("config-*.json")
    kept.unlink()
    os.mkfifo(kept)  # nobody ever writes to it: reading it would wait for ever
    script = ("import sys; from toolkit.config import open_workspace; "
              "print(open_workspace(sys.argv[1]).tasklist.unit('653101').name)")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, encoding="utf-8", timeout=60,
                          env={**os.environ, ENV_CACHE: str(cache)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "喀什"
    assert kept.is_file()  # the parse is kept again, as a file


def test_a_kept_parse_far_bigger_than_its_files_is_not_read(tmp_path, cache):
    write_config(tmp_path, "喀什")
    kashi(tmp_path)
    kept, = cache.glob("config-*.json")
    text = kept.read_text(encoding="utf-8").replace("喀什", "读自缓存")
    kept.write_text(text + " " * 2_000_000, encoding="utf-8")  # still valid JSON
    assert kashi(tmp_path) == ("喀什", dt.date(2024, 7, 10))  # parsed again, not read
