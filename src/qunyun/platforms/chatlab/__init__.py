"""ChatLab: history import from the ChatLab standard format (JSON and JSONL)."""
