"""The bus: stores events, runs handlers, and carries decisions out through the outbox."""
