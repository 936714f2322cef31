"""Hostile input: crafted files and fuzzers (harnesses in hostile/fuzz/)."""
