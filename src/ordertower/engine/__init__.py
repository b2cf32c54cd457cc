"""The engine: workers claim ready plan items, run them, and record the outcome."""
