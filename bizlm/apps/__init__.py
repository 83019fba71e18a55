"""Ready business applications built on bizlm's public API: support desk, risk monitor, recommender.

Each lives in its own package (``support``, ``risk``, ``recommend``) with a ``commands.py`` that
holds its ``bizlm app NAME`` sub-commands.
"""
