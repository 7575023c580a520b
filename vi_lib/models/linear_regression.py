"""linear_regression model (being written)."""

__all__ = []
