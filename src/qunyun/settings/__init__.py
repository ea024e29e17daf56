"""Django settings for qunyun.

``qunyun.settings.default`` is what the ``qunyun`` command uses; ``qunyun.settings.test`` is
for the test suite. Every setting a user may change is read from the environment in
:mod:`qunyun.settings.env` and documented there.
"""
