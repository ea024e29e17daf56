"""The settings the ``qunyun`` command runs with (configured through the environment)."""

from .base import *  # noqa: F401,F403
