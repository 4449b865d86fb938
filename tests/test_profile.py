"""Cross-row profile evidence (features/profile.py) on small synthetic profiles written here."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from features.profile import (
    FEATURE_NAMES,
    PROFILE_FEATURES,
    ProfileBuilder,
    ProfileStats,
    anchor_key,
    features_of_batch,
    path_template,
    profile_of,
    stable_hash,
    title_key,
)

TARGET = "https://www.example-bakery.fr/recettes/pain-au-levain"


def _editorial(i: int) -> dict[str, object]:
    """A plausible editorial link from its own site, with its own path, title and anchor."""
    words = ["levain", "farine", "boulange", "croissant", "brioche", "fournil", "seigle", "epeautre"]
    w = words[i % len(words)]
    slug = "".join(chr(97 + (i * 7 + j * 3) % 26) for j in range(6))  # its own page name
    return {
        "source_url": f"https://www.blog-{i}-{w}.fr/articles/{w}-{slug}-{i}",
        "target_url": TARGET,
        "anchor_text": f"notre recette de {w} numero {i}",
        "source_title": f"Faire son {w} a la maison, etape {i} | Blog {i}",
        "domain_authority": float(10 + i % 60),
        "page_authority": float(i % 30),
        "traffic": float(i * 37 % 5000),
        "outbound_links": float(5 + i % 40),
        "rel": "",
    }


def _network(i: int) -> dict[str, object]:
    """A generated network page: the same path template and title on unrelated .site domains."""
    return {
        "source_url": f"https://{['aqua', 'zenith', 'pluto', 'vortex', 'ember'][i % 5]}{i}.site/domain-list-{170 + i}/",
        "target_url": TARGET,
        "anchor_text": "Best Bread Recipes!",
        "source_title": "Where to buy aged domains and backlinks",
        "domain_authority": 2.0,
        "page_authority": 0.0,
        "rel": "",
    }


def _sitewide(i: int) -> dict[str, object]:
    """A footer link on every page of one site."""
    return {
        "source_url": f"http://shop.partner-ovens.com/catalogue/four-{i}.html",
        "target_url": "https://www.example-bakery.fr/",
        "anchor_text": "example-bakery.fr",
        "source_title": f"Four professionnel modele {i} - Partner Ovens",
        "domain_authority": 30.0,
        "page_authority": 8.0,
        "rel": "",
    }


@pytest.fixture(scope="module")
def profile() -> tuple[list[dict[str, object]], ProfileStats]:
    rows = [_editorial(i) for i in range(40)] + [_network(i) for i in range(20)] + [
        _sitewide(i) for i in range(25)]
    return rows, profile_of(rows)


def test_every_feature_is_documented_with_evidence_and_unit() -> None:
    assert tuple(PROFILE_FEATURES) == FEATURE_NAMES
    for name, (fields, doc) in PROFILE_FEATURES.items():
        assert name.startswith("prof_") and fields and doc


def test_network_path_template_and_title_detected_across_domains(profile) -> None:
    rows, stats = profile
    net = stats.features(rows[45])
    assert net["prof_path_domains"] == 20.0
    assert net["prof_title_domains"] == 20.0
    assert net["prof_domain_rows"] == 1.0  # each network domain carries one row
    ed = stats.features(rows[3])
    assert ed["prof_path_domains"] == 1.0
    assert ed["prof_title_domains"] == 1.0


def test_feature_columns_of_a_batch_equal_each_rows_features(profile) -> None:
    """The columns the pipeline places in its block hold each row's features, in order, for a
    full and a lean profile (the lean one leaves the title and anchor counts NaN)."""
    rows, stats = profile
    lean = ProfileBuilder(lean=True).add_all(rows).build()
    mixed = [*rows, {"source_url": "https://newcomer.org/", "target_url": TARGET}, {"source_url": 5}]
    for st in (stats, lean):
        cols = st.feature_columns(mixed)
        assert list(cols) == list(FEATURE_NAMES)
        for i, r in enumerate(mixed):
            one = st.features(r)
            for name, col in cols.items():
                assert col[i] == one[name] or (math.isnan(col[i]) and math.isnan(one[name])), (i, name)
    assert not math.isnan(stats.feature_columns(rows)["prof_title_domains"][3])
    assert math.isnan(lean.feature_columns(rows)["prof_title_domains"][3])


def test_sitewide_run_counts_rows_of_one_domain(profile) -> None:
    rows, stats = profile
    f = stats.features(rows[-1])
    assert f["prof_domain_rows"] == 25.0
    assert f["prof_domain_share"] == pytest.approx(25 / 85)
    # a site-wide run repeats its own title template on one domain only: not a cross-domain pattern
    assert f["prof_title_domains"] == 1.0
    assert f["prof_path_domains"] == 1.0  # /catalogue/four-0.html on one domain


def test_anchor_repetition_counts_domains_not_rows(profile) -> None:
    rows, stats = profile
    net = stats.features(rows[41])
    assert net["prof_anchor_domains"] == 20.0
    assert net["prof_anchor_share"] == pytest.approx(20 / stats.domains)
    assert stats.domains == 40 + 20 + 1
    site = stats.features(rows[-2])
    assert site["prof_anchor_domains"] == 1.0  # 25 rows, one domain


def test_unknown_is_nan(profile) -> None:
    _, stats = profile
    bare = stats.features({"source_url": "https://newcomer.org/", "target_url": TARGET})
    assert bare["prof_domain_rows"] == 1.0  # not in the profile's repeated domains: one row
    for name in ("prof_path_domains", "prof_title_domains", "prof_anchor_domains", "prof_anchor_share",
                 "prof_page_authority_pct", "prof_domain_authority_pct", "prof_traffic_pct",
                 "prof_outbound_pct", "prof_domain_topic_mismatch"):
        assert math.isnan(bare[name]), name
    assert all(math.isnan(v) for v in stats.features({"source_url": "not a url"}).values())
    empty = profile_of([])
    f = empty.features(_editorial(1))
    assert all(math.isnan(v) for v in f.values())


def test_keys_normalise_ids_case_and_site_names() -> None:
    assert path_template("/Domain-List-171/") == path_template("/domain-list-9") == "/domain-list-0"
    assert path_template("/p/5f3a9c0d/Guide") == "/p/0/guide"
    assert path_template("/") is None and path_template("/2024/05/") is None
    assert title_key("Where to buy  aged domains | Aqua Site") == title_key("where to buy aged domains - Zenith")
    assert title_key("Home | X") == "home | x"  # too short to cut: the tail is not a site name here
    assert anchor_key("  Best Bread Recipes! ") == anchor_key("best bread recipes") == "best bread recipes"
    assert anchor_key(" -- ") is None and anchor_key(None) is None


def test_subdomains_of_hosting_platforms_are_separate_sites() -> None:
    rows = [{"source_url": f"https://user{i}.blogspot.com/2024/01/post.html", "target_url": TARGET}
            for i in range(6)]
    rows += [{"source_url": f"https://news.bbc.co.uk/a/{i}", "target_url": TARGET} for i in range(3)]
    rows += [{"source_url": f"https://www.bbc.co.uk/b/{i}", "target_url": TARGET} for i in range(2)]
    # wordpress.com is not on the Public Suffix List: its users' blogs are still separate sites
    rows += [{"source_url": f"https://writer{i}.wordpress.com/2024/01/post/", "target_url": TARGET}
             for i in range(4)]
    stats = profile_of(rows)
    assert stats.features(rows[0])["prof_domain_rows"] == 1.0
    assert stats.features(rows[0])["prof_path_domains"] == 6.0
    assert stats.features(rows[10])["prof_domain_rows"] == 5.0
    assert stats.features(rows[-1])["prof_domain_rows"] == 1.0
    assert stats.features(rows[-1])["prof_path_domains"] == 4.0


def test_percentiles_mid_rank_with_ties(profile) -> None:
    rows = [{"source_url": f"https://s{i}.com/x", "target_url": TARGET, "page_authority": float(v)}
            for i, v in enumerate([0, 0, 0, 10, 20, 20, 50, 90])]
    stats = profile_of(rows)
    pct = [stats.features(r)["prof_page_authority_pct"] for r in rows]
    assert pct[0] == pytest.approx(1.5 / 8)  # three tied lowest values: mid-rank
    assert pct[3] == pytest.approx(3.5 / 8)
    assert pct[4] == pytest.approx(5 / 8)
    assert pct[7] == pytest.approx(7.5 / 8)
    assert math.isnan(stats.features(rows[0])["prof_traffic_pct"])  # the profile has no traffic
    # a value between kept values (another batch's row) is interpolated
    assert stats.percentile("page_authority", 15.0) == pytest.approx(4 / 8)  # exact: 4 values below
    assert stats.percentile("page_authority", -1.0) == 0.0
    assert stats.percentile("page_authority", 1000.0) == 1.0


def test_percentile_sketch_is_close_to_exact() -> None:
    rng = random.Random(7)
    rows = [{"source_url": f"https://d{i % 3000}.net/p{i}", "target_url": TARGET,
             "traffic": float(int(rng.lognormvariate(5, 2))), "page_authority": float(rng.randint(0, 60))}
            for i in range(20_000)]
    builder = ProfileBuilder().add_all(rows)
    exact = builder.build()
    sketch = builder.build(exact_values=200, sketch_points=129)
    assert exact.pct["traffic"][0].size > 200  # the sketch really is used
    assert sketch.pct["traffic"][0].size <= 129
    assert np.array_equal(exact.pct["page_authority"][0], sketch.pct["page_authority"][0])  # 61 values
    diffs = [abs(exact.percentile("traffic", r["traffic"]) - sketch.percentile("traffic", r["traffic"]))
             for r in rows[:3000]]
    assert max(diffs) < 1 / 128
    # values the profile does not hold: the sketch stays within its rank spacing too
    for x in (0.5, 3.7, 150.5, 2999.9, 1e6):
        assert abs(exact.percentile("traffic", x) - sketch.percentile("traffic", x)) < 1 / 128


def test_serialisation_round_trip(profile) -> None:
    rows, stats = profile
    again = ProfileStats.from_bytes(stats.to_bytes())
    for r in rows:
        a, b = stats.features(r), again.features(r)
        assert a.keys() == b.keys()
        for k in a:
            assert (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == pytest.approx(b[k], rel=1e-6), k
    with pytest.raises(ValueError):
        ProfileStats.from_bytes(b"not a profile")
    assert again.to_bytes() == stats.to_bytes()  # no time stamp inside: same profile, same bytes


def test_cut_tables_say_unknown_not_one() -> None:
    rows = [dict(_network(i), anchor_text=f"anchor {i % 7}") for i in range(70)]
    rows += [dict(_editorial(i)) for i in range(10)]
    cut = ProfileBuilder().add_all(rows).build(max_keys=3)
    assert cut.tables["anchor"][0].size == 3 and cut.tables["anchor"][2] > 0
    lone = cut.features(rows[-1])
    assert math.isnan(lone["prof_anchor_domains"])  # absent from a cut table: at most the floor, unknown
    full = ProfileBuilder().add_all(rows).build()
    assert full.features(rows[-1])["prof_anchor_domains"] == 1.0


def test_nested_metrics_and_batch_helper(profile) -> None:
    rows, stats = profile
    nested = [{k: v for k, v in r.items() if k not in ("page_authority", "domain_authority", "traffic",
                                                       "outbound_links")}
              | {"metrics": {"page_authority": r.get("page_authority")}} for r in rows]
    feats = features_of_batch([*nested, None])
    assert all(math.isnan(v) for v in feats[-1].values())
    for r, f in zip(rows, feats[:-1], strict=True):
        assert f["prof_page_authority_pct"] == pytest.approx(stats.features(r)["prof_page_authority_pct"])


def test_topic_mismatch_of_a_repurposed_domain() -> None:
    stats = profile_of([_editorial(0)])
    same = stats.features({"source_url": "https://www.worldhealthcareblog.org/x", "target_url": TARGET,
                           "source_title": "Health care reform in China"})
    other = stats.features({"source_url": "https://www.worldhealthcareblog.org/y", "target_url": TARGET,
                            "source_title": "Meilleur casino en ligne 2024: bonus sans depot"})
    assert same["prof_domain_topic_mismatch"] == 0.0
    assert other["prof_domain_topic_mismatch"] == 1.0


def test_stats_are_the_same_in_another_process() -> None:
    """Scoring processes look keys up in stats built elsewhere: nothing may depend on the process
    (Python's own str hash is salted per process)."""
    import os
    import subprocess
    import sys

    assert stable_hash("a") == (0xE8B7BE43 << 32 | 0x00620062)  # fixed by the algorithm
    code = ("import sys; from features.profile import profile_of; "
            "rows = [{'source_url': f'https://n{i}.site/domain-list-{i}/', 'anchor_text': 'buy bread', "
            "'source_title': 'Where to buy aged domains', 'traffic': float(i)} for i in range(30)]; "
            "sys.stdout.buffer.write(profile_of(rows).to_bytes())")
    rows = [{"source_url": f"https://n{i}.site/domain-list-{i}/", "anchor_text": "buy bread",
             "source_title": "Where to buy aged domains", "traffic": float(i)} for i in range(30)]
    here = profile_of(rows)
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=os.pathsep.join(sys.path))
    there = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True,
                           timeout=120).stdout
    assert there == here.to_bytes()
    again = ProfileStats.from_bytes(there)
    assert again.features(rows[0])["prof_path_domains"] == 30.0


