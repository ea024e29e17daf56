"""Telegram: the Bot API live adapter (webhook and long polling) and the history import."""
