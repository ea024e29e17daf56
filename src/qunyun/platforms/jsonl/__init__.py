"""qunyun JSONL: qunyun's own event format, for import and export."""
