"""ordertower: open order management and orchestration (TMF622)."""

__version__ = "0.1.0"
