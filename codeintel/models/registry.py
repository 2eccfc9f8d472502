"""Trained models on disk, and which one a feature uses.

A model directory holds ``model.safetensors`` (the weights), ``config.json`` (the builder's
config plus the feature's own fields), ``meta.json`` (the data card: corpora with versions,
sizes and split, train/val/test counts, metrics, date, codeintel version, seconds) and,
optionally, ``tokenizer.json``. Two places hold them:

- ``<repo>/.codeintel/models/<feature>/``: trained on this repository (``source="repository"``);
- ``codeintel/models/builtin/<feature>/``: defaults shipped in the package (``"built-in"``);
  the ``CODEINTEL_BUILTIN_MODELS`` environment variable points elsewhere (tests, packagers).

The repository's model wins over the built-in one, but only a model this user saved here
(``codeintel train``, remembered by ``trust.record_own_model``) or one in a repository the user
trusts (``codeintel trust``): a model that came with a clone must not decide what completion
suggests or how merges resolve. A directory that is incomplete, whose JSON cannot be read, or
that is not trusted is skipped with a reason (``ModelInfo.problem``), never an exception.
Listing models reads JSON and safetensors headers only: no torch import.
"""
from __future__ import annotations

import json
import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .. import trust
from ..store import STORE_DIR

FEATURES = ("completion", "completion-ranker", "sketch", "merge", "edits", "clones")
# what each feature does when no model is present (shown by `codeintel models`)
FALLBACKS = {
    "completion": "the ranked continuations of the matcher and the n-gram model",
    "completion-ranker": "the matcher's own order (longest match first)",
    "sketch": "the most similar function in the repository",
    "merge": "git's diff3 result, conflicts left to the user",
    "edits": "nearest-neighbour edit transfer from the history",
    "clones": "winnowing fingerprints and shared fragments",
}
WEIGHTS, CONFIG, META, TOKENIZER = "model.safetensors", "config.json", "meta.json", "tokenizer.json"
BUILTIN_ENV = "CODEINTEL_BUILTIN_MODELS"
REPOSITORY, BUILTIN = "repository", "built-in"


@dataclass
class ModelInfo:
    feature: str
    path: Path
    source: str                          # "repository" | "built-in"
    config: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    active: bool = False
    problem: Optional[str] = None        # why the directory was skipped (then it is never active)

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def size_bytes(self) -> int:
        try:
            return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
        except OSError:
            return 0

    @property
    def parameters(self) -> Optional[int]:
        value = self.meta.get("parameters", self.config.get("parameters"))
        return value if isinstance(value, int) else None

    @property
    def metrics(self) -> dict:
        metrics = self.meta.get("metrics")
        return metrics if isinstance(metrics, dict) else {}

    @property
    def tokenizer_path(self) -> Optional[Path]:
        path = self.path / TOKENIZER
        return path if path.is_file() else None

    def to_dict(self) -> dict:
        return {"feature": self.feature, "source": self.source, "path": str(self.path), "active": self.active,
                "problem": self.problem, "size_bytes": self.size_bytes if self.usable else None,
                "parameters": self.parameters, "metrics": self.metrics, "config": self.config, "meta": self.meta}


# ------------------------------------------------------------------------------- places
def builtin_root() -> Path:
    override = os.environ.get(BUILTIN_ENV)
    return Path(override) if override else Path(__file__).resolve().parent / "builtin"


def builtin_dir(feature: str) -> Path:
    return builtin_root() / feature


def repo_models_root(repo_root: os.PathLike | str) -> Path:
    return Path(repo_root) / STORE_DIR / "models"


def repo_model_dir(repo_root: os.PathLike | str, feature: str) -> Path:
    """Where a feature saves the model it trains on this repository."""
    return repo_models_root(repo_root) / feature


