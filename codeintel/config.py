"""Settings: the user's ``config.toml`` (``trust.user_config_path()``, e.g.
``~/.config/codeintel/config.toml``), then the repository's ``.codeintel/config.toml``, then
command-line flags, each overriding the one before, in the sections below.

A repository is untrusted data (``codeintel.trust``): unless the user trusts it, its file may
not choose where code is sent or what loads (``[completion]`` ``backend``, ``model_path``, ``url``,
``model``, ``api_key_env``) nor make merges more eager (its ``[merge] threshold`` can only raise
the threshold). What it set there is ignored and named in ``ignored`` for the front ends to say.

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

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from indexer.files import DEFAULT_MAX_FILE_SIZE

from . import trust

# what only the user (or a trusted repository) decides: where code goes, what code or weights load
TRUSTED_COMPLETION_SETTINGS = ("backend", "model_path", "url", "model", "api_key_env")


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


def _read_config(root: Optional[Path]) -> tuple[Path, dict]:
    """The parsed .codeintel/config.toml of ``root`` (``root`` None: the user's own file); {}
    when there is none."""
    path = trust.user_config_path() if root is None else root / ".codeintel" / "config.toml"
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
    for source in (None, root):
        _apply_index_section(settings, *_read_config(source))
    return settings


def _apply_index_section(settings: IndexSettings, path: Path, data: dict) -> None:
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


@dataclass
class MergeThresholdSetting:
    """``[merge] threshold`` of ``root``: ``chosen`` by the user or a trusted repository (None:
    the model's own applies); ``at_least``, an untrusted repository's value, which may only make
    merges stricter."""
    root: Optional[Path] = None
    chosen: Optional[float] = None
    at_least: Optional[float] = None

    def resolve(self, default: float) -> float:
        """The threshold to use; ``default`` (the model's) when nobody chose one."""
        value = self.chosen if self.chosen is not None else default
        return max(value, self.at_least) if self.at_least is not None else value

    def ignored(self, default: float) -> Optional[str]:
        """The line to say when an untrusted repository asked for a lower threshold, else None."""
        value = self.chosen if self.chosen is not None else default
        if self.at_least is None or self.at_least >= value:
            return None
        return trust.untrusted_note(self.root, [f"[merge] threshold = {self.at_least:g}"])


def load_merge_threshold(root: Optional[Path]) -> MergeThresholdSetting:
    """``[merge] threshold`` (0 to 1) from the user's file, then the repository's (trusted: it
    overrides; untrusted: only ever toward stricter)."""
    setting = MergeThresholdSetting(root=root)
    setting.chosen = _merge_threshold_in(*_read_config(None))
    if root is not None:
        value = _merge_threshold_in(*_read_config(root))
        if value is not None and trust.is_trusted(root):
            setting.chosen = value
        elif value is not None:
            setting.at_least = value
    return setting


def _merge_threshold_in(path: Path, data: dict) -> Optional[float]:
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
    ignored: Optional[str] = field(default=None, compare=False)  # what an untrusted repository set, said

    def updated(self, values: dict) -> "CompletionSettings":
        """A copy with ``values`` applied (snake_case or camelCase keys); ConfigError on bad ones."""
        import dataclasses

        out = dataclasses.replace(self)
        names = {f.name: f for f in dataclasses.fields(self) if f.name != "ignored"}
        for key, value in values.items():
            name = setting_name(key)
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


def setting_name(key: object) -> str:
    """``apiKeyEnv`` or ``api_key_env`` -> ``api_key_env``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", str(key)).lower()


def load_completion_settings(root: Optional[Path]) -> CompletionSettings:
    """``[completion]`` of the user's file, then of the repository's: all of it when the user
    trusts the repository, else only what cannot send code away or load any (the rest is
    named in ``ignored``)."""
    settings = CompletionSettings()
    for source in (None, root) if root is not None else (None,):
        path, data = _read_config(source)
        section = data.get("completion", {})
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [completion] must be a table")
        if source is not None and section and not trust.is_trusted(source):
            kept = {k: v for k, v in section.items() if setting_name(k) not in TRUSTED_COMPLETION_SETTINGS}
            dropped = [f"[completion] {k}" for k in section if k not in kept]
            section = kept
            if dropped:
                settings.ignored = trust.untrusted_note(source, dropped)
        try:
            settings = settings.updated(section)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return settings


def repository_trust(root: Path) -> dict:
    """Whether ``root`` is trusted, by what, and what of its settings is ignored for want of trust
    (for ``codeintel models``, ``codeintel trust`` and the report)."""
    from .models.registry import active_model

    ignored = []
    try:
        completion = load_completion_settings(root)
        if completion.ignored:
            ignored.append(completion.ignored)
        merge_model = active_model("merge", root)
        merge_note = load_merge_threshold(root).ignored(
            float(merge_model.config.get("threshold", 0.9)) if merge_model else 0.9)
        if merge_note:
            ignored.append(merge_note)
    except ConfigError as exc:
        ignored.append(str(exc))
    by = trust.trusted_by(root)
    return {"root": str(Path(root).resolve()), "trusted": trust.is_trusted(root),
            "trusted_by": str(by) if by else None, "ignored": ignored}
