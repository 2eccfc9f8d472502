"""User settings: ``.codeintel/config.toml`` in the repository, overridden by command-line flags.

    [index]
    max_file_size = "1M"     # bytes, or with a K/M/G suffix
    max_commits = 2000       # history walked per run (0 = all)
    since = "2 years ago"    # passed to git log --since
    history = true

    [merge]
    threshold = 0.9          # how sure the merge model must be to resolve a conflict

    [completion]
    backend = "builtin"      # builtin | hf (model_path = a local checkpoint) | http (url, model, api_key_env)
    max_new_tokens = 48
    n = 3
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from indexer.files import DEFAULT_MAX_FILE_SIZE


class ConfigError(ValueError):
    pass


def parse_size(value: object) -> int:
    """``1048576``, ``"512K"``, ``"2M"``, ``"1G"`` -> bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        number = text[:-1] if text[-1:] in "KMG" and text else text
        try:
            size = int(float(number) * mult)
        except ValueError:
            raise ConfigError(f"not a size: {value!r} (use bytes or a K/M/G suffix)") from None
    if size <= 0:
        raise ConfigError(f"a size must be positive: {value!r}")
    return size


def _read_config(root: Path) -> tuple[Path, dict]:
    """The parsed .codeintel/config.toml of ``root`` ({} when there is none)."""
    path = root / ".codeintel" / "config.toml"
    if not path.is_file():
        return path, {}
    try:
        return path, tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


@dataclass
class IndexSettings:
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_commits: Optional[int] = 2000
    since: Optional[str] = None
    history: bool = True


def load_index_settings(root: Path) -> IndexSettings:
    settings = IndexSettings()
    path, data = _read_config(root)
    section = data.get("index", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [index] must be a table")
    if "max_file_size" in section:
        settings.max_file_size = parse_size(section["max_file_size"])
    if "max_commits" in section:
        try:
            settings.max_commits = int(section["max_commits"]) or None
        except (TypeError, ValueError):
            raise ConfigError(f"{path}: max_commits must be a whole number") from None
    if "since" in section:
        settings.since = str(section["since"])
    if "history" in section:
        settings.history = bool(section["history"])
    return settings


def load_merge_threshold(root: Path) -> Optional[float]:
    """``[merge] threshold`` from .codeintel/config.toml (0 to 1), or None when not set."""
    path, data = _read_config(root)
    value = data.get("merge", {}).get("threshold") if isinstance(data.get("merge"), dict) else None
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: [merge] threshold must be a number from 0 to 1") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{path}: [merge] threshold must be a number from 0 to 1")
    return value


COMPLETION_BACKENDS = ("builtin", "hf", "http")


@dataclass
class CompletionSettings:
    """``[completion]`` of .codeintel/config.toml (the language server overrides these from
    its workspace configuration ``codeintel.completion``; camelCase keys are accepted)."""
    backend: str = "builtin"          # builtin | hf | http
    model_path: Optional[str] = None  # hf: a local Hugging Face causal-LM checkpoint directory
    url: Optional[str] = None         # http: an OpenAI-compatible server (…/v1 or …/v1/completions)
    model: Optional[str] = None       # http: the model name sent to it
    api_key_env: Optional[str] = None  # http: the environment variable holding the API key
    max_new_tokens: int = 48
    n: int = 3
    timeout: float = 10.0             # http: seconds per request

    def updated(self, values: dict) -> "CompletionSettings":
        """A copy with ``values`` applied (snake_case or camelCase keys); ConfigError on bad ones."""
        import dataclasses
        import re

        out = dataclasses.replace(self)
        names = {f.name: f for f in dataclasses.fields(self)}
        for key, value in values.items():
            name = re.sub(r"(?<!^)(?=[A-Z])", "_", str(key)).lower()
            if name not in names:
                raise ConfigError(f"[completion] has no setting {key!r} (one of {', '.join(names)})")
            if value is None:
                setattr(out, name, None if names[name].default is None else names[name].default)
                continue
            if name in ("max_new_tokens", "n"):
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise ConfigError(f"[completion] {key} must be a whole number") from None
                if value < 1:
                    raise ConfigError(f"[completion] {key} must be at least 1")
            elif name == "timeout":
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    raise ConfigError(f"[completion] {key} must be a number of seconds") from None
            else:
                value = str(value)
            setattr(out, name, value)
        if out.backend not in COMPLETION_BACKENDS:
            raise ConfigError(f"[completion] backend must be one of {', '.join(COMPLETION_BACKENDS)}, "
                              f"not {out.backend!r}")
        return out


def load_completion_settings(root: Path) -> CompletionSettings:
    path, data = _read_config(root)
    section = data.get("completion", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [completion] must be a table")
    try:
        return CompletionSettings().updated(section)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
