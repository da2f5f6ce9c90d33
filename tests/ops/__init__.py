"""Operator-facing behaviour: CLI errors, check, backups, supervision, health."""
