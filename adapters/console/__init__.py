"""The console adapter: the bot on stdin/stdout, for trying it out and for scripts."""
