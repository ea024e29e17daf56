"""Figures and alerts are checked in English unless a test asks for another language."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield
