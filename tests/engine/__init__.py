"""Regression tests for defects of the engine before its redesign (commit 98c1db4)."""
