"""The result columns of every scored link, in output order.

A module of its own so that the process that reads exports and writes the output table can name
the columns without importing the model stack (LightGBM, pandas, the page parser).
"""

RESULT_FIELDS = ("score", "verdict", "risk", "reasons", "placement_zone", "status", "flags")

# Manipulation signals: what makes a link *risky* (a disavow candidate) rather than merely worthless.
# (flag name, feature, at least, words of the reason)
FLAG_RULES: tuple[tuple[str, str, float, str], ...] = (
    ("paid", "rel_sponsored", 1.0, "marked rel=sponsored: a paid link"),
    ("spam_source", "src_spam_listed", 1.0, "the source domain is on a public spam list"),
    ("spam_target", "tgt_spam_listed", 1.0, "the target domain is on a public spam list"),
    ("money_anchor", "anchor_overoptimised", 1.0, "an exact-match money-keyword anchor"),
    ("spam_anchor", "anchor_commercial_unrelated", 1.0, "a spam-niche keyword anchor unrelated to the target"),
    ("tool_spam", "metric_tool_spam", 1.0, "the SEO tool marks the source as spam"),
    ("tool_spam_score", "metric_spam_score", 60.0, "the SEO tool's spam score is 60 or more"),
    ("spam_vocabulary", "page_spam_words", 5.0, "the page is full of spam vocabulary"),
    ("network", "prof_template_domains", 5.0, "the same generated page path on 5+ referring domains: a network"),
    ("doorway", "src_kind_doorway", 1.0, "a doorway page in an upload folder of another site"),
)
FLAG_WORDS: dict[str, str] = {name: words for name, _, _, words in FLAG_RULES}

# Flags that speak against the *target* (the user's own site), not the linking page: shown, never a
# reason to disavow the link.
NON_SOURCE_FLAGS = frozenset({"spam_target"})
# A link marked rel=sponsored and nothing else is paid and says so: it passes nothing and hides
# nothing (the labelling guide's risky paid links are the ones presented as editorial).
DECLARED_FLAGS = frozenset({"paid"})


def source_flags(flags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The flags that speak against the linking page (what a disavow file acts on)."""
    return tuple(f for f in flags if f not in NON_SOURCE_FLAGS)


def risk_class(flags: tuple[str, ...] | list[str], verdict: str | None) -> str:
    """The risk axis, which splits the *weak* links: ``risky`` (consider disavowing) when a signal
    against the linking page other than a declared paid link is present, ``worthless`` (ignore it)
    otherwise; '' for links that are not weak. The one rule behind the ``risk`` column, the report
    and ``linkq disavow``."""
    if verdict != "weak":
        return ""
    if any(f not in DECLARED_FLAGS for f in source_flags(flags)):
        return "risky"
    return "worthless"
