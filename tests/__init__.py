"""chainrule's tests; the folders mirror src/chainrule (docs/architecture.md)."""
