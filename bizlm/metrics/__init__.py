"""Metrics of every task: classification, calibration, multi-label, entities, scores and ranking.

Pure functions of predictions and gold values; tasks and evaluation both use them.
"""
