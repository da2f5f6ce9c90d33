"""Use cases: co-ops, members, decisions, tasks, contributions, summaries, exports."""
