"""The base of every config model: an unknown key is an error and a loaded value is frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section or table: ``extra="forbid"`` turns a typo into an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


__all__ = ["StrictModel"]
