"""Scripts, handlers and live control, driven by real clients."""
