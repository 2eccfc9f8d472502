"""``codeintel train completion-ranker``: learn the completion ranker from held-out holes.

For each repository given, a seeded share of its Python files is held out
(``evaluate.held_out_cases``, the evaluation's own split), the context index is built on a copy
without them, and at every hole the candidates are gathered exactly as ``complete()`` gathers
them (``ranker.gather``: proposals with the file left out, the matcher, the n-gram beam over the
copy's model). Every hole with candidates is a training example. The loss is listwise: the cross-entropy of the right candidate, where one is among them, plus
``es_weight`` times the expected edit similarity's loss (minus the sum of the candidates'
probabilities times their edit similarity to the real rest of the line), which every hole
carries, so the ranker also learns which wrong candidate is the nearest. With several
repositories the last ``validate_repos`` validate (split by repository); with one, a seeded
quarter of the files with holes does.

With ``seeds`` N, every training repository is cut N times (seeds ``seed`` to ``seed+N-1``: other
held-out files, other holes), validation repositories once. With ``ensemble`` K, K MLPs are
trained with seeds ``seed`` to ``seed+K-1`` and merged into one MLP of K times the hidden units
whose output is the mean of theirs (``merge_ensemble``), so ``Ranker`` loads it like any other;
fine-tuning from ``base`` trains the one (already as wide as the base).

The MLP (``hidden`` units, one layer) starts from ``base`` (a ranker folder: the command passes
the active one, the built-in, unless ``--from-scratch``) or from random weights, trains with the
shared loop (``codeintel.models.training``, early stopping on validation) and is saved to the registry with a data card that names the
repositories, their versions when known, and the validation top-1 of the ranker against the
matcher's own order on the same holes.
"""
from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np


@dataclass
class RankerSettings:
    holdout: float = 0.2
    max_files: int = 40
    per_file: int = 15
    max_cases: int = 600
    hidden: int = 32
    epochs: int = 30
    batch_size: int = 16
    lr: float = 3e-3
    patience: int = 4
    seed: int = 0
    es_weight: float = 1.0
    validate_repos: int = 1
    seeds: int = 1          # hole cuts per training repository (seeds seed, seed+1, ...); validation keeps one
    ensemble: int = 1       # MLPs trained with seeds seed..seed+K-1, merged into one wider MLP


@dataclass
class Example:
    repo: str
    path: str
    x: np.ndarray          # (candidates, features)
    y: np.ndarray          # 1.0 where the candidate is the real rest of the line
    es: np.ndarray         # each candidate's edit similarity to it
    matcher_right: bool    # the matcher's own first candidate is right

    @property
    def has_answer(self) -> bool:
        """The real rest of the line is among the candidates (the cross-entropy and top-1 need it)."""
        return bool(self.y.any())


def repository_examples(root: Path, settings: RankerSettings, log: Callable[[str], None] = lambda _: None) -> tuple[list[Example], int]:
    """The examples of one repository and the number of holes cut."""
    from codeintel.retrieval.context import build_context_copy
    from codeintel.retrieval.dense import DenseIndex
    from codeintel.store import Store, store_path

    from .evaluate import held_out_cases, score
    from .ngram import repository_lm
    from .proposals import make_proposals
    from .ranker import features, gather

    held, cases = held_out_cases(root, holdout=settings.holdout, max_files=settings.max_files,
                                 per_file=settings.per_file, max_cases=settings.max_cases, seed=settings.seed)
    examples = []
    with tempfile.TemporaryDirectory(prefix="codeintel-ranker-") as tmp:
        copy = build_context_copy(root, held, Path(tmp))
        with Store.open(store_path(copy), create=False) as store:
            dense = DenseIndex.build(store, None)
            lm = repository_lm(store, "python")
            for case in cases:
                cursor = case.cursor()
                proposals = make_proposals(store, cursor, dense=dense, exclude_paths=[case.path])
                found = gather(cursor, proposals, lm)
                target = case.target.rstrip()
                if found.empty:
                    continue
                y = np.asarray([t == target for t in found.texts], dtype=np.float32)
                es = np.asarray([score(t, target)["edit_similarity"] for t in found.texts], dtype=np.float32)
                examples.append(Example(root.name, case.path, features(found), y, es, found.order[:1] == [target]))
    right = sum(e.has_answer for e in examples)
    log(f"{root}: {len(cases)} holes in {len(held)} held-out files, {right} with the answer among the candidates")
    return examples, len(cases)


