"""Parse a source page once: lxml tree, text offsets, links with their DOM evidence,
and trafilatura's main content.

Everything per page is computed here in one pass so that a page carrying 50
backlinks is parsed, extracted and measured once (``ParsedPage`` is cached by
the pipeline for the batch). Text measures are in non-whitespace characters so
that indentation in the HTML source does not count as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import trafilatura
from lxml import etree

from .html_text import collapse_ws, norm_text
from .urls import SKIP_SCHEMES, url_key

BLOCK_TAGS = frozenset(
    ["p", "li", "td", "th", "dd", "dt", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "figcaption", "section", "article", "aside", "nav", "header", "footer", "main", "form", "body", "pre", "address", "center", "table", "ul", "ol", "dl", "caption", "summary", "details"]
)
HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
CONTEXT_CHARS = 300  # characters of block text kept on each side of an anchor

# class/id/role vocabulary -> evidence name; matched on lower-cased "class id role itemprop".
VOCAB: dict[str, re.Pattern[str]] = {
    "nav": re.compile(
        r"nav|menu|breadcrumb|toolbar|pagination|pager|skip-?link|kruimel|ariane|brotkrume|migas|briciole|"
        r"paginacion|paginazione|paginierung|seitenzahl"
    ),
    "header": re.compile(r"header|masthead|banner|branding|topbar|top-bar|kopf|en-?tete|cabecera|cabecalho|intestazione|testata"),
    "footer": re.compile(
        r"footer|copyright|bottom|legal|colophon|site-?info|pied|pie-?de-?pagina|piede|rodape|fuss|voet|impressum|"
        r"mentions|aviso-?legal|note-?legali"
    ),
    "sidebar": re.compile(
        r"sidebar|side-bar|widget|rail|aside|secondary|right-?col|left-?col|skyscraper|lateral|seitenleiste|"
        r"randspalte|zijbalk|zijkolom"
    ),
    "comment": re.compile(
        r"comment|reply|respond|disqus|discussion|talkback|kommentar|comentario|reactie|leserbrief|opmerking|"
        r"respuesta|risposta|antwort|avis"
    ),
    "related": re.compile(
        r"related|recommend|popular|trending|most-?read|more-?stories|read-?next|teaser|outbrain|taboola|verwandt|"
        r"aehnlich|ahnlich|similaire|similar|relacionad|correlat|gerelateerd|voir-?aussi|lire-?aussi|"
        r"mehr-?zum|weitere|leia-?tambem|lees-?ook|empfehl|recomend|raccomand|aanbevol|meistgelesen|plus-?lus|"
        r"mas-?leid|piu-?lett|mais-?lid|populaire|populares|popolari"
    ),
    "share": re.compile(
        r"share|social|sharing|follow-?us|facebook|twitter|linkedin|whatsapp|pinterest|partag|teilen|compartir|"
        r"condivid|partilh|delen"
    ),
    "sponsor": re.compile(
        r"sponsor|advert|(^|[\s_-])ads?([\s_-]|$)|promo|affiliate|paid-?content|publicit|werbung|anzeige|annonce|"
        r"reclame|advertenti|anuncio|pubblicit|publicidad|patrocin|gesponsert"
    ),
    "blogroll": re.compile(
        r"blogroll|linkroll|(^|[\s_-])links([\s_-]|$)|friends|partner|directory|(^|[\s_-])liens|enlaces|"
        r"collegamenti|ligacoes"
    ),
    "content": re.compile(
        r"content|article|post|entry|story|body|text|prose|main|contenu|inhalt|contenido|contenuto|conteudo|"
        r"inhoud|artikel|articulo|articolo|artigo|testo|corpo|cuerpo|noticia|notizia|nachricht|beitrag|corps"
    ),
}
# Post metadata (byline, date, tags, categories): inside the article element but not its prose.
# Placement-model evidence only (pm_cls_meta_depth), not a schema column.
META_VOCAB = re.compile(
    r"meta|byline|(^|[\s_-])tags?([\s_-]|$)|tagged|categor|author|posted|dateline|timestamp|kategorie|etiquet|"
    r"schlagw|autor|auteur|rubri"
)
BOILER_VOCAB = ("nav", "header", "footer", "sidebar", "comment", "related", "share", "sponsor", "blogroll")
BOILER_SET = frozenset(BOILER_VOCAB)
# Text-bearing elements whose parents are scored to find the page's main block (see _main_block).
PARA_TAGS = frozenset(["p", "pre", "td", "blockquote", "div"])
MIN_PARA_CHARS = 25  # non-link, non-whitespace characters for an element to count as a paragraph
# Evidence the placement model uses beyond the schema's placement columns (not features of the
# link model): the link against the page's main block, and resiliparse's main-content verdict.
EXTRA_FEATURES: tuple[str, ...] = (
    "pm_in_main", "pm_in_article", "pm_up", "pm_down", "pm_text_dist", "pm_block_vs_main", "pm_ld_vs_main", "pm_main_ld",
    "pm_main_share", "pm_page_ld", "pm_block_nonlink", "pm_cls_meta_depth", "res_has_anchor", "res_has_context", "res_page_share",
    "rd_unlikely", "rd_removed", "rd_weight_min", "rep_href", "rep_anchor", "rep_path_share",
)
# Readability's (readability-lxml 0.9) class/id patterns: its "unlikely candidate" removal and its
# +-25 class weight, applied to the link's ancestors as evidence (not a veto): the conditional
# clean that drops link-dense, comma-poor, negatively weighted blocks from its article is what
# beats a plain main-block test on text-gold corpora, and it costs ~0.1 ms here against
# 11-31 ms for running readability itself.
RD_UNLIKELY = re.compile(
    r"combx|comment|community|disqus|extra|foot|header|menu|remark|rss|shoutbox|sidebar|sponsor|ad-break|"
    r"agegate|pagination|pager|popup|tweet|twitter"
)
RD_MAYBE = re.compile(r"and|article|body|column|content|main|shadow")
RD_POSITIVE = re.compile(r"article|body|content|entry|hentry|main|page|pagination|post|text|blog|story")
RD_NEGATIVE = re.compile(
    r"combx|comment|com-|contact|foot|footer|footnote|masthead|media|meta|outbrain|promo|related|scroll|shoutbox|"
    r"sidebar|sponsor|shopping|tags|tool|widget"
)
RD_CLEANED = frozenset(["table", "ul", "div", "aside", "header", "footer", "section"])
ROLE_TAGS = {"navigation": "nav", "banner": "header", "contentinfo": "footer", "complementary": "aside", "main": "article"}


@dataclass
class PageLink:
    """One qualifying ``<a href>`` of the page with what the page says about it."""

    idx: int
    href: str
    key: str | None
    anchor: str
    image_alt: str | None
    rel: str
    context_left: str
    context_right: str
    dom: dict[str, float]
    extra: dict[str, float] = field(default_factory=dict)  # EXTRA_FEATURES: placement-model evidence only


@dataclass
class ParsedPage:
    """A source page parsed once; see module doc."""

    url: str
    title: str
    lang: str | None
    text_chars: int
    link_text_chars: int
    main_text: str
    main_norm: str
    comments_norm: str
    traf_link_keys: set[str]
    links: list[PageLink]
    meta_nofollow: bool
    meta_noindex: bool
    main_prob: np.ndarray | None = None
    zones: list[str] = field(default_factory=list)
    signals: dict[str, float] | None = None  # page-level features, computed once (page_signals)


def _element_evidence(el: etree._Element) -> tuple[set[str], frozenset[str]]:
    """(tag-level flags, class/id vocabulary hits) contributed by one element."""
    tags: set[str] = set()
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag in ("nav", "header", "footer", "aside", "form", "table", "p", "li", "blockquote"):
        tags.add(tag)
    elif tag in ("article", "main"):
        tags.add("article")
    elif tag in HEADINGS:
        tags.add("heading")
    elif tag in ("td", "th"):
        tags.add("table")
    role = (el.get("role") or "").lower()
    if role in ROLE_TAGS:
        tags.add(ROLE_TAGS[role])
    cls, ident, itemprop = el.get("class"), el.get("id"), el.get("itemprop")
    if not (cls or ident or role or itemprop):
        return tags, frozenset()
    return tags, _attr_vocab(cls, ident, role, itemprop)


@lru_cache(maxsize=65536)
def _attr_vocab(cls: str | None, ident: str | None, role: str, itemprop: str | None) -> frozenset[str]:
    """Class/id/role/itemprop vocabulary hits (VOCAB names, "meta"). Memoised: a page repeats
    its class strings (every menu item, every comment) and a site its templates, and the eleven
    searches per string were ~1 ms of a page's CPU; the same answer as searching each time."""
    attrs = " ".join(filter(None, (cls, ident, role, itemprop))).lower()
    vocab = {name for name, rx in VOCAB.items() if rx.search(attrs)} if attrs else set()
    if (itemprop or "").lower() in ("articlebody", "text"):
        vocab.add("content")
    if attrs and META_VOCAB.search(attrs):
        vocab.add("meta")
    return frozenset(vocab)


