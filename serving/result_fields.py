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
