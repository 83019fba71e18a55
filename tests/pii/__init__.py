"""Tests of personal-data masking."""
