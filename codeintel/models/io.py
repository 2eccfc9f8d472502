"""Weights and directories on disk: safetensors files (tied weights written once and restored
under every name) and directories replaced atomically. No pickle anywhere: tensors go through
``safetensors``, everything else through JSON.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable, Optional


def state_for_safetensors(state: dict) -> tuple[dict, dict]:
    """A state dict safetensors can write: contiguous CPU tensors, each storage once. Tied
    weights (an LM head sharing the embedding) become one tensor plus an alias entry;
    returns ``(tensors, aliases)``."""
    def view_key(tensor):
        if tensor.device.type == "meta" or not tensor.numel():
            return None
        return (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape),
                tuple(tensor.stride()), tensor.dtype)

    views: dict[int, set] = {}
    for tensor in state.values():
        key = view_key(tensor)
        if key is not None:
            views.setdefault(key[0], set()).add(key)
    tensors, aliases, seen = {}, {}, {}
    for name, tensor in state.items():
        tensor = tensor.detach()
        key = view_key(tensor)
        if key is not None and key in seen:
            aliases[name] = seen[key]
            continue
        if key is not None:
            seen[key] = name
        out = tensor.to("cpu").contiguous()
        if key is not None and len(views[key[0]]) > 1:
            out = out.clone()   # a view into a storage other tensors use: write its own copy
        tensors[name] = out
    return tensors, aliases


def save_tensors(path: Path, state: dict, metadata: Optional[dict] = None) -> None:
    from safetensors.torch import save_file

    tensors, aliases = state_for_safetensors(state)
    meta = {"format": "pt", **{k: str(v) for k, v in (metadata or {}).items()}}
    if aliases:
        meta["aliases"] = json.dumps(aliases, sort_keys=True)
    save_file(tensors, str(path), metadata=meta)


def load_tensors(path: Path) -> dict:
    """Tensors from a safetensors file, tied aliases restored (``safetensors.torch.load_file``)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    state = load_file(str(path))
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata() or {}
    for alias, target in json.loads(meta.get("aliases", "{}")).items():
        state[alias] = state[target]
    return state


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))


def replace_dir(final: Path, fill: Callable[[Path], None]) -> None:
    """Write a directory atomically: ``fill`` a fresh temporary sibling (``mkdtemp``), then swap
    it in. A crash leaves either the old directory or the new one (or ``.<name>.old``, which
    readers use). Never through a symbolic link: below ``.codeintel`` a link at ``final``, at
    its ``.old`` sibling or on the way there is refused (``UnsafeStore``); elsewhere a link in
    the way is moved or removed itself, its target left alone."""
    from ..store.files import check_store_path

    final = Path(final)
    old = final.parent / f".{final.name}.old"
    check_store_path(final)
    check_store_path(old)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
    try:
        os.chmod(tmp, stat.S_IMODE(os.stat(final.parent).st_mode))
        fill(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove(old)
    if final.is_symlink() or final.exists():
        final.rename(old)
    tmp.rename(final)
    _remove(old)


def _remove(path: Path) -> None:
    """Delete ``path``: a link itself (never what it points to), or a directory tree."""
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def readable_dir(final: Path) -> Optional[Path]:
    """``final``, or the previous version left by a crash in the middle of ``replace_dir``."""
    if final.is_dir():
        return final
    old = final.parent / f".{final.name}.old"
    return old if old.is_dir() else None