def test_request_style_values_never_crash() -> None:
    rows = [{"source_url": "https://a.com/x", "target_url": TARGET, "traffic": "1,240",
             "source_title": ["not", "text"], "anchor_text": 7, "page_authority": True},
            {"source_url": "https://b.com/y", "target_url": TARGET, "traffic": 12},
            {"source_url": None, "target_url": TARGET}, {"source_url": "https://c.com/y", "traffic": "n/a"}]
    feats = features_of_batch(rows)
    assert feats[0]["prof_traffic_pct"] == pytest.approx(0.75)  # 1240 above 12
    assert feats[1]["prof_traffic_pct"] == pytest.approx(0.25)
    assert math.isnan(feats[0]["prof_title_domains"]) and math.isnan(feats[0]["prof_anchor_domains"])
    assert math.isnan(feats[0]["prof_page_authority_pct"])  # a flag is not a metric value
    assert all(math.isnan(v) for v in feats[2].values())
    assert math.isnan(feats[3]["prof_traffic_pct"]) and feats[3]["prof_domain_rows"] == 1.0


def test_folding_buffers_does_not_change_the_stats(profile) -> None:
    rows, _ = profile
    rng = random.Random(3)
    stream = [dict(r, traffic=float(rng.randrange(50)), source_url=r["source_url"]) for r in rows * 3]
    rng.shuffle(stream)
    once = ProfileBuilder().add_all(stream).build()
    folded = ProfileBuilder(compact_rows=7).add_all(stream).build()
    assert (once.rows, once.domains) == (folded.rows, folded.domains)
    for kind, (keys, counts, floor) in once.tables.items():
        k2, c2, f2 = folded.tables[kind]
        assert np.array_equal(keys, k2) and np.array_equal(counts, c2) and floor == f2, kind
    for m, arrays in once.pct.items():
        assert all(np.array_equal(a, b) for a, b in zip(arrays, folded.pct[m], strict=True)), m
    assert once.to_bytes() == folded.to_bytes()


