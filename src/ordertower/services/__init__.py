"""Use cases: one module per use case, each a function over a unit of work."""
