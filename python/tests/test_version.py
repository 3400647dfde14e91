"""The package's version is the Go release's (release/modules.txt)."""

import os
import re

import pytest

import cookieseal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_version_matches_go_release():
    path = os.path.join(ROOT, "release", "modules.txt")
    if not os.path.exists(path):
        pytest.skip("not in a cookieseal checkout (no release/modules.txt)")
    with open(path) as f:
        m = re.search(r"^version\s+v(\S+)\s*$", f.read(), re.M)
    assert m, "release/modules.txt has no version line"
    assert cookieseal.__version__ == m.group(1)
    with open(os.path.join(ROOT, "python", "pyproject.toml")) as f:
        assert re.search(r'^version = "%s"$' % re.escape(m.group(1)), f.read(), re.M), \
            "python/pyproject.toml's version differs from release/modules.txt's"
