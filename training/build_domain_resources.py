"""Build the shipped source-knowledge files in features/resources from ../shared/domains.

Only sources whose licence allows redistribution are written (see each PROVENANCE.md):
- ``majestic_top15k.csv``: Majestic Million, first 15,000 rows (CC BY 3.0, attribution required);
- ``wikipedia_reliability.tsv``: whole-site reliability statuses derived from Wikipedia's perennial-
  sources and WikiProject source lists (CC BY-SA 4.0: the derivative file is CC BY-SA 4.0 too), as
  collected by kynoptic/wikipedia-reliable-sources (MIT);
- ``ATTRIBUTION.md``: the attributions and licences of both.
DQR (no licence), WEBSPAM (research-only) and webis lists are NOT shipped; evaluation scripts may read
them from ../shared.

    python -m training.build_domain_resources --shared ../shared [--out features/resources]

Deterministic: the same inputs give byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

MAJESTIC = Path("domains/majestic-million/majestic_million_top15k.csv")
MAJESTIC_COMMIT = "78a824017aac680f445b920234ceee0772b6f03a"
WIKI_DIR = Path("domains/domain-quality/wikipedia-reliable-sources")
WIKI_COMMIT = "7d397e4812f05576c0b739feaf04867e3a92e8f2"

# reliability_ranking.csv status -> (value, name); goggle action -> (value, name)
CSV_STATUS = {
    "gr": (1, "generally_reliable"),
    "nc": (0, "no_consensus"),
    "gu": (-1, "generally_unreliable"),
    "d": (-1, "deprecated"),
}
GOGGLE_ACTION = {
    "boost=2": (1, "reliable"),
    "downrank=2": (0, "no_consensus"),
    "discard": (-1, "unreliable_or_deprecated"),
}
_GOGGLE_SITE = re.compile(r"^\$(boost=2|downrank=2|discard),site=([a-z0-9.-]+\.[a-z0-9-]+)$")

ATTRIBUTION = f"""# Attribution of shipped data files

## majestic_top15k.csv
Majestic Million, majestic.com, CC BY 3.0 (https://creativecommons.org/licenses/by/3.0/).
The first 15,000 rows of Majestic's free list of the top sites ranked by referring IP subnets, as
committed to github.com/drakelover911/Phishing-analyzer @ {MAJESTIC_COMMIT} (`majestic_million.csv`).
Kept columns: GlobalRank, Domain, IDN_Domain (empty when equal to Domain), RefSubNets. Changes: other columns dropped; a row whose
`Domain` is a bare TLD takes its `IDN_Domain`, a row with neither valid is dropped.

## wikipedia_reliability.tsv
Derived from Wikipedia's community source-reliability judgements (Wikipedia:Reliable sources/
Perennial sources and the WikiProject source lists named in the upstream goggle), text licensed
CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/) by Wikipedia contributors. Collected by
github.com/kynoptic/wikipedia-reliable-sources @ {WIKI_COMMIT} (MIT licence, Copyright (c) 2026
kynoptic): `outputs/reliability_ranking.csv` and the whole-site rules of
`wikipedia-reliable-sources.goggle`. Changes: one row per domain (0, "mixed", when the ranking and
the goggle disagree on a domain); path-scoped rules dropped. **This file is licensed CC BY-SA 4.0** (share-alike), unlike
the rest of linkq (Apache-2.0).

