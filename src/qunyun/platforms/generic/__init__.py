"""Generic signed HTTP events: qunyun's own JSON event shape, HMAC-signed, for any platform."""
