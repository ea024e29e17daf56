"""QQ groups through OneBot v11 (NapCat, Lagrange…): forward/reverse WebSocket and HTTP POST."""
