"""Connections: the bot's sessions on chat platforms (one per community and platform)."""
