"""URL normalisation and record validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from features.records import LinkRecord, RecordError, parse_date, parse_number, parse_record
from features.urls import registered_domain, url_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.Example.com/path/", "http://example.com/path"),
        ("http://example.com/a?utm_source=x&id=3#frag", "https://example.com/a?id=3"),
        ("https://example.com:443/", "http://example.com"),
        ("http://example.com/blog/index.html", "http://example.com/blog/"),
        ("example.com/page", "https://www.example.com/page/"),
    ],
)
def test_same_url_key(a: str, b: str) -> None:
    assert url_key(a) == url_key(b)


def test_relative_href_resolves_against_source() -> None:
    assert url_key("../b/c?fbclid=1", base="https://site.org/a/x/") == "site.org/a/b/c"


@pytest.mark.parametrize("href", ["mailto:a@b.c", "javascript:void(0)", "#top", "tel:123", ""])
def test_non_links_have_no_key(href: str) -> None:
    assert url_key(href, base="https://a.com/") is None


def test_registered_domain_uses_public_suffix_list() -> None:
    assert registered_domain("https://news.bbc.co.uk/x") == "bbc.co.uk"
    assert registered_domain("a.b.example.com") == "example.com"


def test_numbers_and_dates_as_exports_write_them() -> None:
    assert parse_number("1,240") == 1240.0
    assert parse_number("35%") == 35.0
    assert parse_number("true") == 1.0
    assert parse_number("") is None
    assert parse_date("Sep 15, 2026") == "2026-09-15"
    assert parse_date("28/09/2026") == "2026-09-28"
    assert parse_date("nonsense") is None


def test_valid_record_with_nested_metrics() -> None:
    rec = parse_record({"source_url": "https://a.com/x", "target_url": "b.com", "anchor_text": " B ",
                        "metrics": {"domain_authority": "54", "first_seen": "2024-01-02"}})
    assert isinstance(rec, LinkRecord)
    assert rec.target_url == "http://b.com"
    assert rec.metrics.domain_authority == 54.0 and rec.metrics.first_seen == "2024-01-02"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"target_url": "https://b.com"}, "missing required field(s): source_url"),
        ({"source_url": "not a url", "target_url": "https://b.com"}, "source_url"),
        ({"source_url": "ftp://a.com/x", "target_url": "https://b.com"}, "not an http(s) URL"),
        ({"source_url": "https://a.com", "target_url": "https://b.com", "source_html": b"%PDF-1.4 ..."}, "PDF"),
        ({"source_url": "https://a.com", "target_url": "https://b.com", "source_html": b"\x00\x01\x02" * 10}, "binary"),
        ({"source_url": "https://a.com", "target_url": "https://b.com", "source_html": "x" * (6 * 1024 * 1024)}, "limit"),
        ({"source_url": "https://a.com", "target_url": "https://b.com", "source_html": 12}, "must be text"),
        ("just a string", "must be an object"),
    ],
)
def test_bad_records_give_clear_errors(raw: object, message: str) -> None:
    rec = parse_record(raw)  # type: ignore[arg-type]
    assert isinstance(rec, RecordError)
    assert message in rec.message


def test_declared_encoding_is_honoured() -> None:
    html = '<html><head><meta charset="windows-1252"></head><body><p>caf\xe9</p></body></html>'.encode("cp1252")
    rec = parse_record({"source_url": "https://a.com", "target_url": "https://b.com", "source_html": html})
    assert isinstance(rec, LinkRecord) and "café" in (rec.source_html or "")


def test_metrics_fields_follow_the_canonical_list() -> None:
    import dataclasses

    from features.records import METRIC_FIELDS, Metrics, parse_metrics

    assert tuple(f.name for f in dataclasses.fields(Metrics)) == METRIC_FIELDS
    flat = parse_metrics({"domain_authority": "54", "first_seen": " 2026-01-02 ", "traffic": float("nan")})
    nested = parse_metrics({"metrics": {"domain_authority": 54.0}, "first_seen": "2026-01-02", "traffic": ""})
    assert flat == nested == Metrics(domain_authority=54.0, first_seen="2026-01-02")
    # a nested value wins over the flat one; text metrics are compared squeezed and lower-cased,
    # a long cell cut to 200 characters like a short one is
    both = parse_metrics({"domain_authority": 10.0, "metrics": {"domain_authority": 54.0},
                          "link_type": "  Text \n Link ", "platform": "Word Press " * 60})
    assert both.domain_authority == 54.0 and both.link_type == "text link"
    assert both.platform == ("word press " * 60).strip()[:200]


def test_split_url_equals_urlsplit() -> None:
    """The fast path of split_url must give urlsplit's result for every URL."""
    import gzip
    import itertools
    from urllib.parse import urlsplit

    from features.urls import netloc_hostname, split_url

    parts = ["http://", "https://", "HTTP://", "ftp://", "//", ""]
    hosts = ["example.com", "www.Ex-ample.co.uk:8080", "user:pw@host.org", "[::1]:80", "xn--bcher-kva.de", "",
             "bücher.de", "h.com\t", "a.b"]
    tails = ["", "/", "/a/b/", "/p?q=1&r=2", "/p#frag?x", "?q", "#f", "/a?b#c?d", "/ü/ß?x=ü", "/a b", "/%20x",
             "/a\\b", "/[x]", "/a?b=[1]", "/x\n", ";params/x", "/a\x7fb", "/\x01", "/~!$&'()*+,;=:@"]
    urls = ["".join(t) for t in itertools.product(parts, hosts, tails)]
    fixtures = Path(__file__).parent / "fixtures" / "pages"
    for page in sorted(fixtures.glob("*.html.gz"))[:5]:
        html = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
        urls += re.findall(r'href="([^"]+)"', html)
    assert len(urls) > 900
    for u in urls:
        try:
            want = urlsplit(u)
        except ValueError:
            with pytest.raises(ValueError):
                split_url(u)
            continue
        got = split_url(u)
        assert got == want, u
        assert got.hostname == want.hostname == netloc_hostname(got.netloc), u
    # host_of's direct cut of plain URLs gives the general path's host
    from features.urls import _host_of_split, host_of

    more = [u + t for u in urls for t in ("", "\t", " ", "/x\n")] + [
        "http://WWW.Example.COM", "https://www.a.b/c", "http://a%41.com/", "http://h.com\\x/", "http://", "https://?q",
        "http://#f", "http://exa mple.com/", "http://ex\tample.com/p", "https://xn--bcher-kva.de/ü", "http://a.b:80/"]
    for u in more:
        assert host_of(u) == _host_of_split(u), u
    # and check_url's shortcut for plain URLs says what its general path says
    from features import urls as urls_mod

    def outcome(u: str) -> str:
        try:
            return "ok " + urls_mod._check_url(u)
        except urls_mod.InvalidURL as exc:
            return "invalid " + str(exc)

    fast = [outcome(u) for u in more + ["http://localhost/x", "https://nodot/", "http://a.b", "http://.../"]]
    real = urls_mod._plain_netloc
    try:
        urls_mod._plain_netloc = lambda url: None
        slow = [outcome(u) for u in more + ["http://localhost/x", "https://nodot/", "http://a.b", "http://.../"]]
    finally:
        urls_mod._plain_netloc = real
    assert fast == slow


