"""Runnable examples of the medallion library."""
