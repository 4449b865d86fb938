"""The worth score: a link's evidence read as the seed's six factors, plus the source and the profile.

A strong link is editorial (placement), on topic (relevance), from a trusted site and page
(authority) that people visit (traffic), with a natural anchor (anchor), given freely (intent). Each
factor turns the evidence it has into a value in [-1, 1] (how far that evidence pushes towards
"worth having" or "worthless"), and the score is the logistic of a weighted sum of them:

    score = 1 / (1 + exp(-(bias + sum_k weight_k * value_k)))

so every factor's part of a score is exact and additive (its ``weight * value`` in log-odds), and the
reasons say what each factor found, in words. A factor without evidence contributes nothing and says
"unknown". Each value is monotone in its evidence, in the direction known from how search engines
treat links (more page authority never lowers a score, rel=sponsored never raises one): retraining on
a user's labels (``linkq train``) changes the weights, never the directions.

Why weights and not a tree model here: there is no public set of labelled backlinks with tool
metrics, so the shipped weights are priors written down in ``data/DATASHEET.md`` (checked, not
fitted, on the expert panel of ``make eval``); the editorial-placement part with a page comes from
the LightGBM link model trained on the corpora's gold main-content labels.

Units: authority values are the tools' 0-100 scores; traffic and link counts are log10(1 + x).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

FACTORS = ("placement", "relevance", "authority", "traffic", "anchor", "intent", "source", "patterns")

DEFAULT_WEIGHTS: dict[str, float] = {
    "placement": 1.0,
    "relevance": 0.6,
    "authority": 2.2,
    "traffic": 0.8,
    "anchor": 1.2,
    "intent": 0.8,
    "source": 2.0,
    "patterns": 1.5,
}
DEFAULT_BIAS = 0.0
PAGE_PLACEMENT_WEIGHT = 2.5
NETWORK_DOMAINS = 5  # referring domains sharing one short generated page path: a network, not chance  # with the page, where the link sits is measured, not read off a tool flag


@dataclass(frozen=True)
class FactorModel:
    """Weights of the factors (log-odds per unit of factor value) and the bias."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    bias: float = DEFAULT_BIAS
    page_placement_weight: float = PAGE_PLACEMENT_WEIGHT

    def to_json(self) -> dict:
        return {"weights": dict(self.weights), "bias": self.bias, "page_placement_weight": self.page_placement_weight,
                "factors": list(FACTORS)}

    @classmethod
    def from_json(cls, d: Mapping | None) -> FactorModel:
        if not d:
            return cls()
        w = dict(DEFAULT_WEIGHTS)
        w.update({k: float(v) for k, v in d.get("weights", {}).items() if k in DEFAULT_WEIGHTS})
        return cls(weights=w, bias=float(d.get("bias", DEFAULT_BIAS)),
                   page_placement_weight=float(d.get("page_placement_weight", PAGE_PLACEMENT_WEIGHT)))


def _col(cols: Mapping[str, np.ndarray], name: str, n: int) -> np.ndarray:
    got = cols.get(name)
    return np.full(n, np.nan) if got is None else np.asarray(got, dtype=np.float64)


def _clip(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -1.0, 1.0)


def _known(x: np.ndarray) -> np.ndarray:
    return ~np.isnan(x)


def _mean_known(parts: Sequence[tuple[np.ndarray, float]], n: int) -> np.ndarray:
    """Weighted mean of the known parts of each row; NaN where no part is known."""
    num = np.zeros(n)
    den = np.zeros(n)
    for values, w in parts:
        ok = _known(values)
        num[ok] += w * values[ok]
        den[ok] += w
    out = np.full(n, np.nan)
    has = den > 0
    out[has] = num[has] / den[has]
    return out


