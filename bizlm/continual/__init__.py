"""Continual learning: ``bizlm update`` adds new data and labels to a bundle without forgetting."""
