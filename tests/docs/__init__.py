"""What the README, docs/ and examples/ claim, run as written."""
