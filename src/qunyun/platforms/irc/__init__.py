"""IRC: history import from channel logs (irssi, ZNC, WeeChat, mIRC/HexChat, irclogs styles)."""
