"""Every test, and every command a test runs, keeps its parses in a folder of this run
(``toolkit.parsed``), never in the user's own cache folder."""

from __future__ import annotations

import os
import tempfile

from toolkit.parsed import ENV_CACHE

_FOLDER = tempfile.TemporaryDirectory(prefix="toolkit-parsed-")


def pytest_configure(config):
    os.environ[ENV_CACHE] = _FOLDER.name


def pytest_unconfigure(config):
    _FOLDER.cleanup()
