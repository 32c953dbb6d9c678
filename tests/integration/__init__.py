"""Integration tests: real WebSocket clients against the mock server over loopback."""
