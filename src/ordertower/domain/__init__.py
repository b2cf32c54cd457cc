"""The pure domain: catalog model, orders, decomposition, planning, life cycles.

Nothing in this package performs I/O or imports a web or database framework.
"""
