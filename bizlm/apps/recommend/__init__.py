"""The recommend application."""
