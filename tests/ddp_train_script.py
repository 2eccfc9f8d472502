"""Run by tests/test_models.py under ``torchrun --nproc_per_node=2``: trains a tiny encoder
classifier for a few steps with ``codeintel.models.training.train`` and writes what each rank
saw to ``OUT/rank<N>.json``. Usage: ddp_train_script.py OUT"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from codeintel.models.builders import build_encoder
from codeintel.models.training import TrainConfig, train


class Classifier(torch.nn.Module):
    def __init__(self, encoder, hidden: int):
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(hidden, 2)

    def forward(self, ids, labels):
        hidden = self.encoder(input_ids=ids, attention_mask=(ids != 0).long()).last_hidden_state
        return torch.nn.functional.cross_entropy(self.head(hidden.mean(1)), labels)


def main(out: Path) -> None:
    seen: list[int] = []
    generator = torch.Generator().manual_seed(5)
    ids = torch.randint(4, 20, (72, 8), generator=generator)
    labels = (ids == 7).any(1).long()
    data = [(i, ids[i], labels[i]) for i in range(len(ids))]

    def collate(items):
        return {"idx": [i for i, _, _ in items], "ids": torch.stack([x for _, x, _ in items]),
                "labels": torch.stack([y for _, _, y in items])}

    def loss_fn(model, batch):
        if model.training:
            seen.extend(batch["idx"])
        return model(batch["ids"], batch["labels"])

    torch.manual_seed(0)
    encoder, _ = build_encoder(20, "tiny", max_positions=16)
    model = Classifier(encoder, 64)
    config = TrainConfig(epochs=2, batch_size=8, lr=3e-3, eval_every_steps=2, max_steps=4, seed=1,
                         checkpoint_dir=out / "ckpt")
    result = train(model, data[:56], data[56:], collate, loss_fn, config, progress=False)
    rank = int(os.environ["RANK"])
    checksum = float(sum(p.detach().double().sum() for p in model.parameters()))
    (out / f"rank{rank}.json").write_text(json.dumps({
        "rank": rank, "world": int(os.environ["WORLD_SIZE"]), "steps": result.steps,
        "val_losses": [h["val_loss"] for h in result.history], "best_val_loss": result.best_val_loss,
        "seen": seen, "checksum": checksum, "dist_initialised_after": torch.distributed.is_initialized()}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
