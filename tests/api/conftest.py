"""Fixtures of the API tests."""

import pytest

from tests.builders import a_project


@pytest.fixture
def token(db):
    return a_project("dispatch", "Dispatch")[1]
