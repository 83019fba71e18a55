"""The ``bizlm app`` command groups: one module per application."""
