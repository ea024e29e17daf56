"""WeChat: history import from the CSV that common WeChat export tools write."""
