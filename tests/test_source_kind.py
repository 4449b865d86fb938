"""Source-page kinds from URL, title and anchor (examples written for the patterns, not export rows)."""

from __future__ import annotations

import pytest

from features.source_kind import KINDS, SourceKind, SourceKinds, is_platform_site, referring_site


@pytest.fixture(scope="module")
def kinds() -> SourceKinds:
    return SourceKinds.load()


@pytest.mark.parametrize(
    ("url", "title", "anchor", "kind"),
    [
        # generated "website worth" / domain-list / aged-domains pages
        ("https://www.example-shop.co.in/domain-list-88", "example-shop.co.in | few of top websites | page no. 88", "", "domain_stats"),
        ("https://some-biz.com/website-list-412/", "website list 412", "mysite", "domain_stats"),
        ("https://aged-stuff.info/list-0123456789abcdef0123456789abcdef", "Where to buy aged domains and backlinks from X", "", "domain_stats"),
        ("https://topmillion.site/othersite-org/", "othersite.org – topmillion.site", "mysite.fr", "domain_stats"),
        ("https://stats.example.net/foo", "acme.com - Website Worth and Traffic", "", "domain_stats"),
        ("https://valeur.example.fr/x", "Estimation de la valeur du site acme.fr", "", "domain_stats"),
        # link lists, directories, URL shorteners
        ("https://linkseller.example/rank-fast/", "Rank on Page One with Dofollow Links", "", "link_list"),
        ("https://cheaplinkseo.site/some-random-article/", "Mental health tips", "mysite.fr", "link_list"),
        ("https://bestarticlesdirectory.com/how-to-do-x/", "How to do X", "mysite", "directory"),
        ("https://annuaire-example.fr/cat/entreprises/", "Annuaire des entreprises", "", "directory"),
        ("https://listing.example.xyz/", "Business Listing Directory | Boost Your Presence", "", "directory"),
        ("https://bit.ly/3abcDEF", "", "", "url_share"),
        ("https://short.example.eu/share/123456", "URL Shared", "mysite.com", "url_share"),
        # profiles, forums, comments, Q&A, social, link in bio
        ("https://forum.example.org/members/jdoe.1234/", "jdoe | Example Forum", "", "profile"),
        ("https://www.example.com/user/jdoe", "jdoe - user profile", "", "profile"),
        ("https://draft.blogger.com/profile/01234567890", "Blogger: User Profile: Jane", "", "profile"),
        ("https://www.example.net/threads/best-tools-2024.12345/", "Best tools 2024 | Example", "", "forum"),
        ("https://example.org/forum/viewtopic.php?t=99", "Topic title - phpBB", "", "forum"),
        ("https://example.org/index.php?topic=1234.15", "Some topic", "", "forum"),
        ("https://club.forumactif.com/t123-some-topic", "Some topic", "", "forum"),
        ("https://www.example.de/foren/allgemein", "Allgemein - Foren", "", "forum"),
        ("https://blog.example.com/2020/01/post/#comment-4567", "A post", "", "comment"),
        ("https://blog.example.com/2020/01/post/?replytocom=4567", "A post", "", "comment"),
        ("https://www.quora.com/What-is-the-best-way-to-do-X", "What is the best way to do X? - Quora", "", "qa"),
        ("https://www.reddit.com/r/seo/comments/abc123/some_thread/", "some thread : r/seo", "", "qa"),
        ("https://x.com/someone/status/123", "", "", "social"),
        ("https://www.linkedin.com/in/jane-doe", "Jane Doe | LinkedIn", "", "social"),
        ("https://linktr.ee/someone", "someone | Linktree", "", "link_in_bio"),
        ("https://lu.ma/someone", "Someone · Events Calendar", "", "link_in_bio"),
        # self-publishing hosts
        ("https://someone.blogspot.com/2019/05/post.html", "My post", "", "ugc_platform"),
        ("https://someone.blogspot.fr/2019/05/post.html", "Mon billet", "", "ugc_platform"),
        ("https://someone.blogspot.com/search/label/travel", "Our World: travel", "", "ugc_platform"),
        ("https://medium.com/@someone/a-story-123abc", "A story", "", "ugc_platform"),
        ("https://someschool.example/app/read-blog/1010_some-keyword-post", "Some keyword post", "", "ugc_platform"),
        ("https://pastebin.com/AbCdEf12", "", "", "ugc_platform"),
        # syndication: the anchor or title credits the original, in several languages
        ("https://aggregator.example/news/123", "Bitcoin climbs", "Read original article on mysite.com", "syndication"),
        ("https://agregateur.example/article/1", "Le bitcoin monte", "Lire l'article original", "syndication"),
        ("https://agregador.example/noticia/1", "El bitcoin sube", "Leer el artículo original", "syndication"),
        ("https://aggregator.example/de/news/1", "Bitcoin steigt", "Quelle: mysite", "syndication"),
        ("https://aggregator.example/es/news/1", "Bitcoin sube", "Fuente: mysite", "syndication"),
        ("https://aggregator.example/zh/news/1", "比特币上涨", "来源：mysite", "syndication"),
        ("https://aggregator.example/jp/news/1", "ビットコイン上昇", "mysite.comで元の記事を読む", "syndication"),
        ("https://aggregator.example/ko/news/1", "비트코인 상승", "mysite.com에서 원본 기사 읽기", "syndication"),
        ("https://aggregator.example/ro/news/1", "Bitcoin crește", "Sursă: mysite", "syndication"),
        ("https://aggregator.example/tr/news/1", "Bitcoin yükseliyor", "Yazar: mysite", "syndication"),
        ("https://copy.example/post", "Some post", "The post Some post appeared first on My Site.", "syndication"),
        # parked, hacked doorways, feeds, wikis, news
        ("https://parked.example/", "This domain is for sale!", "", "parked"),
        ("https://www.example.com/", "Ce nom de domaine est à vendre", "", "parked"),
        ("https://shop.example.com/wp-content/uploads/2x7k/article.php?page=cheap-pills", "cheap pills", "", "hacked_doorway"),
        ("https://unrelated.example/a1b2c3d/some-keyword-page", "some keyword page", "", "hacked_doorway"),
        ("http://rss.example.com/feeds/someone-4", "Someone - Read it at RSS.example", "", "feed"),
        ("https://de.search.yahoo.com/mobile/s?ei=UTF-8&q=something", "something - Yahoo Suche", "mysite.com › a-post", "search"),
        ("https://www.example-engine.com/search?q=my+site", "my site - Search", "", "search"),
        ("https://fr.wikipedia.org/wiki/Micro-entreprise", "Micro-entreprise — Wikipédia", "", "wiki"),
        ("https://www.example-paper.com/news/2024/01/02/story", "Story", "", "news"),
    ],
)
def test_kinds(kinds: SourceKinds, url: str, title: str, anchor: str, kind: str) -> None:
    got = kinds.classify(url, title, anchor)
    assert got.kind == kind, (url, got)
    assert got.evidence  # every kind says why