def find_repo_root(start: os.PathLike | str) -> Optional[Path]:
    """The nearest folder at or above ``start`` that has a ``.codeintel`` folder."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / STORE_DIR).is_dir():
            return folder
    return None


# ------------------------------------------------------------------------------- reading
def _read_json(path: Path) -> tuple[Optional[dict], Optional[str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"{path.name} is missing"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"{path.name} is unreadable ({type(exc).__name__}: {exc})"
    if not isinstance(data, dict):
        return None, f"{path.name} is not a JSON object"
    return data, None


def _check_safetensors(path: Path) -> Optional[str]:
    """Why ``path`` is not a complete safetensors file (header only; no torch), or None."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                return f"{path.name} is truncated"
            (length,) = struct.unpack("<Q", head)
            if length > min(size - 8, 100_000_000):
                return f"{path.name} is truncated or not safetensors"
            header = json.loads(handle.read(length))
    except FileNotFoundError:
        return f"{path.name} is missing"
    except (OSError, ValueError) as exc:
        return f"{path.name} is unreadable ({type(exc).__name__})"
    if not isinstance(header, dict):
        return f"{path.name} is not safetensors"
    end = max((v["data_offsets"][1] for k, v in header.items()
               if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v), default=0)
    if 8 + length + end > size:
        return f"{path.name} is truncated ({size} bytes, {8 + length + end} expected)"
    return None


def read_model_dir(directory: os.PathLike | str, feature: str, source: str) -> ModelInfo:
    """Describe one model directory; ``problem`` says why it cannot be used."""
    path = Path(directory)
    info = ModelInfo(feature=feature, path=path, source=source)
    if not path.is_dir():
        info.problem = "not a directory"
        return info
    config, problem = _read_json(path / CONFIG)
    meta, meta_problem = _read_json(path / META)
    info.config, info.meta = config or {}, meta or {}
    info.problem = problem or meta_problem or _check_safetensors(path / WEIGHTS)
    return info


def untrusted_problem(info: ModelInfo, repo_root: os.PathLike | str) -> Optional[str]:
    """Why a repository's model may not be used (it came with the repository: not saved by this
    user, in a repository not trusted), or None."""
    if info.source != REPOSITORY or trust.is_own_model(info.path) or trust.is_trusted(repo_root):
        return None
    return (f"not trained here and {Path(repo_root).resolve()} is not trusted: "
            f"`codeintel train {info.feature}` or `codeintel trust` to use it")


def _candidates(feature: str, repo_root: Optional[os.PathLike | str]) -> list[ModelInfo]:
    found = []
    places = ([(repo_model_dir(repo_root, feature), REPOSITORY)] if repo_root is not None else []) \
        + [(builtin_dir(feature), BUILTIN)]
    for directory, source in places:
        if directory.exists():
            info = read_model_dir(directory, feature, source)
            if info.problem is None and repo_root is not None:
                info.problem = untrusted_problem(info, repo_root)
            found.append(info)
    return found


def active_model(feature: str, repo_root: Optional[os.PathLike | str]) -> Optional[ModelInfo]:
    """The model ``feature`` uses: the repository's own if usable, else the built-in one, else None."""
    for info in _candidates(feature, repo_root):
        if info.usable:
            info.active = True
            return info
    return None


def model_stamp(repo_root: Optional[os.PathLike | str], feature: str) -> tuple:
    """What identifies the models ``feature`` could use now: the repository's and the built-in
    weights files (inode, size, time; None where absent), and whether the repository is trusted.
    Saving replaces a model folder whole, so a newly trained model changes it: a cache keyed by
    it reloads (a few stat calls and one small file read)."""
    out: list = [trust.is_trusted(repo_root)]
    folders = ([repo_model_dir(repo_root, feature)] if repo_root is not None else []) + [builtin_dir(feature)]
    for folder in folders:
        try:
            st = (folder / WEIGHTS).stat()
            out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def list_models(repo_root: Optional[os.PathLike | str], features=FEATURES) -> list[ModelInfo]:
    """Every model directory found for every feature (repository first), the active one marked,
    unusable ones with their ``problem``."""
    result = []
    for feature in features:
        candidates = _candidates(feature, repo_root)
        for info in candidates:
            if info.usable:
                info.active = True
                break
        result.extend(candidates)
    return result


def load_state(directory: os.PathLike | str) -> dict:
    """The weights in ``directory/model.safetensors`` (``safetensors.torch.load_file``; tied
    weights saved once come back under every name)."""
    from .io import load_tensors

    return load_tensors(Path(directory) / WEIGHTS)