_TAG_WEIGHT = {"div": 5.0, "pre": 3.0, "td": 3.0, "blockquote": 3.0, "address": -3.0, "ol": -3.0, "ul": -3.0,
               "dl": -3.0, "dd": -3.0, "dt": -3.0, "li": -3.0, "form": -3.0, "h1": -5.0, "h2": -5.0, "h3": -5.0,
               "h4": -5.0, "h5": -5.0, "h6": -5.0, "th": -5.0}


def _main_block(paras, root, fulltext, start, end, chars, link_chars, evidence):  # noqa: ANN001, ANN202
    """The page's main block, readability-style, as a list: the top element first, then the
    siblings that belong to the same article; and the elements' scores (after link density).

    Each paragraph-like element with enough non-link text gives its parent 1 + commas + up to 3
    per 100 characters, and half of that to its grandparent; a scored element starts from its
    tag's weight and +-25 for a content- or boilerplate-like class/id (any language in VOCAB),
    and its total is discounted by its own link density. Siblings of the top element join when
    they score at least a fifth of it (and 10), or are a prose paragraph with few links. As in
    readability, paragraphs inside an unlikely candidate (comments, sidebars, footers, ... by
    class/id, see ``_unlikely``) are not counted unless that leaves no paragraph: a long comment
    thread is not the article. The body (or root) when the page has no paragraph."""
    keep = _holds_article(root)
    unl: dict[etree._Element, bool] = {}

    def inside_unlikely(el: etree._Element) -> bool:
        chain = []
        x = el
        got = False
        while x is not None:
            if x in unl:
                got = unl[x]
                break
            chain.append(x)
            if _unlikely(x, keep):
                got = True
                break
            x = x.getparent()
        for c in chain:
            unl[c] = got
        return got

    scored = [el for el in paras if not inside_unlikely(el)]
    final = _score_blocks(scored, fulltext, start, end, chars, link_chars, evidence)
    if not any(v > 0 for v in final.values()):
        final = _score_blocks(paras, fulltext, start, end, chars, link_chars, evidence)
    return _pick_main(final, root, start, end, chars, link_chars)


