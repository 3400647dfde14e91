import decimal
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package from this checkout, installed or not

VECTORS = os.path.join(HERE, "vectors", "go.json")


def load_vectors():
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)


class Clock:
    """A settable clock in Unix milliseconds, exact (no float rounding)."""

    def __init__(self, ms):
        self.ms = ms

    def __call__(self):
        return decimal.Decimal(self.ms) / 1000

    def advance(self, seconds):
        self.ms += int(seconds * 1000)


@pytest.fixture
def clock():
    return Clock(1795600800000)  # 2026-11-25 10:00:00 UTC


# COOKIESEAL_REQUIRE_PYTHON=1 (as .ci/run sets): nothing may skip. A test or
# a module that skips (a missing framework, redis-server, ...) fails instead,
# with the skip's reason, whichever helper decided to skip.
REQUIRE_PYTHON = os.environ.get("COOKIESEAL_REQUIRE_PYTHON") == "1"


def _no_skip(report, what):
    if REQUIRE_PYTHON and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = "%s skipped under COOKIESEAL_REQUIRE_PYTHON=1: %s" % (what, reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _no_skip(outcome.get_result(), item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _no_skip(outcome.get_result(), collector.nodeid)

