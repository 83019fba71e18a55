"""Schemas of the recipe's optional sections (regularise, track, tune, continual).

They sit under the recipe and import nothing above the base layer, so the recipe can be read
without importing training or continual learning.
"""
