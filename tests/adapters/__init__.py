"""Client adapters for the conformance kit that the project's own tables use (not public API)."""