def test_merged_builders_equal_one_builder(profile) -> None:
    import pickle

    rows, _ = profile
    stream = rows * 2 + [{"source_url": "https://x.org/a", "target_url": TARGET, "traffic": 3.0}]
    whole = ProfileBuilder().add_all(stream).build()
    left = ProfileBuilder(compact_rows=5).add_all(stream[::2])
    right = pickle.loads(pickle.dumps(ProfileBuilder().add_all(stream[1::2])))  # as from another process
    merged = left.merge(right).build()
    assert merged.to_bytes() == whole.to_bytes()


def test_lean_profile_gives_the_scores_of_the_full_one(profile) -> None:
    """A lean builder (the batch pass without --explain) counts only what the worth score reads: the
    scorer's results are the same as with the full profile, its uncounted features are NaN (not
    "seen once"), and the lean stats survive the file round trip."""
    from serving.scoring import Scorer

    rows, full = profile
    lean = ProfileBuilder(lean=True).add_all(rows).build()
    again = ProfileStats.from_bytes(lean.to_bytes())
    assert again.counted == lean.counted and full.counted is None
    scorer = Scorer.load()
    assert scorer.score(rows, profile=again) == scorer.score(rows, profile=full)
    for r in rows:
        got, want = again.features(r), full.features(r)
        for name in ("prof_template_domains", "prof_path_domains", "prof_domain_rows", "prof_page_authority_pct"):
            assert got[name] == want[name] or (math.isnan(got[name]) and math.isnan(want[name])), name
        for name in ("prof_title_domains", "prof_anchor_domains", "prof_traffic_pct", "prof_domain_topic_mismatch"):
            assert math.isnan(got[name]), name
    assert any(full.features(r)["prof_title_domains"] >= 2 for r in rows)  # the full one did count titles


