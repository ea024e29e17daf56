"""The pure domain core: events, decisions, ids and time.

Nothing in this package imports Django or a platform SDK, so every rule built on it can be
tested with plain data.
"""
