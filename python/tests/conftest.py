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
