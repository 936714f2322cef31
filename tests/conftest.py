"""Shared fixtures would go here; the helpers live in the tests.support package."""
