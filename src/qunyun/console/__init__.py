"""The web console: operators' pages. Reads through selectors, writes through services."""
