"""The base of every config model: an unknown key is an error, a number is finite and a
loaded value is frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section or table: ``extra="forbid"`` turns a typo into an error; TOML's
    ``inf`` and ``nan`` are refused (a duration or limit must be a finite number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


__all__ = ["StrictModel"]
