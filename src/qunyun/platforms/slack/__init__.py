"""Slack: history import from workspace exports (zip or folder) and message-event streams."""
