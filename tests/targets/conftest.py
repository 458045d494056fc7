"""Fixtures: the hand-checked synthetic town of _town.py."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("cimtwin_test_town", Path(__file__).with_name("_town.py"))
_town = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_town)


@pytest.fixture(scope="session")
def hand_model():
    return _town.build_town()
