"""The support application."""