Not shipped (read only from ../shared by evaluation scripts): DQR (Lin et al. 2023, no licence),
WEBSPAM-UK2006/UK2007 (research-only / CC BY-NC-SA), webis-ecir24 lists.
"""


def majestic_rows(shared: Path) -> list[tuple[int, str, str, int]]:
    """(rank, domain, idn_domain, ref_subnets) of each usable Majestic row, in rank order."""
    out = []
    with (shared / MAJESTIC).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            domain, idn = row["Domain"].strip().lower(), row["IDN_Domain"].strip().lower()
            if domain.startswith(".") or "." not in domain:
                domain = idn
            if domain.startswith(".") or "." not in domain:
                continue
            if idn.startswith(".") or "." not in idn:
                idn = domain
            out.append((int(row["GlobalRank"]), domain, idn, int(row["RefSubNets"])))
    out.sort()
    return out


def wikipedia_rows(shared: Path) -> list[tuple[str, int, str]]:
    """(domain, value, status) per domain: +1 reliable, 0 no consensus, -1 unreliable/deprecated.

    The ranking CSV keeps, per domain, the most cautious of its sources' ratings (e.g. a paper's
    contributor section); the goggle's whole-site rule is the curated per-site call. When the two
    disagree (20 domains, e.g. one says reliable and the other unreliable) the domain is contested:
    0, status ``mixed``. Within one file, the most cautious rating of a domain wins."""
    csv_best: dict[str, tuple[int, str]] = {}
    goggle_best: dict[str, tuple[int, str]] = {}

    def put(table: dict[str, tuple[int, str]], domain: str, value: int, status: str) -> None:
        domain = domain.strip().lower()
        if domain.startswith("www."):
            domain = domain[4:]
        if not domain or "." not in domain or "/" in domain:
            return
        if domain not in table or value < table[domain][0]:
            table[domain] = (value, status)

    with (shared / WIKI_DIR / "outputs" / "reliability_ranking.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            hit = CSV_STATUS.get(row["status"].strip())
            if hit:
                put(csv_best, row["domain"], *hit)
    for line in (shared / WIKI_DIR / "wikipedia-reliable-sources.goggle").read_text(encoding="utf-8").splitlines():
        m = _GOGGLE_SITE.match(line.strip())
        if m:
            put(goggle_best, m.group(2), *GOGGLE_ACTION[m.group(1)])
    out = []
    for domain in sorted(csv_best.keys() | goggle_best.keys()):
        a, b = csv_best.get(domain), goggle_best.get(domain)
        if a is not None and b is not None and a[0] != b[0]:
            out.append((domain, 0, "mixed"))
        else:
            value, status = a if a is not None else b  # type: ignore[misc]
            out.append((domain, value, status))
    return out


def build(shared: Path, out: Path) -> dict[str, int]:
    """Write the shipped files into ``out``; returns row counts."""
    out.mkdir(parents=True, exist_ok=True)
    maj = majestic_rows(shared)
    with (out / "majestic_top15k.csv").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("# Majestic Million, majestic.com, CC BY 3.0 (https://creativecommons.org/licenses/by/3.0/)\n")
        fh.write(f"# first 15,000 rows via github.com/drakelover911/Phishing-analyzer @ {MAJESTIC_COMMIT};"
                 " see ATTRIBUTION.md\n")
        fh.write("rank,domain,idn_domain,ref_subnets\n")  # idn_domain empty when equal to domain
        for rank, domain, idn, subnets in maj:
            fh.write(f"{rank},{domain},{idn if idn != domain else ''},{subnets}\n")
    wiki = wikipedia_rows(shared)
    with (out / "wikipedia_reliability.tsv").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("# Derived from Wikipedia:Reliable sources/Perennial sources and WikiProject source lists,"
                 " CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/); this file is CC BY-SA 4.0.\n")
        fh.write(f"# Collected by github.com/kynoptic/wikipedia-reliable-sources @ {WIKI_COMMIT} (MIT);"
                 " see ATTRIBUTION.md\n")
        fh.write("domain\treliability\tstatus\n")
        for domain, value, status in wiki:
            fh.write(f"{domain}\t{value}\t{status}\n")
    (out / "ATTRIBUTION.md").write_text(ATTRIBUTION, encoding="utf-8")
    return {"majestic": len(maj), "wikipedia": len(wiki)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "features" / "resources")
    args = ap.parse_args()
    counts = build(args.shared, args.out)
    print(f"wrote {args.out}: majestic {counts['majestic']} rows, wikipedia {counts['wikipedia']} domains")


if __name__ == "__main__":
    main()
