"""The ``qunyun`` command."""
