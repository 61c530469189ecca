"""Every config model is strict through one base, and one function spells a TOML key."""

from __future__ import annotations

import tomllib
from typing import Any, get_args

import pytest
from pydantic import BaseModel, ValidationError

from funnelsync.config.base import StrictModel
from funnelsync.config.identity import IdentityConfig
from funnelsync.config.models import AppConfig
from funnelsync.config.toml_text import toml_key


def nested_models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """``model`` and every pydantic model its fields hold, at any depth."""
    seen.add(model)
    for info in model.model_fields.values():
        for inner in _types_in(info.annotation):
            if issubclass(inner, BaseModel) and inner not in seen:
                nested_models(inner, seen)
    return seen


def _types_in(annotation: Any) -> list[type]:
    if isinstance(annotation, type):
        return [annotation]
    return [t for arg in get_args(annotation) for t in _types_in(arg)]


def test_every_config_model_derives_from_the_strict_base() -> None:
    models = nested_models(AppConfig, set())
    assert len(models) >= 20
    assert [m.__name__ for m in models if not issubclass(m, StrictModel)] == []


def test_an_unknown_key_is_an_error_and_values_are_frozen() -> None:
    with pytest.raises(ValidationError, match="extra_forbidden|Extra inputs"):
        IdentityConfig(enabeld=False)  # type: ignore[call-arg]
    config = IdentityConfig()
    with pytest.raises(ValidationError, match="frozen"):
        config.enabled = False  # type: ignore[misc]


@pytest.mark.parametrize(("key", "written"), [
    ("lead_status", "lead_status"),
    ("default-2", "default-2"),
    ("Closed Won", '"Closed Won"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("C:\\path", '"C:\\\\path"'),
    ("Qualifié", '"Qualifié"'),
    ("", '""'),
])
def test_toml_key_is_bare_when_it_can_be_else_a_quoted_string(key: str, written: str) -> None:
    assert toml_key(key) == written
    assert tomllib.loads(f"{written} = 1") == {key: 1}
