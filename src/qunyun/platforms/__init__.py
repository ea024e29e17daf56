"""Platforms: one package per chat platform (telegram/, discord/, slack/, whatsapp/, wechat/, irc/,
chatlab/, jsonl/, …).

Each package turns that platform's payloads into the normalized events of
:mod:`qunyun.core.events`: live adapters for the bot, and ``importer.py`` for history exports.
The shared import machinery (format registry, progress, skip reporting, strict mode, the
summary) lives in :mod:`.importing`, :mod:`.inputs` and :mod:`.runner`.
"""
