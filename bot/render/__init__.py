"""Platform-neutral reply documents and their plain-text rendering."""