def test_records_built_without_init_equal_records_built_with_it() -> None:
    """parse_record makes LinkRecord and Metrics without their __init__ (a fast path): the objects
    must equal, hash and read like constructed ones, with every field set."""
    import dataclasses

    from features.records import LinkRecord, Metrics, parse_record

    raw = {"source_url": " https://a.example.org/p ", "target_url": "shop.example.com/x", "anchor_text": "red shoes",
           "rel": "nofollow  ugc", "source_title": "T", "context_left": "left", "traffic": "1,240",
           "domain_authority": 54, "first_seen": "2024-03-01", "metrics": {"spam_score": "7%"}}
    got = parse_record(raw)
    want = LinkRecord(source_url="https://a.example.org/p", target_url="http://shop.example.com/x",
                      anchor_text="red shoes", rel="nofollow ugc", source_title="T", context_left="left",
                      metrics=Metrics(domain_authority=54.0, traffic=1240.0, spam_score=7.0, first_seen="2024-03-01"))
    assert got == want and hash(got) == hash(want) and repr(got) == repr(want)
    for obj in (got, got.metrics):
        assert list(vars(obj)) == [f.name for f in dataclasses.fields(obj)]
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.source_url = "x"  # type: ignore[misc]


def test_one_registered_domain_definition_knows_the_private_suffixes() -> None:
    """A user's site on a hosting platform is its own site everywhere: features, profile, report,
    disavow and the terminal summary all read features.urls.registered_domain."""
    from features.profile import _site_of_host
    from features.urls import registered_domain
    from serving.scored_file import site_of
    from serving.table import _domain

    assert registered_domain("https://spam.blogspot.com/p/1") == "spam.blogspot.com"
    assert registered_domain("news.bbc.co.uk") == "bbc.co.uk"
    assert site_of("https://spam.blogspot.com/p/1") == "spam.blogspot.com"
    assert _domain("https://spam.blogspot.com/p/1") == "spam.blogspot.com"
    assert _site_of_host("someone.github.io")[0] == "someone.github.io"
