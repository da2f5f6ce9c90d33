"""Bulk-seeds one co-op at a fraction of the goal size (10k members, 100k decisions, 1M entries)."""
