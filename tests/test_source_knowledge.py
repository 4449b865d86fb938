"""Established-site prior (Majestic top 15k) and Wikipedia reliability per source host."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pytest

from features.source_knowledge import SourceKnowledge, SourcePrior

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RES = resources.files("features") / "resources"


@pytest.fixture(scope="module")
def knowledge() -> SourceKnowledge:
    return SourceKnowledge.load()


def test_established_and_reliable(knowledge: SourceKnowledge) -> None:
    nyt = knowledge.lookup("www.nytimes.com")
    assert 1 <= nyt.majestic_rank <= 15_000
    assert nyt.wiki_reliability == 1.0
    assert nyt.platform is False
    # a subdomain not listed itself takes its registered domain's entries
    bbc = knowledge.lookup("news.bbc.co.uk")
    assert bbc.majestic_rank == knowledge.lookup("bbc.co.uk").majestic_rank
    assert bbc.wiki_reliability == 1.0
    # the host itself is matched first (Majestic lists en.wikipedia.org apart from wikipedia.org)
    assert knowledge.lookup("en.wikipedia.org").majestic_rank != knowledge.lookup("wikipedia.org").majestic_rank
    assert knowledge.lookup("WWW.NYTimes.com") == nyt


def test_unreliable_and_contested(knowledge: SourceKnowledge) -> None:
    assert knowledge.lookup("dailymail.co.uk").wiki_reliability == -1.0
    # the ranking and the goggle disagree on forbes.com (contributors vs staff): contested, 0
    assert knowledge.lookup("forbes.com").wiki_reliability == 0.0


def test_platforms_lend_nothing_to_user_spaces(knowledge: SourceKnowledge) -> None:
    assert knowledge.lookup("blogspot.com").majestic_rank > 0
    for host in ("someone.blogspot.com", "x.wordpress.com", "someone.github.io", "someone.wixsite.com"):
        got = knowledge.lookup(host)
        assert got.platform is True
        assert math.isnan(got.majestic_rank) and math.isnan(got.wiki_reliability), host


def test_platform_discard_is_not_unreliable(knowledge: SourceKnowledge) -> None:
    # Wikipedia discards YouTube, Medium, WordPress.com as user-generated: a platform, not a -1
    for host in ("youtube.com", "medium.com", "wordpress.com", "reddit.com", "linkedin.com"):
        got = knowledge.lookup(host)
        assert got.platform is True, host
        assert math.isnan(got.wiki_reliability), host
    # Wikipedia itself: not a platform of someone's pages, and its self-rating is no verdict
    wp = knowledge.lookup("fr.wikipedia.org")
    assert wp.platform is False and math.isnan(wp.wiki_reliability)


def test_unknown_is_nan(knowledge: SourceKnowledge) -> None:
    for host in ("my-small-coaching-site.fr", "", "localhost"):
        got = knowledge.lookup(host)
        assert math.isnan(got.majestic_rank) and math.isnan(got.wiki_reliability) and got.platform is False


def test_prior_is_frozen(knowledge: SourceKnowledge) -> None:
    got = knowledge.lookup("nytimes.com")
    assert isinstance(got, SourcePrior)
    with pytest.raises(AttributeError):
        got.majestic_rank = 1.0  # type: ignore[misc]


def test_pickles_for_worker_processes(knowledge: SourceKnowledge) -> None:
    import pickle

    knowledge.lookup("nytimes.com")
    copy = pickle.loads(pickle.dumps(knowledge))
    assert copy == knowledge and not copy._memo
    assert copy.lookup("someone.blogspot.com") == knowledge.lookup("someone.blogspot.com")


def test_shipped_files_carry_attribution() -> None:
    assert (RES / "majestic_top15k.csv").read_text(encoding="utf-8").startswith(
        "# Majestic Million, majestic.com, CC BY 3.0"
    )
    wiki = (RES / "wikipedia_reliability.tsv").read_text(encoding="utf-8")
    assert wiki.startswith("# Derived from Wikipedia") and "CC BY-SA 4.0" in wiki.splitlines()[0]
    attribution = (RES / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "Majestic Million, majestic.com, CC BY 3.0" in attribution and "CC BY-SA 4.0" in attribution


@pytest.mark.skipif(not (SHARED / "domains").is_dir(), reason="needs ../shared")
def test_build_reproduces_shipped_files(tmp_path: Path) -> None:
    from training.build_domain_resources import build

    counts = build(SHARED, tmp_path)
    assert counts["majestic"] > 14_000 and counts["wikipedia"] > 3_000
    for name in ("majestic_top15k.csv", "wikipedia_reliability.tsv", "ATTRIBUTION.md"):
        assert (tmp_path / name).read_bytes() == (RES / name).read_bytes(), name
    # only licensed sources are written
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ATTRIBUTION.md", "majestic_top15k.csv", "wikipedia_reliability.tsv"
    ]
