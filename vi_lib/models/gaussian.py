"""gaussian model (being written)."""

__all__ = []