def _holds_article(root: etree._Element) -> set[etree._Element]:
    """Elements that hold a ``<main>`` or ``<article>`` (readability never removes those)."""
    out: set[etree._Element] = set()
    for el in root.iter("main", "article"):
        out.add(el)
        out.update(el.iterancestors())
    return out


def _unlikely(el: etree._Element, keep: set[etree._Element]) -> bool:
    """readability's unlikely candidate: class/id like comments, sidebars, footers, menus (its
    English words, and comment words of VOCAB's languages), not also like an article, not
    html/body, not holding the page's ``<main>``/``<article>``."""
    if not isinstance(el.tag, str) or el.tag in ("html", "body") or el in keep:
        return False
    return _rd_attrs(el.get("class"), el.get("id"))[2]


def _score_blocks(paras, fulltext, start, end, chars, link_chars, evidence) -> dict:  # noqa: ANN001
    """readability's candidate scores (see ``_main_block``), discounted by link density."""
    scores: dict[etree._Element, float] = {}

    def init(el: etree._Element) -> float:
        tags, vocab = evidence(el)
        w = _TAG_WEIGHT.get(el.tag, 0.0) if isinstance(el.tag, str) else 0.0
        if "content" in vocab:
            w += 25.0
        if vocab & BOILER_SET:
            w -= 25.0
        return w

    for el in paras:
        nonlink = chars(start[el], end[el]) - link_chars(el)
        if nonlink < MIN_PARA_CHARS:
            continue
        if el.tag == "div":  # a div counts only for text of its own, not its children's
            own = len((el.text or "").strip()) + sum(len((c.tail or "").strip()) for c in el)
            if own < MIN_PARA_CHARS:
                continue
        s = 1.0 + fulltext.count(",", start[el], end[el]) + min(nonlink / 100.0, 3.0)
        parent = el.getparent()
        if parent is None:
            continue
        if parent not in scores:
            scores[parent] = init(parent)
        scores[parent] += s
        grand = parent.getparent()
        if grand is not None:
            if grand not in scores:
                scores[grand] = init(grand)
            scores[grand] += s / 2

    return {el: sc * (1.0 - _density(el, start, end, chars, link_chars)) for el, sc in scores.items()}


