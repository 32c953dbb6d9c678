"""Per-path routes, plain HTTP on the WebSocket port, url_for(scheme=)."""
