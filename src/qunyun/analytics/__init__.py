"""Analytics: metric definitions, rollups, selectors and reports."""
