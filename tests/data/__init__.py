"""chainrule.data (chainrule.utils.data): datasets, loaders and file readers."""
