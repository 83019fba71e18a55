"""The base of every method's recipe options (``method:``), kept outside ``bizlm.methods`` so
that option classes can be imported without importing, and registering, every method."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MethodConfig(BaseModel):
    """Options shared by every method; each method subclasses this with its own fields."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = Field("full", description="Adaptation method.")
