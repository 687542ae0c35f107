"""Strict reading of config.yml sections into frozen dataclasses: unknown keys and wrong types are refused
with the key's path (`web.port must be a whole number, not 'abc'`)."""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting and why."""


TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def coerce(value: Any, hint: Any, where: str, base: Path, from_env: bool = False) -> Any:
    """A YAML value (or, from_env, an environment string) as the field's type; ConfigError names `where`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, __import__("types").UnionType) and type(None) in args:
        if value is None or (from_env and value == ""):
            return None
        (hint,) = [a for a in args if a is not type(None)]
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        items = value.split(",") if from_env and isinstance(value, str) else value  # env: comma-separated
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"{where} must be a list, not {value!r}")
        return tuple(coerce(v.strip() if isinstance(v, str) else v, args[0], f"{where}[{i}]", base, from_env)
                     for i, v in enumerate(items) if not (isinstance(v, str) and not v.strip()))
    if hint is bool:
        if isinstance(value, bool):
            return value
        if from_env and str(value).strip().lower() in TRUE + FALSE:
            return str(value).strip().lower() in TRUE
        raise ConfigError(f"{where} must be true or false, not {value!r}")
    if hint in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be a number, not {value!r}")
        if isinstance(value, (int, float)) and (hint is float or isinstance(value, int)):
            return hint(value)
        if from_env or isinstance(value, str):
            try:
                return hint(str(value).strip())
            except ValueError:
                pass
        raise ConfigError(f"{where} must be {'a whole number' if hint is int else 'a number'}, not {value!r}")
    if hint is Path:
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            raise ConfigError(f"{where} must be a path, not {value!r}")
        p = Path(value)
        return p if p.is_absolute() else base / p
    if hint is str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f"{where} must be text, not {value!r}")
        return str(value)
    raise ConfigError(f"{where}: unsupported setting type {hint!r}")  # a programming error, named anyway


def section(cls: type[T], raw: Any, path: str, base: Path, env: Mapping[str, str],
            env_names: Mapping[str, str] = {}, secrets: Mapping[str, str] = {},
            custom: Mapping[str, Any] = {}) -> T:
    """Build `cls` from the mapping `raw` (config.yml's `path:` section).

    env_names: field -> environment variable that overrides it; secrets: field -> the only environment
    variable it is read from (the file may not hold it); custom: fields already built by the caller.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path} must be a mapping of settings, not {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in raw:
        name = f"{path}.{key}" if path else str(key)
        if key in secrets:
            raise ConfigError(f"{name} is a secret: set it in the environment ({secrets[key]}), not in the file")
        if key not in fields or key in custom:
            known = [k for k in fields if k not in secrets and k not in custom]
            raise ConfigError(f"unknown setting {name} (known: {', '.join(known)})")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = dict(custom)
    for name in fields:
        if name in custom:
            continue
        where = f"{path}.{name}" if path else name
        variable = secrets.get(name) or env_names.get(name)
        if variable and env.get(variable) not in (None, ""):
            values[name] = coerce(env[variable], hints[name], f"{variable} ({where})", base, from_env=True)
        elif name in raw and name not in secrets:
            values[name] = coerce(raw[name], hints[name], where, base)
    return cls(**values)


def one_of(value: str, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise ConfigError(f"{where} must be {' or '.join(repr(a) for a in allowed)}, not {value!r}")
