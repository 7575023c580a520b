"""coin model (being written)."""

__all__ = []