def load_model(directory: os.PathLike | str):
    """Rebuild a builder model from ``config.json`` and load its weights; returns it in eval
    mode. For a feature's own module, build it yourself and ``load_state_dict(load_state(dir))``."""
    from .builders import model_from_config

    config, problem = _read_json(Path(directory) / CONFIG)
    if problem:
        raise ValueError(f"{directory}: {problem}")
    model = model_from_config(config)
    model.load_state_dict(load_state(directory))
    return model.eval()


# ------------------------------------------------------------------------------- writing
def make_meta(*, corpora: Optional[list] = None, counts: Optional[dict] = None, split: Optional[str] = None,
              metrics: Optional[dict] = None, seconds: Optional[float] = None, **extra) -> dict:
    """A data card with the usual keys: ``corpora`` (``[{"name", "version", "size", ...}]``),
    ``split`` (how train/val/test were cut), ``counts`` (``{"train", "val", "test"}``),
    ``metrics`` (headline numbers, shown by ``codeintel models``), ``seconds`` (training time)."""
    meta = {"corpora": corpora or [], "split": split, "counts": counts or {}, "metrics": metrics or {},
            "seconds": seconds}
    meta.update(extra)
    return meta


MODEL_FILES = frozenset((WEIGHTS, CONFIG, META, TOKENIZER))


def check_model_target(directory: os.PathLike | str) -> None:
    """Refuse (ValueError) to save a model over anything but a model directory: saving
    replaces the directory whole, so a folder holding other files (a mistyped ``--output``)
    would be lost."""
    target = Path(directory)
    if not target.exists():
        return
    if not target.is_dir():
        raise ValueError(f"{target}: exists and is not a folder; give a new folder or a model folder")
    others = sorted(p.name for p in target.iterdir() if p.name not in MODEL_FILES)
    if others:
        raise ValueError(f"{target}: holds files that are not a model's ({', '.join(others[:3])}"
                         f"{', …' if len(others) > 3 else ''}); give a new folder or a model folder")


def save_model(directory: os.PathLike | str, model, config: dict, meta: dict, tokenizer=None) -> Path:
    """Write a model directory atomically (refused over a folder that is not a model's:
    ``check_model_target``): weights (safetensors), ``config.json``,
    ``meta.json`` (``date``, ``codeintel_version`` and ``parameters`` filled in when absent)
    and ``tokenizer.json`` when ``tokenizer`` (a ``tokenizers.Tokenizer`` or a path) is given."""
    import shutil

    from .. import __version__
    from .builders import count_parameters
    from .io import replace_dir, save_tensors

    target = Path(directory)
    check_model_target(target)
    meta = dict(meta)
    meta.setdefault("date", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    meta.setdefault("codeintel_version", __version__)
    meta.setdefault("parameters", count_parameters(model))
    config_text = json.dumps(config, indent=2, sort_keys=True)      # fail before writing anything
    meta_text = json.dumps(meta, indent=2, default=str)   # keep the order: headline metrics first

    def fill(tmp: Path) -> None:
        save_tensors(tmp / WEIGHTS, model.state_dict())
        (tmp / CONFIG).write_text(config_text, encoding="utf-8")
        (tmp / META).write_text(meta_text, encoding="utf-8")
        if tokenizer is not None:
            if isinstance(tokenizer, (str, os.PathLike)):
                source = Path(tokenizer)
                shutil.copyfile(source / TOKENIZER if source.is_dir() else source, tmp / TOKENIZER)
            else:
                tokenizer.save(str(tmp / TOKENIZER))

    replace_dir(target, fill)
    trust.record_own_model(target)
    return target


def record_metrics(directory: os.PathLike | str, metrics: dict) -> None:
    """Set the ``metrics`` of a saved model's ``meta.json``, in the order given (headline
    figures first: ``codeintel models`` shows the first few)."""
    from ..store.files import write_text_atomic

    path = Path(directory) / META
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["metrics"] = metrics
    write_text_atomic(path, json.dumps(meta, indent=2, default=str))


def metric_summary(metrics: dict, limit: int = 4) -> list[tuple[str, Any]]:
    """The first ``limit`` numeric metrics, nested dicts flattened as ``a.b``."""
    flat: list[tuple[str, Any]] = []

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat.append((prefix, value))

    walk("", metrics)
    return flat[:limit]