def merge_ensemble(models: list) -> "torch.nn.Sequential":
    """One MLP whose score is the mean of ``models``' scores (each Linear-ReLU-Linear): the hidden
    units side by side, each member's output weights divided by their number."""
    import torch

    k = len(models)
    firsts, lasts = [m[0] for m in models], [m[2] for m in models]
    width = sum(f.out_features for f in firsts)
    merged = torch.nn.Sequential(torch.nn.Linear(firsts[0].in_features, width), torch.nn.ReLU(), torch.nn.Linear(width, 1))
    with torch.no_grad():
        merged[0].weight.copy_(torch.cat([f.weight for f in firsts]))
        merged[0].bias.copy_(torch.cat([f.bias for f in firsts]))
        merged[2].weight.copy_(torch.cat([l.weight for l in lasts], dim=1) / k)
        merged[2].bias.copy_(sum(l.bias for l in lasts) / k)
    return merged.eval()


def _collate(batch):
    import torch

    width = max(e.x.shape[0] for e in batch)
    x = torch.zeros(len(batch), width, batch[0].x.shape[1])
    y = torch.zeros(len(batch), width)
    es = torch.zeros(len(batch), width)
    mask = torch.zeros(len(batch), width, dtype=torch.bool)
    for i, e in enumerate(batch):
        n = e.x.shape[0]
        x[i, :n], y[i, :n], es[i, :n], mask[i, :n] = torch.from_numpy(e.x), torch.from_numpy(e.y), torch.from_numpy(e.es), True
    return {"x": x, "y": y, "es": es, "mask": mask}


def make_loss(es_weight: float):
    """The listwise loss (module docstring) with this weight on the expected edit similarity."""
    def loss(model, batch):
        import torch

        scores = model(batch["x"]).squeeze(-1).masked_fill(~batch["mask"], -1e9)
        log_p = torch.log_softmax(scores, -1)
        count = batch["y"].sum(-1, keepdim=True)
        cross_entropy = -(log_p * batch["y"] / count.clamp(min=1)).sum(-1)
        expected_es = (log_p.exp() * batch["es"]).sum(-1)
        return (cross_entropy - es_weight * expected_es).mean()
    return loss


def _top1(model, examples: list[Example]) -> float:
    import torch

    examples = [e for e in examples if e.has_answer]
    if not examples:
        return 0.0
    right = 0
    with torch.no_grad():
        for e in examples:
            right += float(e.y[int(model(torch.from_numpy(e.x)).squeeze(-1).argmax())])
    return right / len(examples)


