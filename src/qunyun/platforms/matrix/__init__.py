"""Matrix: the live bot (client-server API through matrix-nio)."""