@pytest.mark.parametrize(
    ("url", "title", "anchor"),
    [
        ("https://www.example-paper.com/2017/05/11/policy-story", "Policy story - Example Paper", "Example brand"),
        ("https://blog.example.fr/avantages-auto-entrepreneur/", "Avantages : ce que vous devez savoir", "La marque"),
        ("https://www.example.org/health/author/jane/", "Jane – Example Health Blog", "interview"),
        ("https://events.example.com/summit-2026/", "Digital Assets Forum | May 2026", ""),
        ("https://docs.example.dev/node.js-guide", "Node.js - a guide", ""),
        ("https://example.com/", "example.com - Home", ""),
        ("", "", ""),
        ("not a url", "", ""),
    ],
)
def test_editorial_and_odd_rows_are_unknown(kinds: SourceKinds, url: str, title: str, anchor: str) -> None:
    assert kinds.classify(url, title, anchor) == SourceKind(None, "", False)


def test_url_cut_matches_urllib() -> None:
    from urllib.parse import urlsplit

    from features.source_kind import _cut_url

    for url in (
        "https://www.example.com/a/b.html?x=1&y=2#frag",
        "http://user@example.com:8080/p",
        "https://example.com",
        "https://example.com?q=1",
        "https://example.com/#c-12",
        "https://example.com/a?b=c?d#e#f",
    ):
        got = urlsplit(url)
        assert _cut_url(url) == (got.netloc, got.path, got.query, got.fragment), url
    assert _cut_url("example.com/a?b")[:2] == ("example.com", "/a")
    assert _cut_url("localhost:8080/x")[0] == "localhost:8080"
    # the string cut of http(s) URLs equals the pattern on any tail
    import itertools

    from features.source_kind import _cut_url_pattern

    tails = ["", "/", "/a/b", "?q", "#f", "/p?q#f", "/p#f?q", "?#", "#?", "/a?b?c#d#e", "/x\ny", "?q\n#f\n"]
    for scheme, host, tail in itertools.product(["http://", "https://"], ["", "a.com", "u@h:8", "[::1]"], tails):
        url = scheme + host + tail
        assert _cut_url(url) == _cut_url_pattern(url), url


