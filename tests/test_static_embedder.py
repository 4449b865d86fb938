"""The numpy/tokenizers StaticEmbedder gives the same rows as the sentence-transformers path."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import PAGES, page_html

from features.embeddings import (
    MAX_TEXT_CHARS,
    SentenceTransformerEmbedder,
    StaticEmbedder,
    load_embedder,
    static_model_path,
)

ROOT = Path(__file__).resolve().parents[1]
PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»“”‘’•·–—…"
ZERO_TOKEN_TEXTS = ["", " ", " \n\t\r ", "\u200b", "\ufeff\u200b", "\x00\x01\x7f"]
EDGE_TEXTS = [
    *ZERO_TOKEN_TEXTS,
    "a",
    "Click here",
    "https www example com blog 2019 10 best seo tools",
    "Café naïve résumé Straße façade ñandú",
    "日本語のページタイトル 中文网页 한국어 русский текст العربية हिन्दी",
    "🙂 🚀🔥 👍🏽 ™ ©2024 €99,00",
    "x" * 150,  # one word longer than WordPiece's 100 chars: [UNK]
    PUNCT,
    PUNCT * 60,  # > 512 tokens within MAX_TEXT_CHARS: truncated
    "日本" * 1200,  # > MAX_TEXT_CHARS and > 512 tokens
    "word " * 700,
    "Ab" * 1500,
]


def page_words() -> list[str]:
    words: list[str] = []
    for name in ("14cc2a0c", "ba07d1e6"):
        html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page_html(name))
        words += re.sub(r"<[^>]+>", " ", html).split()
    return words


def varied_texts(n: int = 400, seed: int = 0) -> list[str]:
    """Anchors, titles, URL words, paragraphs around MAX_TEXT_CHARS, mixed scripts, punctuation."""
    rng = random.Random(seed)
    words = page_words()
    with (PAGES / "gold_links.tsv").open(encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh][1:]
    out = [*EDGE_TEXTS, *(r[3] for r in rows)]
    extra = EDGE_TEXTS[6:12]
    while len(out) < n:
        kind = rng.randrange(6)
        if kind == 0:
            t = " ".join(rng.choice(words) for _ in range(rng.randint(1, 10)))
        elif kind == 1:
            t = " ".join(w for w in re.split(r"[^0-9A-Za-z]+", rng.choice(rows)[2]) if w)
        elif kind == 2:
            t = " ".join(rng.choice(words) for _ in range(rng.randint(20, 600)))
        elif kind == 3:
            t = " ".join(rng.choice(words + extra * 10) for _ in range(rng.randint(1, 40)))
        elif kind == 4:
            t = "".join(rng.choice(PUNCT + "  ") for _ in range(rng.randint(1, 2500)))
        else:
            t = "".join(chr(rng.choice((rng.randint(32, 0x2FFF), rng.randint(0x3000, 0x9FFF), rng.randint(0x1F300, 0x1FAFF))))
                        for _ in range(rng.randint(0, 400)))
        out.append(t.upper() if rng.random() < 0.1 else t)
    return out[:n]


@pytest.fixture(scope="module")
def static() -> StaticEmbedder:
    emb = load_embedder("minilm-l6-static-256")
    assert isinstance(emb, StaticEmbedder)
    return emb


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return varied_texts()


@pytest.mark.slow
def test_same_rows_as_sentence_transformers(static: StaticEmbedder, texts: list[str]) -> None:
    reference = SentenceTransformerEmbedder("reference", static_model_path(), static=True)
    old, new = reference.encode(texts), static.encode(texts)
    assert new.shape == old.shape and new.dtype == old.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(new), np.isnan(old))
    empty = [not ids for ids in static.token_ids(texts)]
    np.testing.assert_array_equal(np.isnan(old).all(axis=1), empty)  # the old path's NaN rows
    assert float(np.max(np.abs(np.nan_to_num(new) - np.nan_to_num(old)))) <= 1e-6


def test_texts_cover_the_cases(static: StaticEmbedder, texts: list[str]) -> None:
    lens = [len(i) for i in static.token_ids(texts)]
    assert max(lens) == json.loads((static_model_path() / "config.json").read_text())["max_length"] == 512
    assert sum(len(t) > MAX_TEXT_CHARS for t in texts) >= 10
    assert sum(0 < n <= 12 for n in lens) >= 100


def test_shape_dtype_and_unit_rows(static: StaticEmbedder, texts: list[str]) -> None:
    vecs = static.encode(texts)
    assert static.dim == 256 and vecs.shape == (len(texts), 256) and vecs.dtype == np.float32
    ok = np.array([bool(ids) for ids in static.token_ids(texts)])
    assert not np.isnan(vecs[ok]).any() and np.isnan(vecs[~ok]).all()
    np.testing.assert_allclose(np.linalg.norm(vecs[ok], axis=1), 1.0, atol=2e-3)  # float16 precision


def test_independent_of_batching(static: StaticEmbedder, texts: list[str]) -> None:
    small = StaticEmbedder("small-batches", static_model_path(), batch_size=7)
    whole = static.encode(texts)
    np.testing.assert_array_equal(small.encode(texts), whole)
    np.testing.assert_array_equal(np.stack([static.encode([t])[0] for t in texts[:40]]), whole[:40])


def test_empty_input(static: StaticEmbedder) -> None:
    out = static.encode([])
    assert out.shape == (0, 256) and out.dtype == np.float32


def test_zero_token_texts_give_nan_rows_like_sentence_transformers(static: StaticEmbedder) -> None:
    """torch normalises in float16, where eps=1e-12 is 0: a zero mean becomes 0/0 = NaN.
    Kept: cosines against such a text are NaN ("unknown"), as in the training features."""
    assert all(ids == [] for ids in static.token_ids(ZERO_TOKEN_TEXTS))
    vecs = static.encode([*ZERO_TOKEN_TEXTS, "a"])
    assert np.isnan(vecs[:-1]).all() and not np.isnan(vecs[-1]).any()


def test_unknown_tokens_are_averaged_not_dropped(static: StaticEmbedder) -> None:
    unk = static.token_ids(["🙂"])[0]
    assert unk == [1]  # [UNK]
    assert not np.array_equal(static.encode(["🙂 seo"]), static.encode(["seo"]))


def test_no_torch_import() -> None:
    code = (
        "import sys\n"
        "from features.embeddings import load_embedder\n"
        "v = load_embedder('minilm-l6-static-256').encode(['best seo tools', ''])\n"
        "assert v.shape == (2, 256)\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'model2vec') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_word_cache_gives_the_tokenizer_ids(static: StaticEmbedder) -> None:
    """token_ids tokenises each whitespace-separated word once (cached) and concatenates; it must
    equal the tokenizer on whole texts, whatever character separates the words."""
    assert static._word_cache_ok
    glued = [f"Foo{chr(c)}bar, baz{chr(c)}{chr(c)}qux." for c in [*range(0, 0x3100), 0x3000, 0xFEFF, 0x1F600, 0xE0001]]
    texts = [*varied_texts(3000, seed=1), *glued, "[UNK] x [PAD]", "a[UNK]b", "word " * 700]
    static._words.clear()
    got = static.token_ids(texts)
    assert len(static._words) > 1000  # the cache was used
    assert got == static.token_ids(texts)  # warm cache, same ids
    assert got == static._tokenize([t[:MAX_TEXT_CHARS] for t in texts])
    cap = static.max_cached_words
    static.max_cached_words = 10  # a full cache is emptied, never wrong
    try:
        assert static.token_ids(texts[:500]) == got[:500]
    finally:
        static.max_cached_words = cap


def test_round_to_float16_equals_numpys_cast_on_every_class_of_value() -> None:
    """The embedder rounds through float16 with bit operations; it must give numpy's
    astype(float16).astype(float32) bit for bit: every float16 value, the midpoints between
    neighbours (ties to even) and their float32 neighbours, subnormals, overflow, signed
    zeros, infinities, NaNs (any payload) and random float32 bit patterns."""
    import warnings

    from features.embeddings import round_to_float16

    rng = np.random.default_rng(1)
    h = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    hs = np.sort(h[np.isfinite(h)])
    mid = ((hs[:-1].astype(np.float64) + hs[1:]) / 2).astype(np.float32)
    x = np.concatenate([
        hs, mid, np.nextafter(mid, np.float32(np.inf)), np.nextafter(mid, np.float32(-np.inf)),
        rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32).view(np.float32),
        *(rng.standard_normal(20_000).astype(np.float32) * s for s in (1e-8, 3e-5, 1.0, 6e4)),
        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65504, 65519.99, 65520, -65520, 2**-14, 2**-24, 2**-25,
                  3 * 2**-26, -(2**-25), 1e-45], dtype=np.float32),
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow to inf in numpy's cast
        want = x.astype(np.float16).astype(np.float32)
    got = round_to_float16(x.copy())
    same = (want.view(np.uint32) == got.view(np.uint32)) | (np.isnan(want) & np.isnan(got))
    assert same.all(), x[~same][:5]
