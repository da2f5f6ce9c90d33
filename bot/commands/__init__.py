"""The command tree as data, the text parser generated from it, help, and dispatch."""
