"""Shared fixtures would go here; the helpers live in tests/helpers.py (on pythonpath)."""