def test_profile_pass_beside_the_engine_start_writes_the_same_profile(tmp_path) -> None:
    """The profile pass runs in a thread while the engine starts: the same bytes as run alone, its
    error raised to the caller, and stopped (nothing written) when the engine's start fails."""
    from pathlib import Path

    from serving.batch_options import BatchOptions
    from serving.batch_profile import ProfileStopped, build_profile, profile_beside
    from serving.export_rows import ExportFormatError

    export = Path(__file__).parent / "fixtures" / "exports" / "ahrefs_utf16.tsv"
    alone, beside = tmp_path / "alone.npz", tmp_path / "beside.npz"
    build_profile([export], BatchOptions(), None, alone)
    with profile_beside([export], BatchOptions(), None, beside):
        pass
    assert beside.read_bytes() == alone.read_bytes()

    with pytest.raises(ExportFormatError), profile_beside([tmp_path / "gone.csv"], BatchOptions(), None,
                                                          tmp_path / "x.npz"):
        pass

    import threading

    stop = threading.Event()
    stop.set()
    with pytest.raises(ProfileStopped):
        build_profile([export], BatchOptions(), None, tmp_path / "stopped.npz", stop)
    assert not (tmp_path / "stopped.npz").exists()
    with pytest.raises(RuntimeError, match="engine"), profile_beside([export], BatchOptions(), None,
                                                                     tmp_path / "failed.npz"):
        raise RuntimeError("engine failed to start")


