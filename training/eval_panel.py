"""Score real exports as a user runs linkq and hold the results against an expert panel's labels.

``../shared/real-exports`` (never shipped: no licence) holds real Ahrefs/Semrush exports and
``panel-labels.tsv``: rows labelled strong / neutral / weak / risky by two auditors. On the rows both
agree on, pooled over sites, with bootstrap intervals resampled by referring domain:

- ROC-AUC of the score, strong against weak+risky, and the same with the files' authority and
  traffic columns removed (what linkq knows without the tools' metrics);
- the same ROC-AUC for the tool's own page-authority column alone (the baseline to beat);
- Kendall's tau-b between the score and the panel's order (risky < weak < neutral < strong);
- the verdicts per panel label, the share of strong links called weak (goal <= 5%) and of
  weak+risky links called weak (goal >= 70%), risky links flagged (goal >= 80%) and the share of
  flagged links the panel calls weak or risky (goal >= 90%).

    python -m training.eval_panel --shared ../shared [--json data/build/panel_eval.json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ORDER = {"risky": 0, "weak": 1, "neutral": 2, "strong": 3}
# Columns holding the tools' authority and traffic figures (dropped for the "without metrics" run).
METRIC_COLUMNS = {"domain rating", "ur", "domain traffic", "page traffic", "page ascore", "page score",
                  "domain authority", "page authority", "keywords", "referring domains", "authority score",
                  "sourcetrustflow", "sourcecitationflow"}
PAGE_AUTHORITY_COLUMNS = ("UR", "Page ascore", "Page score", "Page Authority")


def read_table(path: Path) -> tuple[list[str], list[list[str]], str, str]:
    """(header, rows, encoding, delimiter) of an export as csv reads it."""
    raw = path.read_bytes()
    enc = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    text = raw.decode(enc)
    first = text.split("\n", 1)[0]
    delim = "\t" if first.count("\t") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    return rows[0], rows[1:], enc, delim


def drop_metrics(src: Path, dst: Path) -> None:
    """Write ``src`` without its authority and traffic columns (same rows, same order)."""
    header, rows, _, delim = read_table(src)
    keep = [i for i, h in enumerate(header) if h.strip().lower() not in METRIC_COLUMNS]
    with dst.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=delim)
        w.writerow([header[i] for i in keep])
        for r in rows:
            w.writerow([r[i] if i < len(r) else "" for i in keep])


def score_file(linkq: str, path: Path, out: Path, model: list[str] | None = None) -> list[dict[str, str]]:
    """``linkq score`` as a user runs it (``model``: extra ``--model ID --models-dir DIR`` arguments)."""
    p = subprocess.run([linkq, "score", str(path), "--out", str(out), *(model or [])], capture_output=True, text=True,
                       env=dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"))
    if p.returncode != 0:
        sys.exit(f"linkq score failed on {path}: {p.stderr.strip()[-400:]}")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    gt = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(gt / (len(pos) * len(neg)))


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(x, y).statistic)


def _score(r: dict[str, str] | None) -> float:
    try:
        return float((r or {}).get("score") or "nan")
    except ValueError:
        return float("nan")


def evaluate(shared: Path, linkq: str, model: list[str] | None = None) -> list[dict]:
    """One dict per agreed panel row: its label, linkq's score with and without the metric columns, ...
    (``model``: ``--model ID --models-dir DIR`` to score with another model than the current one)."""
    panel = list(csv.DictReader((shared / "panel-labels.tsv").open(encoding="utf-8"), delimiter="\t"))
    agreed = {r["id"]: r["label_a"] for r in panel if r["label_a"] == r["label_b"]}
    files = sorted({i.rsplit(":", 1)[0] for i in agreed})
    tmp = Path(tempfile.mkdtemp(prefix="linkq-panel-"))
    rows: list[dict] = []
    for name in files:
        src = shared / name
        header, table, _, _ = read_table(src)
        full = score_file(linkq, src, tmp / (name.replace("/", "_") + ".csv"), model)
        bare_in = tmp / (name.replace("/", "_") + ".nometrics.csv")
        drop_metrics(src, bare_in)
        bare = score_file(linkq, bare_in, tmp / (name.replace("/", "_") + ".nometrics.out.csv"), model)
        pa_col = next((header.index(c) for c in PAGE_AUTHORITY_COLUMNS if c in header), None)
        src_col = next((header.index(c) for c in ("Referring page URL", "Source url") if c in header), None)
        for i in range(1, len(table) + 1):
            key = f"{name}:{i}"
            if key not in agreed:
                continue
            r, b, raw = full[i - 1], bare[i - 1], table[i - 1]
            try:
                pa = float(raw[pa_col]) if pa_col is not None and raw[pa_col].strip() else float("nan")
            except ValueError:
                pa = float("nan")
            host = raw[src_col].split("/")[2] if src_col is not None and raw[src_col].count("/") >= 2 else key
            rows.append({"id": key, "site": name, "label": agreed[key], "score": _score(r),
                         "score_bare": _score(b), "verdict": r.get("verdict") or "", "flags": r.get("flags") or "",
                         "status": r.get("status") or "", "tool_pa": pa, "domain": host,
                         "anchor": raw[header.index("Anchor")] if "Anchor" in header else "",
                         "reasons": r.get("reasons") or ""})
    return rows


def summarise(rows: list[dict], n_boot: int = 1000, seed: int = 0) -> dict:
    labels = np.array([r["label"] for r in rows])
    pos_m = labels == "strong"
    neg_m = np.isin(labels, ["weak", "risky"])

    def metric(key: str, idx: np.ndarray) -> float:
        s = np.nan_to_num(np.array([rows[i][key] for i in idx], dtype=float), nan=-1.0)
        lab = labels[idx]
        return auc(s[lab == "strong"], s[np.isin(lab, ["weak", "risky"])])

    doms = np.array([r["domain"] for r in rows])
    uniq = np.unique(doms)
    by_dom = {d: np.flatnonzero(doms == d) for d in uniq}
    rng = np.random.default_rng(seed)
    out: dict = {"rows": len(rows), "strong": int(pos_m.sum()), "weak_or_risky": int(neg_m.sum()),
                 "neutral": int((labels == "neutral").sum()), "sites": sorted({r["site"] for r in rows})}
    all_idx = np.arange(len(rows))
    for key, name in (("score", "roc_auc"), ("score_bare", "roc_auc_without_metrics"), ("tool_pa", "roc_auc_tool_page_authority")):
        point = metric(key, all_idx)
        boots = []
        for _ in range(n_boot):
            pick = rng.choice(uniq, size=len(uniq), replace=True)
            idx = np.concatenate([by_dom[d] for d in pick])
            v = metric(key, idx)
            if v == v:
                boots.append(v)
        lo, hi = (np.percentile(boots, [2.5, 97.5]).tolist() if boots else [float("nan")] * 2)
        out[name] = {"value": round(point, 3), "ci95": [round(lo, 3), round(hi, 3)]}
    s = np.nan_to_num(np.array([r["score"] for r in rows], dtype=float), nan=-1.0)
    out["kendall_tau_b"] = round(kendall_tau_b(s, np.array([ORDER[lab] for lab in labels])), 3)
    verdicts = np.array([r["verdict"] or r["status"] for r in rows])
    conf: dict[str, dict[str, int]] = {}
    for lab in ORDER:
        m = labels == lab
        conf[lab] = {v: int((verdicts[m] == v).sum()) for v in sorted(set(verdicts[m]))}
    out["verdicts_by_label"] = conf
    out["strong_called_weak"] = round(float((verdicts[pos_m] == "weak").mean()), 3) if pos_m.any() else None
    out["weak_or_risky_called_weak"] = round(float((verdicts[neg_m] == "weak").mean()), 3) if neg_m.any() else None
    flagged = np.array([bool(r["flags"].strip()) for r in rows])
    risky = labels == "risky"
    out["risky_flagged"] = f"{int(flagged[risky].sum())} of {int(risky.sum())}"
    out["flag_precision"] = (round(float(neg_m[flagged].mean()), 3) if flagged.any() else None)
    out["flagged"] = int(flagged.sum())
    per_site = {}
    for site in out["sites"]:
        idx = np.array([i for i, r in enumerate(rows) if r["site"] == site])
        per_site[site] = {"roc_auc": round(metric("score", idx), 3), "strong": int(pos_m[idx].sum()),
                          "weak_or_risky": int(neg_m[idx].sum())}
    out["per_site"] = per_site
    return out


def check_floors(res: dict, floors: dict) -> list[str]:
    """The pinned floors ``res`` falls below (``floors``: metric -> minimum, or maximum for the
    shares that must stay low); an empty list when it holds every one."""
    bad = []
    for name, floor in floors.get("at_least", {}).items():
        got = res[name]["value"] if isinstance(res.get(name), dict) else res.get(name)
        if got is None or got < floor:
            bad.append(f"{name} {got} < floor {floor}")
    for name, ceiling in floors.get("at_most", {}).items():
        got = res.get(name)
        if got is None or got > ceiling:
            bad.append(f"{name} {got} > ceiling {ceiling}")
    risky = res.get("risky_flagged", "0 of 0").split(" of ")
    need = floors.get("risky_flagged_at_least")
    if need is not None and int(risky[0]) < need:
        bad.append(f"risky flagged {res['risky_flagged']} < {need}")
    return bad


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--linkq", default=str(Path(sys.executable).parent / "linkq"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--rows", type=Path, default=None, help="also write every panel row with its score (TSV)")
    ap.add_argument("--floors", type=Path, default=None, help="fail when a figure falls below its pinned floor")
    args = ap.parse_args(argv)
    root = args.shared / "real-exports"
    if not (root / "panel-labels.tsv").is_file():
        sys.exit(f"{root}/panel-labels.tsv not found: this evaluation needs ../shared")
    rows = evaluate(root, args.linkq)
    res = summarise(rows, args.boot)
    if args.rows:
        with args.rows.open("w", encoding="utf-8") as fh:
            for r in sorted(rows, key=lambda r: (r["label"], r["score"])):
                fh.write("\t".join(str(r[k]) for k in ("label", "score", "score_bare", "verdict", "flags", "tool_pa",
                                                       "id", "domain", "anchor", "reasons")) + "\n")
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    if args.floors:
        bad = check_floors(res, json.loads(args.floors.read_text()))
        if bad:
            sys.exit("real-export panel below its floors: " + "; ".join(bad))
        print(f"real-export panel: every floor of {args.floors} holds")


if __name__ == "__main__":
    main()
