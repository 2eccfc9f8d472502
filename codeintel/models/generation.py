"""Generation backends: text in, a few continuations out.

- ``HFCausalLM``: any local Hugging Face causal-LM checkpoint directory (``AutoModelForCausalLM``,
  weights from safetensors only, nothing downloaded: ``local_files_only``).
- ``HTTPCompletions``: any OpenAI-compatible ``/v1/completions`` endpoint (vLLM, llama.cpp's
  server, Ollama); used only when the user configured its URL.
- The built-in Fusion-in-Decoder model is in ``fid`` (its input is many passages, not one prompt).

``pack_prompt`` makes the single prompt both take: the context passages in ranked order
(RepoFusion's concatenation baseline; the most relevant nearest the code), then the code
before the cursor.
"""
from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Sequence


class GenerationError(RuntimeError):
    """A backend that cannot be used (missing checkpoint, unreachable server, bad answer)."""


def first_line(text: str) -> str:
    return text.split("\n", 1)[0].rstrip()


def pack_prompt(passages: Sequence[tuple[str, str]], code_before: str, max_chars: int = 6000,
                comment: str = "#") -> str:
    """``passages``: (label, text) in ranked order, best first. The prompt holds as many as fit in
    ``max_chars`` (with the code before the cursor, which is kept whole up to half the room),
    the best placed last, next to the code."""
    code = code_before[-max(max_chars // 2, max_chars - sum(len(t) for _, t in passages)):]
    room = max_chars - len(code)
    chosen = []
    for label, text in passages:
        block = f"{comment} {label}\n{text.rstrip()}\n\n"
        if len(block) > room:
            continue
        chosen.append(block)
        room -= len(block)
    return "".join(reversed(chosen)) + code


class HFCausalLM:
    """A local causal-LM checkpoint directory; generation is greedy (n=1) or beam search."""

    def __init__(self, path: os.PathLike | str):
        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise GenerationError(f"{self.path}: not a Hugging Face checkpoint directory (no config.json)")
        if not any(self.path.glob("*.safetensors")):
            raise GenerationError(f"{self.path}: no safetensors weights (pickled weights are not loaded)")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            # never the checkpoint's own Python code, whoever made the folder
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True,
                                                           trust_remote_code=False)
            self.model = AutoModelForCausalLM.from_pretrained(str(self.path), local_files_only=True,
                                                              use_safetensors=True, trust_remote_code=False).eval()
        except (OSError, ValueError) as exc:
            raise GenerationError(f"{self.path}: cannot load the checkpoint ({exc})") from None
        self.max_positions = int(getattr(self.model.config, "n_positions", 0)
                                 or getattr(self.model.config, "max_position_embeddings", 0) or 2048)
        self.lock = threading.Lock()     # one generation at a time per loaded model

    def generate(self, prompt: str, max_new_tokens: int = 48, n: int = 1) -> list[tuple[str, float]]:
        import torch

        ids = self.tokenizer(prompt, return_tensors="pt").input_ids
        ids = ids[:, -max(1, self.max_positions - max_new_tokens):]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        with self.lock, torch.inference_mode():
            out = self.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                      num_beams=max(1, n), num_return_sequences=max(1, n), do_sample=False,
                                      output_scores=True, return_dict_in_generate=True, pad_token_id=pad)
        scores = out.sequences_scores.tolist() if getattr(out, "sequences_scores", None) is not None \
            else [0.0] * len(out.sequences)
        results = []
        for seq, score in zip(out.sequences, scores):
            text = first_line(self.tokenizer.decode(seq[ids.shape[1]:], skip_special_tokens=True))
            results.append((text, float(score)))
        return results


class HTTPCompletions:
    """An OpenAI-compatible completions endpoint: POST {base}/v1/completions."""

    def __init__(self, url: str, model: Optional[str] = None, api_key_env: Optional[str] = None,
                 timeout: float = 10.0):
        if not url or not url.startswith(("http://", "https://")):
            raise GenerationError(f"not an http(s) URL: {url!r}")
        base = url.rstrip("/")
        if not base.endswith("/completions"):
            base = base + ("/completions" if base.endswith("/v1") else "/v1/completions")
        self.endpoint, self.model, self.timeout = base, model, timeout
        self.api_key = os.environ.get(api_key_env) if api_key_env else None
        if api_key_env and not self.api_key:
            raise GenerationError(f"the environment variable {api_key_env} (api_key_env) is not set")

    def generate(self, prompt: str, max_new_tokens: int = 48, n: int = 1) -> list[tuple[str, float]]:
        body = {"prompt": prompt, "max_tokens": max_new_tokens, "n": max(1, n), "temperature": 0.0,
                "stop": ["\n"]}
        if self.model:
            body["model"] = self.model
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.endpoint, data=json.dumps(body).encode(), headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise GenerationError(f"{self.endpoint} answered {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise GenerationError(f"{self.endpoint} is unreachable ({getattr(exc, 'reason', exc)})") from None
        except ValueError:
            raise GenerationError(f"{self.endpoint} did not answer JSON") from None
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list):
            raise GenerationError(f"{self.endpoint}: the answer has no 'choices'")
        out = []
        for rank, choice in enumerate(choices):
            text = choice.get("text") if isinstance(choice, dict) else None
            if isinstance(text, str):
                out.append((first_line(text), -float(rank)))
        return out
