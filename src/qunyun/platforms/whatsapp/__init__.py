"""WhatsApp: history import from the "Export chat" text file (or its zip)."""
