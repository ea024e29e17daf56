"""Discord: history import from DiscordChatExporter JSON."""
