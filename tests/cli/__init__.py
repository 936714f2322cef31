"""The command line and its run folders (including hostile run folders)."""
