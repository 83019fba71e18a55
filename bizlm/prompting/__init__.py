"""Prompt learning: zero-shot (label descriptions, prompted language model) and few-shot
(contrastive sentence-encoder tuning) classifiers that are ordinary bizlm bundles."""