def train_ranker(roots: list[Path], out_dir: Path, settings: RankerSettings = RankerSettings(), *,
                 base: Optional[Path] = None, packages: Optional[list] = None, command: str = "", progress: bool = False,
                 log: Callable[[str], None] = lambda _: None) -> dict:
    """Train the ranker on holes of ``roots`` and save it to ``out_dir``; returns a summary.
    ``packages``: per root, the installed distribution it is (``name version``) or None."""
    import torch

    from codeintel.models.registry import check_model_target, make_meta, save_model
    from codeintel.models.training import TrainConfig, train

    from .ranker import FEATURES

    check_model_target(out_dir)
    started = time.perf_counter()
    cut = len(roots) - max(1, min(settings.validate_repos, len(roots) - 1)) if len(roots) > 1 else 1
    per_repo, holes = {}, {}
    for i, root in enumerate(roots):
        per_repo[root], holes[root] = [], 0
        for seed in range(settings.seed, settings.seed + (settings.seeds if i < cut else 1)):
            examples, cut_holes = repository_examples(root, replace(settings, seed=seed), log)
            per_repo[root] += examples
            holes[root] += cut_holes
    if len(roots) > 1:
        val = [e for r in roots[cut:] for e in per_repo[r]]
        train_set = [e for r in roots[:cut] for e in per_repo[r]]
        split = (f"by repository: trained on {', '.join(r.name for r in roots[:cut])}; "
                 f"validated on {', '.join(r.name for r in roots[cut:])}")
    else:
        examples = per_repo[roots[0]]
        paths = sorted({e.path for e in examples})
        random.Random(settings.seed).shuffle(paths)
        val_paths = set(paths[:max(1, len(paths) // 4)])
        val = [e for e in examples if e.path in val_paths]
        train_set = [e for e in examples if e.path not in val_paths]
        split = f"by file within {roots[0].name}: {len(val_paths)} of its {len(paths)} files with holes validate"
    trainable, answerable = sum(e.has_answer for e in train_set), [e for e in val if e.has_answer]
    if not trainable or not answerable:
        raise ValueError("too few holes whose answer is among the candidates to train on "
                         f"({trainable} to train, {len(answerable)} to validate); give more or larger repositories")
    hidden = settings.hidden
    if base is not None:
        from codeintel.models.registry import load_state

        from .ranker import Ranker

        try:
            hidden = Ranker.load(base).layers[0][0].shape[0]     # also checks its features are these
        except ValueError as exc:
            raise ValueError(f"{base}: {exc}; use --from-scratch") from None
    members, val_losses, start_top1 = [], [], None
    for seed in range(settings.seed, settings.seed + (1 if base is not None else settings.ensemble)):
        torch.manual_seed(seed)
        model = torch.nn.Sequential(torch.nn.Linear(len(FEATURES), hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
        if base is not None:
            model.load_state_dict(load_state(base))
            model.eval()
            start_top1 = _top1(model, val)
        config = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr, weight_decay=1e-4,
                             patience=settings.patience, seed=seed, warmup_ratio=0.05)
        result = train(model, train_set, val, _collate, make_loss(settings.es_weight), config, progress=progress, resume=False)
        members.append(model.eval())
        val_losses.append(float(result.best_val_loss))
        log(f"ranker {len(members)}: validation top-1 {_top1(model, val):.1%}, loss {val_losses[-1]:.4f}")
    model = members[0] if len(members) == 1 else merge_ensemble(members)
    hidden = model[0].out_features
    kept_base = False
    if base is not None and _top1(model, val) < start_top1:
        model.load_state_dict(load_state(base))      # never worse on this repository than what it replaces
        kept_base = True
    val_holes = sum(holes[r] for r in roots[cut:]) if len(roots) > 1 else None
    ranker_top1, matcher_top1 = _top1(model, val), sum(e.matcher_right for e in answerable) / len(answerable)
    metrics = {"val": {"ranker_top1": round(ranker_top1, 4), "matcher_top1": round(matcher_top1, 4),
                       "examples": len(answerable), **({"base_ranker_top1": round(start_top1, 4)} if base else {})},
               "note": "top-1 over validation holes whose answer is among the candidates"}
    if val_holes:
        metrics["val"]["holes"] = val_holes
    corpora = []
    for i, root in enumerate(roots):
        entry = {"name": root.name, "holes": holes[root], "examples": sum(e.has_answer for e in per_repo[root])}
        if packages and packages[i]:
            entry["package"] = packages[i]
        corpora.append(entry)
    meta = make_meta(corpora=corpora,
                     split=split, counts={"train": len(train_set), "val": len(val)}, metrics=metrics,
                     seconds=round(time.perf_counter() - started, 1), command=command,
                     settings={k: getattr(settings, k) for k in settings.__dataclass_fields__},
                     best_val_loss=round(sum(val_losses) / len(val_losses), 4),
                     fine_tuned_from=str(base) if base is not None else None, kept_base_weights=kept_base)
    layer_config = {"kind": "mlp-ranker", "features": list(FEATURES), "layers": ["0", "2"], "hidden": hidden}
    save_model(out_dir, model, layer_config, meta)
    return {"output": str(out_dir), **metrics, "counts": meta["counts"], "seconds": meta["seconds"],
            "fine_tuned_from": meta["fine_tuned_from"], "kept_base_weights": kept_base}
