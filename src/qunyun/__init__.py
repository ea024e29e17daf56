"""qunyun (群运): community operations for chat groups."""

__version__ = "0.1.0"
