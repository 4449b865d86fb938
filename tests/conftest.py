"""Shared fixtures: small real pages and feature contexts (fake and real embedders)."""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

# Property/fuzz tests (hypothesis): "ci" (the default) runs 200 examples per target, reproducibly;
# HYPOTHESIS_PROFILE=long runs 5,000 with fresh randomness, for a search before a release.
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("long", max_examples=5000, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"
SCIENCE_URL = "https://www.sciencealert.com/nasa-finds-water-plumes-above-the-surface-of-jupiter-s-icy-moon-europa"
COMWRAP_URL = "https://blog.comwrap.com/comwrap-auf-der-dmexco-2018"


def page_html(name: str) -> str:
    with gzip.open(PAGES / f"{name}.html.gz", "rt", encoding="utf-8") as fh:
        return fh.read()


@pytest.fixture(scope="session")
def science_html() -> str:
    return page_html("14cc2a0c")


@pytest.fixture(scope="session")
def comwrap_html() -> str:
    return page_html("ba07d1e6")


@pytest.fixture(scope="session")
def gold_links() -> list[dict]:
    with (PAGES / "gold_links.tsv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="session")
def fake_ctx():
    """Real placement model and lists, deterministic fake embedder (no model files)."""
    from features.embeddings import HashingEmbedder
    from features.pipeline import load_context

    return load_context(embedder=HashingEmbedder(64))


@pytest.fixture(scope="session")
def real_ctx():
    """The shipped pipeline: static MiniLM embeddings loaded from disk, offline."""
    from features.pipeline import load_context

    return load_context()