def test_split_source_equals_its_string_cuts() -> None:
    """The one-regex URL cut behind the profile pass and look-ups is the string cuts it replaced, on
    real shapes and on any string of the characters that matter (schemes, slashes, query, fragment)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from features.profile import _split_source_cuts, split_source

    for url in ("https://www.a.org/b/c?d=1#e", "//cdn.x.net/p", "a.org/x", "http://u@h:80", "ftp://h/#",
                "https://h?q=/x", "", "x://", "mailto:a@b.c", "https://h/a\nb?c", "abcdefghij://late/p"):
        assert split_source(url) == _split_source_cuts(url), url

    @settings(max_examples=3000, deadline=None)
    @given(st.text(alphabet=st.sampled_from(list("ab:/?#.\n@[]é ")), max_size=30))
    def same(url: str) -> None:
        assert split_source(url) == _split_source_cuts(url)

    same()


def _export_of(rows: list[dict[str, object]], path) -> None:
    """A small canonical CSV export of profile rows (the columns linkq's own format reads)."""
    import csv

    cols = ["source_url", "target_url", "anchor_text", "source_title", "domain_authority", "page_authority",
            "traffic", "outbound_links"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow(["" if r.get(c) is None else r.get(c) for c in cols])


@pytest.mark.parametrize("explain", [False, True])
def test_profile_pass_counted_in_a_pool_writes_the_same_profile(tmp_path, profile, explain) -> None:
    """Batches counted in other processes (and, when those are busy, here) merge into the same bytes
    as one pass in this process: small batches, one or several in flight."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from serving.batch_options import BatchOptions
    from serving.batch_profile import build_profile

    rows, _ = profile
    export = tmp_path / "links.csv"
    _export_of(rows * 3 + [{"source_url": "nohost", "target_url": TARGET}], export)
    opts = BatchOptions(explain=explain)
    alone = tmp_path / "alone.npz"
    build_profile([export], opts, None, alone)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        for in_flight, task_rows in ((4, 7), (1, 50), (4, 10_000)):
            pooled = tmp_path / f"pooled-{in_flight}-{task_rows}.npz"
            build_profile([export], opts, None, pooled, executor=pool, in_flight=in_flight, task_rows=task_rows)
            assert pooled.read_bytes() == alone.read_bytes(), (in_flight, task_rows)
    assert ProfileStats.from_bytes(alone.read_bytes()).rows == 3 * len(rows)


def test_many_builders_merge_at_once_as_one_builder(profile) -> None:
    rows, _ = profile
    stream = rows * 2
    whole = ProfileBuilder().add_all(stream).build()
    parts = [ProfileBuilder().add_all(stream[i::5]) for i in range(5)]
    assert parts[0].merge(*parts[1:]).build().to_bytes() == whole.to_bytes()
    with pytest.raises(ValueError, match="lean"):
        ProfileBuilder(lean=True).merge(ProfileBuilder())