def _density(el, start, end, chars, link_chars) -> float:  # noqa: ANN001
    n = chars(start[el], end[el])
    return link_chars(el) / n if n else 1.0


def _pick_main(final, root, start, end, chars, link_chars):  # noqa: ANN001, ANN202
    """The top-scored element and the siblings that join it (see ``_main_block``), and the scores."""
    best = max(final, key=final.__getitem__, default=None)
    if best is None or final[best] <= 0:
        body = root.find("body")
        return [body if body is not None else root], final
    out = [best]
    parent = best.getparent()
    if parent is not None:
        cut = max(10.0, final[best] * 0.2)
        for sib in parent:
            if sib is best or not isinstance(sib.tag, str):
                continue
            if final.get(sib, -1.0) >= cut:
                out.append(sib)
            elif sib.tag == "p":
                n = chars(start[sib], end[sib])
                if n > 80 and _density(sib, start, end, chars, link_chars) < 0.25:
                    out.append(sib)
    return out, final


@lru_cache(maxsize=65536)
def _rd_attrs(cls: str | None, ident: str | None) -> tuple[float, bool, bool]:
    """readability's class weight (-25 per negative and +25 per positive match, class and id
    apart), whether class + id make an unlikely candidate by its English words, and by those or
    VOCAB's comment words (the main block's rule); memoised like ``_attr_vocab``."""
    w = 0.0
    for attr in (cls, ident):
        if attr:
            a = attr.lower()
            if RD_NEGATIVE.search(a):
                w -= 25.0
            if RD_POSITIVE.search(a):
                w += 25.0
    attrs = f"{cls or ''} {ident or ''}".lower()
    if len(attrs) < 2 or RD_MAYBE.search(attrs):
        return w, False, False
    rd = bool(RD_UNLIKELY.search(attrs))
    return w, rd, rd or bool(VOCAB["comment"].search(attrs))


def _rd_weight(el: etree._Element) -> float:
    return _rd_attrs(el.get("class"), el.get("id"))[0]


def _meta_robots(root: etree._Element) -> tuple[bool, bool]:
    content = " ".join(
        (m.get("content") or "").lower()
        for m in root.iter("meta")
        if (m.get("name") or "").lower() in ("robots", "googlebot")
    )
    return ("nofollow" in content or "none" in content.split(), "noindex" in content or "none" in content.split())


_EN_STOP = frozenset(["the", "and", "of", "to", "in", "is", "that", "for", "it", "with", "as", "was", "on", "are", "be", "by", "this", "have", "from", "or", "at"])


def _guess_lang(root: etree._Element, text: str) -> str | None:
    lang = (root.get("lang") or root.get("xml:lang") or "").strip().lower()[:2]
    if lang:
        return lang
    words = text.lower().split()[:400]
    if len(words) < 20:
        return None
    share = sum(w in _EN_STOP for w in words) / len(words)
    return "en" if share > 0.08 else None