def _sum_known(parts: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Sum of the known parts of each row, clipped to [-1, 1]; NaN where none is known."""
    total = np.zeros(n)
    any_known = np.zeros(n, dtype=bool)
    for values in parts:
        ok = _known(values)
        total[ok] += values[ok]
        any_known |= ok
    out = np.full(n, np.nan)
    out[any_known] = _clip(total[any_known])
    return out


def _flag(x: np.ndarray, value_if_on: float, value_if_off: float = np.nan) -> np.ndarray:
    out = np.full(len(x), np.nan)
    out[x >= 0.5] = value_if_on
    out[(x < 0.5) & _known(x)] = value_if_off
    return out


PAGE_LOGIT_SCALE = 3.0  # with the page, placement = logit(editorial probability) / 3, clipped to [-1, 1]


def editorial_words(placement: float) -> str:
    """The link model's editorial probability behind a with-page placement value, for the reasons:
    'p=0.31', or 'p>0.95' / 'p<0.05' where the value is clipped (|logit| >= 3)."""
    if placement >= 1.0:
        return f"p>{1 / (1 + np.exp(-PAGE_LOGIT_SCALE)):.2f}"
    if placement <= -1.0:
        return f"p<{1 / (1 + np.exp(PAGE_LOGIT_SCALE)):.2f}"
    return f"p={1 / (1 + np.exp(-PAGE_LOGIT_SCALE * placement)):.2f}"


def tool_placement(cols: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """The placement the export's own columns give (in-content, site-wide, frame/form, redirect,
    grouped links) in [-1, 1], NaN where the export says nothing about placement."""
    c = lambda name: _col(cols, name, n)  # noqa: E731
    return _sum_known([
        _flag(c("metric_in_content"), 0.6, -0.15),
        _flag(c("metric_sitewide"), -0.8),
        _flag(c("metric_link_frame_form"), -1.0),
        _flag(c("metric_link_redirect"), -0.3),
        np.where(c("metric_log_links_in_group") > 1.0, -0.3, np.nan),
    ], n)


def factor_values(cols: Mapping[str, np.ndarray], n: int, with_page: np.ndarray,
                  editorial_prob: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each factor's value in [-1, 1] per row (NaN: no evidence), from feature columns by name.

    ``with_page``: rows whose source page was read (their placement is measured on the page);
    ``editorial_prob``: the link model's probability that such a link is editorial (NaN elsewhere).
    """
    c = lambda name: _col(cols, name, n)  # noqa: E731 - a short reader for the columns below
    out: dict[str, np.ndarray] = {}

    # placement: measured on the page, else the tool's own placement flags. Not the link model's
    # reading of an export row without them: measured on the expert panel, it lowered the ROC-AUC
    # from 0.991 to 0.918 (the corpora's template links are not what makes a real backlink weak).
    tool = tool_placement(cols, n)
    placement = tool
    if editorial_prob is not None:
        p = np.clip(np.asarray(editorial_prob, dtype=np.float64), 1e-3, 1 - 1e-3)
        page = _clip(np.log(p / (1 - p)) / PAGE_LOGIT_SCALE)
        placement = np.where(with_page & _known(page), page, tool)
    out["placement"] = placement

    # relevance: the source page (or its title) against the target
    sim = np.where(_known(c("sim_page_target")), c("sim_page_target"), c("sim_title_target"))
    out["relevance"] = _clip((sim - 0.3) / 0.3)

    # authority: the page's own measure first, then the site's, each on the tool's scale and
    # against the rest of this profile; a platform's domain authority is not lent to its users
    pa = c("metric_page_authority")
    pa_abs = _clip((np.log1p(np.maximum(pa, 0)) - math.log1p(3.0)) / (math.log1p(25.0) - math.log1p(3.0)))
    pa_pct = 2.0 * c("prof_page_authority_pct") - 1.0
    platform = c("src_platform_user") >= 0.5
    da = np.where(platform, np.nan, c("metric_domain_authority"))
    da_val = _clip((da - 20.0) / 40.0)
    rank = c("src_majestic_rank")
    majestic = np.where(platform, np.nan, _clip(1.0 - rank / 5.0))
    wiki = np.where(platform, np.nan, c("src_wiki_reliability"))
    out["authority"] = _mean_known([(pa_abs, 2.0), (pa_pct, 1.0), (da_val, 0.7), (majestic, 1.5), (wiki, 1.5)], n)

    # traffic: visits of the page, of the site, and the keywords the page ranks for
    out["traffic"] = _mean_known([
        (_clip((c("metric_log_traffic") - 1.0) / 2.0), 1.0),
        (np.where(platform, np.nan, _clip((c("metric_log_domain_traffic") - 2.0) / 2.0)), 1.0),
        (_clip((c("metric_log_page_keywords") - 0.5) / 1.5), 0.5),
    ], n)

    # anchor: natural (brand, URL, title, descriptive words) against money and spam keywords
    words = c("anchor_words")
    natural = np.where(_known(words), 0.25, np.nan)
    natural = np.where(c("anchor_generic") >= 0.5, 0.0, natural)
    natural = np.where(c("anchor_empty") >= 0.5, -0.2, natural)
    natural = np.where(c("anchor_overoptimised") >= 0.5, -1.0, natural)
    natural = np.where(c("anchor_commercial_unrelated") >= 0.5, -1.0, natural)
    out["anchor"] = natural

    # intent: what the link's own rel says (and the page's meta robots)
    rel_known = c("rel_known")
    intent = np.where(rel_known >= 0.5, 0.3, np.nan)
    intent = np.where(c("rel_nofollow") >= 0.5, -0.5, intent)
    intent = np.where(c("meta_nofollow") >= 0.5, -0.5, intent)
    intent = np.where(c("rel_ugc") >= 0.5, -0.7, intent)
    intent = np.where(c("rel_sponsored") >= 0.5, -1.0, intent)
    # a keyword anchor that exists to rank something is a manipulative intent, whatever the rel
    intent = np.where((c("anchor_overoptimised") >= 0.5) | (c("anchor_commercial_unrelated") >= 0.5), -1.0, intent)
    out["intent"] = intent

    # source: what kind of page links (generated, directory, user content, copy) and its outlinks
    outbound = np.where(_known(c("page_ext_links")), np.log10(1.0 + c("page_ext_links")), c("metric_log_outbound"))
    out["source"] = _sum_known([
        _flag(c("src_kind_generated"), -1.0),
        _flag(c("src_kind_doorway"), -1.0),
        _flag(c("src_kind_directory"), -0.6),
        _flag(c("src_kind_ugc"), -0.5),
        _flag(c("src_kind_syndication"), -0.4),
        _flag(c("src_spam_listed"), -1.0),
        _flag(c("metric_tool_spam"), -1.0),
        np.where(c("metric_spam_score") >= 60, -1.0, np.nan),
        np.where(_known(outbound), np.clip(-(outbound - 2.0) / 1.0, -1.0, 0.2), np.nan),
        _flag(c("metric_http_ok"), np.nan, -0.5),
    ], n)

    # patterns across the profile: the same short generated page path on many referring domains
    net = c("prof_template_domains")
    out["patterns"] = np.where(_known(net), np.where(net >= NETWORK_DOMAINS, -np.clip(net / 10.0, 0.5, 1.0), 0.0),
                               np.nan)

    # with the page read, every other factor speaks through the link's placement: its value times the
    # probability that the link is editorial. A footer, navigation or comment link passes little of its
    # site's authority or traffic (and its anchor and rel matter as little), so site-level evidence,
    # which is the same for every link of a page, cannot lift a template link above an editorial one.
    if editorial_prob is not None:
        p = np.asarray(editorial_prob, dtype=np.float64)
        gate = np.where(with_page & _known(p), np.clip(p, 0.0, 1.0), 1.0)
        for name in FACTORS:
            if name != "placement":
                out[name] = out[name] * gate
    return out


def combine(values: Mapping[str, np.ndarray], model: FactorModel, n: int,
            with_page: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(score 0-1, each factor's part of the log-odds) per row."""
    logit = np.full(n, model.bias)
    parts: dict[str, np.ndarray] = {}
    for name in FACTORS:
        w = model.weights.get(name, 0.0)
        if name == "placement":
            w = np.where(with_page, model.page_placement_weight, w)
        v = values[name]
        part = np.where(_known(v), w * np.nan_to_num(v), 0.0)
        parts[name] = part
        logit += part
    return 1.0 / (1.0 + np.exp(-logit)), parts


__all__ = ["DEFAULT_WEIGHTS", "FACTORS", "FactorModel", "combine", "editorial_words", "factor_values"]