def test_user_space(kinds: SourceKinds) -> None:
    assert kinds.classify("https://quesvph.blogspot.com/x.html").user_space
    assert kinds.classify("https://someone.wordpress.com/2008/04/23/post/").user_space
    assert kinds.classify("https://medium.com/@someone/story").user_space
    assert kinds.classify("https://x.com/someone").user_space
    # the platform's own front page and independent sites are not someone's space
    assert not kinds.classify("https://www.blogspot.com/").user_space
    assert not kinds.classify("https://www.example.net/threads/x.1/").user_space
    # a forum on a forum-hosting service is someone's space too (the service's authority is not its own)
    got = kinds.classify("https://club.forumactif.com/t1-x")
    assert (got.kind, got.user_space) == ("forum", True)


def test_precedence_spam_templates_win(kinds: SourceKinds) -> None:
    # a domain-list page on a blog host is still a domain-list page; syndication beats the /news/ path
    got = kinds.classify("https://spam.blogspot.com/domain-list-3", "x", "")
    assert (got.kind, got.user_space) == ("domain_stats", True)
    assert kinds.classify("https://agg.example/news/1", "t", "Source: mysite").kind == "syndication"


def test_memo_gives_equal_results(kinds: SourceKinds) -> None:
    fresh = SourceKinds.load()
    rows = [
        ("https://someone.blogspot.com/a.html", "t", ""),
        ("https://www.example.net/threads/x.1/", "Forum - X", "a"),
        ("https://agg.example/news/1", "t", "Source: mysite"),
    ]
    first = [fresh.classify(*r) for r in rows]
    assert [fresh.classify(*r) for r in rows] == first == [kinds.classify(*r) for r in rows]
    assert fresh == SourceKinds.load()  # memos are not part of equality


def test_pickles_for_worker_processes(kinds: SourceKinds) -> None:
    import pickle

    kinds.classify("https://someone.blogspot.com/a.html", "t", "")
    copy = pickle.loads(pickle.dumps(kinds))
    assert copy == kinds and not copy._urls
    row = ("https://agg.example/news/1", "t", "Quelle: mysite")
    assert copy.classify(*row) == kinds.classify(*row)


def test_kinds_are_listed(kinds: SourceKinds) -> None:
    assert len(set(KINDS)) == len(KINDS)
    for url in ("https://linktr.ee/a", "https://bit.ly/a", "https://someone.tumblr.com/post/1"):
        assert kinds.classify(url).kind in KINDS


@pytest.mark.parametrize(("host", "site", "platform"), [
    ("someone.wordpress.com", "someone.wordpress.com", False),  # the suffix list does not name wordpress.com
    ("blog.someone.wordpress.com", "someone.wordpress.com", False),
    ("wordpress.com", "wordpress.com", True),
    ("help.wordpress.com", "wordpress.com", True),  # the platform's own service, not a user
    ("someone.blogspot.com", "someone.blogspot.com", False),  # the suffix list names blogspot.com
    ("someone.blogspot.fr", "someone.blogspot.fr", False),  # a country variant, by brand label
    ("medium.com", "medium.com", True),  # users' spaces are paths: the host is the platform
    ("en.wikipedia.org", "wikipedia.org", True),
    ("news.bbc.co.uk", "bbc.co.uk", False),
    ("shop.example.com", "example.com", False),
])
def test_referring_site_keeps_a_users_platform_space_apart(host: str, site: str, platform: bool) -> None:
    """One definition of a referring site (disavow lines, the report's sites, the profile's domains):
    a user's subdomain space on a hosting platform is its own site, whatever the suffix list says;
    a platform as a whole is a platform site (never one ``domain:`` line)."""
    assert referring_site(host) == site
    assert is_platform_site(site) is platform



@pytest.mark.parametrize(("url", "site"), [
    ("https://someone.wordpress.com/2025/a-post", "someone.wordpress.com"),
    ("https://www.bbc.co.uk/news/x", "bbc.co.uk"),
    ("http://203.0.113.9/page", "203.0.113.9"),  # no registered domain: the host is the site
    ("not a url", "not a url"),  # no host: the value is its own site, not '' shared with every other
])
def test_referring_site_of_a_url(url: str, site: str) -> None:
    from features.source_kind import referring_site_of_url

    assert referring_site_of_url(url) == site


def test_a_platform_kind_names_its_host_once(kinds: SourceKinds) -> None:
    """The reason reads "ugc platform (host blogspot.com)", not "(host blogspot.com (ugc_platform))":
    the kind is said once, in words, by the reason itself."""
    got = kinds.classify("https://someone.blogspot.com/2018/06/a-post.html", "A post", "")
    assert (got.kind, got.evidence) == ("ugc_platform", "host blogspot.com")