def _resiliparse_text(html: str) -> str:
    """resiliparse's main-content text (~1 ms per page); empty when it fails on the page."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    try:
        return extract_plain_text(HTMLTree.parse(html), main_content=True)
    except Exception:  # noqa: BLE001 - a failed extractor is missing evidence, not a failed page
        return ""


def parse_page(html: str, url: str) -> ParsedPage:
    """Parse ``html`` (already decoded) fetched from ``url``. Raises ValueError on an
    empty or unparseable document; the pipeline turns that into a per-record error."""
    if not html or not html.strip():
        raise ValueError("page HTML is empty")
    if html.lstrip().startswith("<?xml"):
        # lxml refuses str input that declares an encoding; the text is already decoded
        html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html, count=1)
    try:
        # libxml2's HTML parser as lxml.html uses it, without lxml.html's element classes: the
        # same tree, ~0.8 ms less per page in the walks below (each element visit looks up no class)
        root = etree.fromstring(html, etree.HTMLParser())
    except (etree.ParserError, ValueError) as exc:
        raise ValueError(f"page HTML cannot be parsed: {exc}") from exc
    if root is None:
        raise ValueError("page HTML cannot be parsed: Document is empty")
    etree.strip_elements(root, "script", "style", "noscript", with_tail=False)
    title_el = root.find(".//title")
    title = collapse_ws("".join(title_el.itertext())) if title_el is not None else ""
    meta_nofollow, meta_noindex = _meta_robots(root)

    # One pre-order walk: concatenated text with raw offsets for every element.
    pieces: list[str] = []
    pos = 0
    start: dict[etree._Element, int] = {}
    end: dict[etree._Element, int] = {}
    a_before: dict[etree._Element, int] = {}
    a_after: dict[etree._Element, int] = {}
    anchors: list[etree._Element] = []
    paras: list[etree._Element] = []
    # <p>, <img>, visible <input> seen so far, kept at the start and end of the blocks readability
    # cleans conditionally (their counts inside a block are the difference)
    n_p = n_img = n_inp = 0
    cnt0: dict[etree._Element, tuple[int, int, int]] = {}
    cnt1: dict[etree._Element, tuple[int, int, int]] = {}
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            start[el] = pos
            a_before[el] = len(anchors)
            if isinstance(el.tag, str):
                tag = el.tag
                if tag == "a":
                    anchors.append(el)
                elif tag in PARA_TAGS:
                    paras.append(el)
                if tag in RD_CLEANED:
                    cnt0[el] = (n_p, n_img, n_inp)
                elif tag == "p":
                    n_p += 1
                elif tag == "img":
                    n_img += 1
                elif tag == "input" and (el.get("type") or "").lower() != "hidden":
                    n_inp += 1
                if el.tag in BLOCK_TAGS or el.tag == "br":
                    pieces.append(" ")
                    pos += 1
                if el.text:
                    pieces.append(el.text)
                    pos += len(el.text)
        else:
            if isinstance(el.tag, str) and el.tag in BLOCK_TAGS:
                pieces.append(" ")
                pos += 1
                if el.tag in RD_CLEANED:
                    cnt1[el] = (n_p, n_img, n_inp)
            end[el] = pos
            a_after[el] = len(anchors)
            if el.tail and el is not root:
                pieces.append(el.tail)
                pos += len(el.tail)
    fulltext = "".join(pieces)
    codes = np.frombuffer(fulltext.encode("utf-32-le"), dtype=np.uint32) if fulltext else np.zeros(0, np.uint32)
    is_text = ~np.isin(codes, np.array([9, 10, 11, 12, 13, 32, 160, 0x200B], dtype=np.uint32))
    cum = np.concatenate([[0], np.cumsum(is_text, dtype=np.int64)])
    total = int(cum[-1])

    def chars(a: int, b: int) -> int:
        return int(cum[b] - cum[a])

    # Link text per anchor (nws chars) and its prefix sum, for block link density.
    a_len = np.array([chars(start[a], end[a]) for a in anchors], dtype=np.int64)
    a_cum = np.concatenate([[0], np.cumsum(a_len)])
    link_text_chars = int(a_len.sum())

    def link_chars(el: etree._Element) -> int:
        return int(a_cum[a_after[el]] - a_cum[a_before[el]])

    evidence_cache: dict[etree._Element, tuple[set[str], frozenset[str]]] = {}

    def evidence(el: etree._Element) -> tuple[set[str], frozenset[str]]:
        ev = evidence_cache.get(el)
        if ev is None:
            ev = evidence_cache[el] = _element_evidence(el)
        return ev

    article, block_scores = _main_block(paras, root, fulltext, start, end, chars, link_chars, evidence)
    main = article[0]
    article_ranges = [(a_before[el], a_after[el]) for el in article]
    m0, m1 = start[main], end[main]
    m_chars = chars(m0, m1)
    m_ld = link_chars(main) / m_chars if m_chars else 1.0
    m_a0, m_a1 = a_before[main], a_after[main]
    m_levels = {main: 0}
    for d, anc in enumerate(main.iterancestors(), start=1):
        m_levels[anc] = d
    res_norm = " " + norm_text(_resiliparse_text(html)) + " "

    # trafilatura: main content (with its links) and comments, extracted once.
    link_keys: dict[str, str | None] = {}  # href -> url_key: each href is keyed once per page

    def key_of(href: str) -> str | None:
        got = link_keys.get(href, link_keys)
        if got is link_keys:
            got = link_keys[href] = url_key(href, base=url)
        return got  # type: ignore[return-value]

    traf_keys: set[str] = set()
    main_text = ""
    comments_text = ""
    try:
        # fast: no fallback extractors inside trafilatura (half its CPU); the placement model weighs
        # trafilatura's verdict against resiliparse's and the page's own main block instead.
        doc = trafilatura.bare_extraction(
            html, url=url, include_links=True, include_comments=True, with_metadata=False, favor_recall=False,
            fast=True,
        )
    except Exception:  # noqa: BLE001 - trafilatura fails on odd markup; placement falls back to DOM evidence
        doc = None
    if doc is not None:
        main_text = doc.text or ""
        comments_text = doc.comments or ""
        if doc.body is not None:
            for ref in doc.body.iter("ref"):
                k = key_of(ref.get("target") or "")
                if k:
                    traf_keys.add(k)
    main_norm = " " + norm_text(main_text) + " "
    comments_norm = " " + norm_text(comments_text) + " "

    qualifying = [
        a for a in anchors
        if (h := (a.get("href") or "").strip()) and not h.startswith("#") and not h.lower().startswith(SKIP_SCHEMES)
    ]
    n_q = len(qualifying)
    q_keys = [key_of(a.get("href").strip()) for a in qualifying]
    traf_share = sum(1 for k in q_keys if k in traf_keys) / n_q if n_q else 0.0
    a_index = {a: i for i, a in enumerate(anchors)}
    in_article_tag = {el for el in root.iter("article", "main")}
    rd_w: dict[etree._Element, float] = {}
    rd_cut: dict[etree._Element, bool] = {}

    def weight(el: etree._Element) -> float:
        w = rd_w.get(el)
        if w is None:
            w = rd_w[el] = _rd_weight(el)
        return w

    def unlikely(el: etree._Element) -> bool:
        """readability's unlikely-candidate removal (kept: the page's main block and its ancestors)."""
        return el not in m_levels and el.tag not in ("html", "body") and _rd_attrs(el.get("class"), el.get("id"))[1]

    chain_memo: dict[etree._Element, tuple[bool, float, bool]] = {}

    def chain(el: etree._Element | None) -> tuple[bool, float, bool]:
        """Over ``el`` and its ancestors: (any unlikely candidate, lowest class weight, any
        <article>/<main>); memoised per element, so each element is looked at once per page."""
        todo = []
        while el is not None and el not in chain_memo:
            todo.append(el)
            el = el.getparent()
        info = chain_memo[el] if el is not None else (False, 0.0, False)
        for x in reversed(todo):
            if isinstance(x.tag, str):
                info = (info[0] or unlikely(x), min(info[1], weight(x)), info[2] or x in in_article_tag)
            chain_memo[x] = info
        return info

    def cleaned(el: etree._Element, in_art: bool) -> bool:
        """readability's conditional clean of a table/ul/div/aside/header/footer/section."""
        c = rd_cut.get(el)
        if c is None:
            w = weight(el)
            c = False
            if w + block_scores.get(el, 0.0) < 0:
                c = True
            elif fulltext.count(",", start[el], end[el]) < 10:
                p0, i0, n0 = cnt0[el]
                p1, i1, n1 = cnt1[el]
                ps, imgs, inps = p1 - p0, i1 - i0, n1 - n0
                clen = chars(start[el], end[el])
                ld = link_chars(el) / clen if clen else 0.0
                c = (
                    (ps > 0 and imgs > 1 + ps * 1.3) or inps > ps / 3 or (clen < 25 and (imgs == 0 or imgs > 2))
                    or (w < 25 and ld > (0.25 if el.tag in ("ul", "section") and in_art else 0.2))
                    or (w >= 25 and ld > 0.5)
                )
            rd_cut[el] = c
        return c

    # repetition: the same target, the same words, the same place in the template
    sig_memo: dict[etree._Element, str] = {}

    def sig(el: etree._Element | None) -> str:
        """The tags and first classes from ``el`` up to the root (memoised per element)."""
        chain = []
        while el is not None and el not in sig_memo:
            chain.append(el)
            el = el.getparent()
        out = sig_memo[el] if el is not None else ""
        for x in reversed(chain):
            out = sig_memo[x] = f"{out}/{x.tag}.{(x.get('class') or '').split(' ')[0]}"
        return out

    q_anchor = [norm_text(collapse_ws(fulltext[start[a]: end[a]])) for a in qualifying]
    q_sig = [sig(a.getparent()) for a in qualifying]
    n_key: dict[str | None, int] = {}
    n_anc: dict[str, int] = {}
    n_sig: dict[str, int] = {}
    for k, t, g in zip(q_keys, q_anchor, q_sig, strict=True):
        n_key[k] = n_key.get(k, 0) + 1
        n_anc[t] = n_anc.get(t, 0) + 1
        n_sig[g] = n_sig.get(g, 0) + 1
    links: list[PageLink] = []
    for i, a in enumerate(qualifying):
        href = a.get("href").strip()
        key = q_keys[i]
        anchor = collapse_ws(fulltext[start[a]: end[a]])
        img = a.find(".//img")
        image_alt = collapse_ws(img.get("alt") or "") if img is not None else None
        tags: set[str] = set()
        vocab_depth: dict[str, int] = {}
        block = None
        depth = 0
        up = down = -1
        rd_rm = False
        rd_un, rd_wmin, in_art = chain(a.getparent())
        for d, anc in enumerate(a.iterancestors(), start=1):
            depth = d
            if up < 0 and anc in m_levels:
                up, down = d, m_levels[anc]
            if block is None and isinstance(anc.tag, str) and anc.tag in BLOCK_TAGS:
                block = anc
            t, v = evidence(anc)
            tags |= t
            for name in v:
                vocab_depth.setdefault(name, d)
        if block is None:
            block = root
        for anc in a.iterancestors():
            if anc in m_levels:
                break
            if anc.tag in RD_CLEANED and cleaned(anc, in_art):
                rd_rm = True
                break
        b0, b1 = start[block], end[block]
        a0, a1 = start[a], end[a]
        block_chars = chars(b0, b1)
        ai = a_index[a]
        blk_links = a_after[block] - a_before[block]
        blk_link_chars = int(a_cum[a_after[block]] - a_cum[a_before[block]])
        block_text = fulltext[b0: min(b1, b0 + 5000)]
        dom: dict[str, float] = {
            "dom_in_nav": float("nav" in tags),
            "dom_in_header": float("header" in tags),
            "dom_in_footer": float("footer" in tags),
            "dom_in_aside": float("aside" in tags),
            "dom_in_article": float("article" in tags),
            "dom_in_paragraph": float("p" in tags),
            "dom_in_list": float("li" in tags),
            "dom_in_heading": float("heading" in tags),
            "dom_in_table": float("table" in tags),
            "dom_in_form": float("form" in tags),
        }
        for name in VOCAB:
            dom[f"cls_{name}"] = float(name in vocab_depth)
        boiler = [vocab_depth[n] for n in BOILER_VOCAB if n in vocab_depth]
        dom["cls_boiler_depth"] = float(min(boiler)) if boiler else np.nan
        dom["cls_content_depth"] = float(vocab_depth["content"]) if "content" in vocab_depth else np.nan
        dom["block_text_chars"] = float(block_chars)
        dom["block_link_density"] = blk_link_chars / block_chars if block_chars else 1.0
        dom["block_links"] = float(blk_links)
        dom["block_anchor_share"] = float(a_len[ai]) / block_chars if block_chars else 1.0
        dom["block_punct"] = float(sum(block_text.count(c) for c in ".!?;,"))
        # list structure: the <ul>/<ol> that holds the link's <li>
        li = next((x for x in a.iterancestors("li")), None)
        lst = li.getparent() if li is not None else None
        if lst is not None and lst.tag in ("ul", "ol", "menu"):
            items = [c for c in lst if c.tag == "li"]
            linky = 0
            for it in items:
                ic = chars(start[it], end[it])
                il = int(a_cum[a_after[it]] - a_cum[a_before[it]])
                linky += ic > 0 and il / ic > 0.7
            dom["list_items"] = float(len(items))
            dom["list_link_items_share"] = linky / len(items) if items else np.nan
        else:
            dom["list_items"] = 0.0
            dom["list_link_items_share"] = np.nan
        dom["ctx_left_chars"] = float(chars(b0, a0))
        dom["ctx_right_chars"] = float(chars(a1, b1))
        dom["doc_link_pos"] = i / max(n_q - 1, 1)
        dom["doc_text_pos"] = cum[a0] / total if total else 0.0
        dom["dom_depth"] = float(depth)
        dom["traf_has_link"] = float(bool(key) and key in traf_keys)
        an = q_anchor[i] if anchor else norm_text(image_alt or "")  # q_anchor[i] == norm_text(anchor)
        dom["traf_has_anchor"] = float(bool(an) and f" {an} " in main_norm)
        dom["traf_in_comments"] = float(bool(an) and f" {an} " in comments_norm)
        left = norm_text(fulltext[max(b0, a0 - 80): a0]).split()[-4:]
        right = norm_text(fulltext[a1: min(b1, a1 + 80)]).split()[:4]
        window = " ".join(left + an.split() + right)
        dom["traf_has_context"] = float(bool(an) and bool(left or right) and f" {window} " in main_norm)
        dom["traf_page_link_share"] = traf_share
        dom["dom_anchor_words"] = float(len(an.split()))
        tpos = int(cum[a0])
        extra = {
            "pm_in_main": float(m_a0 <= ai < m_a1),
            "pm_in_article": float(any(r0 <= ai < r1 for r0, r1 in article_ranges)),
            "pm_up": float(up),
            "pm_down": float(down),
            "pm_text_dist": (
                (tpos - int(cum[m1])) / total if tpos >= cum[m1] else min(tpos - int(cum[m0]), 0) / total
            ) if total else 0.0,
            "pm_block_vs_main": block_chars / m_chars if m_chars else np.nan,
            "pm_ld_vs_main": dom["block_link_density"] - m_ld,
            "pm_main_ld": m_ld,
            "pm_main_share": m_chars / total if total else 0.0,
            "pm_page_ld": link_text_chars / total if total else 1.0,
            "pm_block_nonlink": float(block_chars - blk_link_chars),
            "pm_cls_meta_depth": float(vocab_depth["meta"]) if "meta" in vocab_depth else np.nan,
            "res_has_anchor": float(bool(an) and f" {an} " in res_norm),
            "res_has_context": float(bool(an) and bool(left or right) and f" {window} " in res_norm),
            "rd_unlikely": float(rd_un),
            "rd_removed": float(rd_rm),
            "rd_weight_min": rd_wmin,
            "rep_href": float(n_key[q_keys[i]]),
            "rep_anchor": float(n_anc[q_anchor[i]]) if q_anchor[i] else np.nan,
            "rep_path_share": n_sig[q_sig[i]] / n_q,
        }
        links.append(
            PageLink(
                idx=i,
                href=href,
                key=key,
                anchor=anchor,
                image_alt=image_alt,
                rel=(a.get("rel") or "").lower(),
                context_left=collapse_ws(fulltext[max(b0, a0 - CONTEXT_CHARS): a0]),
                context_right=collapse_ws(fulltext[a1: min(b1, a1 + CONTEXT_CHARS)]),
                dom=dom,
                extra=extra,
            )
        )
    res_share = sum(lk.extra["res_has_anchor"] for lk in links) / len(links) if links else 0.0
    for lk in links:
        lk.extra["res_page_share"] = res_share
    return ParsedPage(
        url=url,
        title=title,
        lang=_guess_lang(root, main_text or fulltext[:5000]),
        text_chars=total,
        link_text_chars=link_text_chars,
        main_text=main_text,
        main_norm=main_norm,
        comments_norm=comments_norm,
        traf_link_keys=traf_keys,
        links=links,
        meta_nofollow=meta_nofollow,
        meta_noindex=meta_noindex,
    )
