"""The ``linkq`` command: a thin click face over features, training and serving.

Each command parses options, calls one library function and prints what it did. Errors the user
can fix (``features.errors.LinkqError``, a missing file) are caught once, in :class:`LinkqGroup`,
and printed as a message without a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

EXPORT_FORMATS = ["auto", "ahrefs", "semrush", "majestic", "moz", "gsc", "csv", "jsonl"]
PAGES_HELP = "Source pages: a folder with manifest.csv (url,file) or a page cache from `linkq fetch`."


class LinkqGroup(click.Group):
    """Turns the errors a user can fix into a one-line message (exit code 1), for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        from features.errors import LinkqError

        try:
            return super().invoke(ctx)
        except (LinkqError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from exc


# -- shared options -----------------------------------------------------------------------------------


def models_dir_option(f: Callable) -> Callable:
    return click.option("--models-dir", default=None, help="Where models live (default: $LINKQ_MODELS or ./models).")(f)


def model_option(f: Callable) -> Callable:
    return click.option("--model", "model_id", default=None, help="Model id under models/ (default: models/CURRENT).")(f)


def out_option(help: str, required: bool = True) -> Callable[[Callable], Callable]:
    return click.option("--out", required=required, type=click.Path(dir_okay=False, path_type=Path), help=help)


def scored_argument(f: Callable) -> Callable:
    return click.argument("scored", metavar="SCORED_FILE",
                          type=click.Path(exists=True, dir_okay=False, path_type=Path))(f)


def _models_dir(path: str | None) -> Path:
    from features.artifact import default_models_dir

    return Path(path) if path else default_models_dir()


def _say(line: str) -> None:
    click.echo(line, err=True)


@click.group(cls=LinkqGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="linkq")
def cli() -> None:
    """linkq: explainable backlink quality scores, self-hosted.

    Score backlinks (strong / review / weak) with the reasons and the page
    evidence, and retrain the model on your own labels.
    """


# -- scoring ------------------------------------------------------------------------------------------


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pages", type=click.Path(exists=True, path_type=Path), help=PAGES_HELP)
@out_option("Output .csv or .jsonl; without it a table is printed.", required=False)
@click.option("--embedding", default=None, help="Embedding model (default: the shipped static MiniLM).")
def features(input_path: Path, pages: Path | None, out: Path | None, embedding: str | None) -> None:
    """Compute the feature vector of every link record in INPUT (.jsonl or .csv).

    Every input field except source_html is carried through, followed by
    status and the features in schema order.
    """
    from features.feature_table import feature_table
    from features.recordio import write_rows

    table = feature_table(input_path, pages, embedding)
    if out:
        write_rows(out, table.rows, table.columns)
        _say(f"wrote {len(table.rows)} rows to {out} ({len(table.rows) / max(table.seconds, 1e-9):.0f} links/s, "
             f"{table.pages_parsed} pages parsed)")
    else:
        _print_table(table.rows, ["status", "placement_zone", "placement_main_prob", "anchor_words", "rel_nofollow",
                                  "rel_sponsored", "sim_context_target", "page_ext_links"])


def _print_table(rows: list[dict], cols: list[str]) -> None:
    key = next((k for k in ("id", "target_url") if rows and k in rows[0]), None)
    cols = ([key] if key else []) + cols

    def fmt(v: object) -> str:
        return ("" if v != v else f"{v:.3g}") if isinstance(v, float) else str(v if v is not None else "")

    table = [[fmt(r.get(c))[:60] for c in cols] for r in rows]
    widths = [max([len(c)] + [len(t[i]) for t in table]) for i, c in enumerate(cols)]
    for line in [cols, *table]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)))


@cli.command()
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@out_option("Output file: .csv, .jsonl or .parquet (written atomically).")
@click.option("--format", "fmt", default="auto", show_default=True, type=click.Choice(EXPORT_FORMATS),
              help="Input format; auto detects it from the bytes and header, never the file name.")
@click.option("--map", "column_map", default=None,
              help='Column mapping for --format csv, e.g. "Their Column=source_url,Link Text=anchor_text".')
@click.option("--pages", type=click.Path(path_type=Path), help=PAGES_HELP + " With --fetch: the cache to fill.")
@click.option("--target-pages", type=click.Path(exists=True, path_type=Path),
              help="Your own target pages (folder with manifest.csv, or a page cache from `linkq fetch --targets`): "
                   "their title and text improve relevance.")
@click.option("--fetch", is_flag=True, help="First download the source pages into the --pages cache file.")
@click.option("--allow-private-addresses", is_flag=True,
              help="With --fetch: also crawl loopback, private and link-local hosts (your own intranet).")
@model_option
@models_dir_option
@click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "dask"]),
              help="local, or dask (pip install linkq[dask]) for a cluster.")
@click.option("--scheduler", default=None, help="Dask scheduler address (default: start a local cluster).")
@click.option("--workers", type=int, default=None,
              help="Scoring processes. local: default one per core for inputs over 20,000 rows (1 below); "
                   "dask: size of the local cluster (default 2).")
@click.option("--explain", is_flag=True, help="Also write every feature value.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run without redoing finished chunks.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the HTML profile report here.")
@click.option("--show", is_flag=True, help="Also print the scored rows as a table (for small inputs).")
@click.option("--brand", "brands", multiple=True,
              help="Your brand name(s), repeatable or comma-separated: anchors naming them are brand anchors "
                   "(default: the target's domain name).")
@click.option("--excel", is_flag=True, help="CSV output Excel opens right: UTF-8 with a byte order mark.")
@click.option("--money", "money", multiple=True,
              help="Your money keywords, repeatable or comma-separated: anchors holding them are money anchors.")
def score(inputs: tuple[Path, ...], out: Path, fmt: str, column_map: str | None, pages: Path | None,
          target_pages: Path | None, fetch: bool, model_id: str | None, models_dir: str | None, engine: str,
          scheduler: str | None, workers: int | None, explain: bool, resume: bool, report_path: Path | None,
          show: bool, brands: tuple[str, ...], money: tuple[str, ...], allow_private_addresses: bool,
          excel: bool) -> None:
    """Score every backlink in INPUT... (an Ahrefs, Semrush, Majestic, Moz or Search Console
    export, or canonical .csv/.jsonl records).

    Keeps your columns in their order and adds score (0-1, how much the link is worth having),
    verdict (strong / review / weak), risk (risky: consider disavowing; worthless: ignore), reasons
    (per factor, what its evidence says), placement_zone, status and flags. Every row comes back
    once, in order; rows that cannot be scored say why in status (lost links: status lost).
    """
    from features.html_text import normalise_terms
    from serving.batch import BatchOptions, estimate_rows, score_files
    from serving.progress import Progress

    if fetch:
        if pages is None or pages.is_dir():
            raise click.UsageError("--fetch needs --pages FILE: the page cache to fill (e.g. pages.sqlite)")
        for path in inputs:
            _fetch(path, pages, allow_private_addresses=allow_private_addresses)
    options = BatchOptions(format=fmt, column_map=column_map, model_id=model_id,
                           models_dir=Path(models_dir) if models_dir else None, pages=pages,
                           target_pages=target_pages, engine=engine, scheduler=scheduler, workers=workers,
                           explain=explain, resume=resume, brands=normalise_terms(brands),
                           money=normalise_terms(money), excel=excel)
    from serving.tuning import interrupt_on_sigterm

    try:
        with interrupt_on_sigterm(), Progress(estimate_rows(list(inputs)), "rows", estimate=True) as bar:
            summary = score_files(list(inputs), out, options, lambda done, rate: bar.update_to(done))
    except KeyboardInterrupt:
        _say(f"\ninterrupted: the finished chunks are kept in {out.name}.parts; run the same command with "
             "--resume to continue")
        sys.exit(130)
    if show:
        from features.recordio import read_records

        rows = list(read_records(out)) if out.suffix.lower() in (".csv", ".jsonl") else []
        for r in rows:
            r["reason"] = str(r.get("reasons") or "").split("; ")[0]
        _print_table(rows[:200], ["score", "verdict", "placement_zone", "status", "reason"])
    for line in summary.lines():
        _say(line)
    if report_path is not None:
        from serving.report import write_report

        write_report(out, report_path)
        _say(f"  report: {report_path}")


@cli.command()
@click.option("--labels", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your labels (repeatable, tools mixed): any export linkq scores, or canonical CSV/JSONL, with a "
                   "label column: strong / neutral / weak / risky, keep / disavow, good / bad, 1 / 0.")
@click.option("--disavow", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A Google disavow file: the export rows it covers become disavow labels (needs --export).")
@click.option("--export", "export_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The backlink export the disavow file was made from.")
@click.option("--rest", type=click.Choice(["unlabelled", "strong"]), default="unlabelled", show_default=True,
              help="With --disavow: what the links not disavowed are.")
@click.option("--pages", type=click.Path(exists=True, path_type=Path),
              help="Saved source pages for your labelled rows (manifest.csv folder or page cache).")
@click.option("--base", "base_id", default=None, help="Model to start from (default: models/CURRENT).")
@click.option("--prior-strength", type=float, default=None,
              help="Pull of the weights towards the shipped priors (default 10; larger: labels move them less).")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None,
              help="Developers: retrain the link model (LightGBM) on the corpora table of `make data` instead.")
@click.option("--model-id", default=None, help="Folder name for the new model (default: linkq-user-<time>).")
@models_dir_option
@click.option("--set-current", is_flag=True,
              help="Make the new model the default if it passes the promotion rule (as `models promote`).")
@click.option("--force", is_flag=True, help="With --set-current: promote even if the rule refuses (recorded).")
@click.option("--brand", "brands", multiple=True, help="Your brand name(s), as for `linkq score --brand`.")
@click.option("--money", "money", multiple=True, help="Your money keywords, as for `linkq score --money`.")
@click.option("--no-ablation", is_flag=True, help="With --data: skip the per-group ablation refits (faster).")
@click.option("--embedding", default=None, help="With --data: embedding model the table was built with.")
def train(labels: tuple[Path, ...], disavow: Path | None, export_path: Path | None, rest: str, pages: Path | None,
          base_id: str | None, prior_strength: float | None, data_path: Path | None, model_id: str | None,
          models_dir: str | None, set_current: bool, force: bool, brands: tuple[str, ...], money: tuple[str, ...],
          no_ablation: bool, embedding: str | None) -> None:
    """Retrain on your labels: refit the worth score's factor weights from the shipped priors, compare
    with the current model on your held-out labels, write models/<id>/ (see training/retrain.py)."""
    from features.artifact import ModelMismatch
    from training.labels import LabelError
    from training.promotion import PromotionRefused, promote
    from training.retrain import PRIOR_STRENGTH, train_on_labels
    from training.train import TrainingDataError

    mdir = _models_dir(models_dir)
    if data_path is not None and (labels or disavow or export_path):
        raise click.UsageError("--data retrains the link model on the corpora; --labels/--disavow retrain the "
                               "factor weights on your labels: give one or the other")
    try:
        if data_path is not None:
            from training.registry import metrics_lines, train_link_model

            folder = train_link_model(data_path, mdir, model_id, no_ablation, embedding, _say)
            for line in metrics_lines(json.loads((folder / "metadata.json").read_text())):
                click.echo(line)
        else:
            res = train_on_labels(mdir, labels, disavow, export_path, rest, pages, base_id, model_id,
                                  PRIOR_STRENGTH if prior_strength is None else prior_strength,
                                  brands=brands, money=money, log=lambda m: click.echo(m, err=True))
            for line in res.lines():
                click.echo(line, err=True)
            folder = res.folder
        if set_current:
            promote(mdir, folder.name, force=force, via="train --set-current")
            click.echo(f"models/CURRENT -> {folder.name}", err=True)
    except (TrainingDataError, LabelError, FileNotFoundError, ModelMismatch, PromotionRefused) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(str(folder))


@cli.command()
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--n", "n_rows", type=click.IntRange(min=1), default=100, show_default=True,
              help="How many rows to ask you to label.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV to write: the chosen rows with an empty label column (fill it, then `linkq train --labels`).")
@click.option("--pages", type=click.Path(exists=True, path_type=Path), help="Saved source pages (as for score).")
@model_option
@models_dir_option
@click.option("--brand", "brands", multiple=True, help="Your brand name(s), as for `linkq score --brand`.")
@click.option("--money", "money", multiple=True, help="Your money keywords, as for `linkq score --money`.")
def label(export: Path, n_rows: int, out: Path, pages: Path | None, model_id: str | None,
          models_dir: str | None, brands: tuple[str, ...], money: tuple[str, ...]) -> None:
    """Pick the rows of EXPORT whose labels would teach the model most (unsure scores near the
    thresholds, spread over referring domains and factors) and write them with an empty label column."""
    from features.artifact import load_model, resolve_model_dir
    from features.pages import open_pages
    from training.label_select import select_rows
    from training.labels import LabelError
    from training.retrain import context_for

    try:
        model = load_model(resolve_model_dir(_models_dir(models_dir), model_id))
        sel = select_rows(export, out, n_rows, model, context_for(model, brands, money), open_pages(pages))
    except (LabelError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {out}: {sel.picked} of {sel.candidates} scorable live rows ({sel.rows} rows read) from "
               f"{sel.domains} referring domains; fill the label column (strong / neutral / weak / risky) and run "
               f"`linkq train --labels {out}`", err=True)


@cli.command("fetch")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pages", "cache_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Page cache file to create or update (e.g. pages.sqlite); pass it to --pages of score/features.")
@click.option("--refresh", is_flag=True, help="Fetch again pages already in the cache.")
@click.option("--ignore-robots-for", "ignore_hosts", multiple=True, metavar="HOST",
              help="Do not apply robots.txt to HOST (your own site). Repeatable.")
@click.option("--targets", is_flag=True, help="Also fetch the target URLs.")
@click.option("--concurrency", default=8, show_default=True, help="Requests in flight over all hosts.")
@click.option("--delay", default=1.0, show_default=True, help="Seconds between requests to one host.")
@click.option("--allow-private-addresses", is_flag=True,
              help="Also crawl loopback, private (10/8, 192.168/16, ...), link-local and local-name hosts, "
                   "e.g. to audit your own intranet. Off: such pages are recorded as address_refused.")
def fetch_cmd(input_path: Path, cache_path: Path, refresh: bool, ignore_hosts: tuple[str, ...], targets: bool,
              concurrency: int, delay: float, allow_private_addresses: bool) -> None:
    """Download the source pages of INPUT (any export linkq reads) into a page cache.

    Polite (robots.txt, one request at a time per host) and resumable: every page is saved
    as soon as it is fetched; run the command again to continue an interrupted crawl.
    """
    _fetch(input_path, cache_path, refresh, ignore_hosts, targets, concurrency, delay, allow_private_addresses)


def _fetch(input_path: Path, cache_path: Path, refresh: bool = False, ignore_hosts: tuple[str, ...] = (),
           targets: bool = False, concurrency: int = 8, delay: float = 1.0,
           allow_private_addresses: bool = False) -> None:
    from serving.fetch import FetchOptions, fetch, urls_from_export
    from serving.progress import Progress

    urls = urls_from_export(input_path, targets=targets)
    options = FetchOptions(refresh=refresh, ignore_robots_hosts=frozenset(ignore_hosts),
                           concurrency=concurrency, per_host_delay=delay,
                           allow_private_addresses=allow_private_addresses)
    try:
        with Progress(None, "pages") as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update_to(done)

            summary = fetch(urls, cache_path, options, progress)
    except KeyboardInterrupt:
        _say(f"\ninterrupted: pages fetched so far are in {cache_path}; run again to continue")
        sys.exit(130)
    _say(f"{summary.describe()} -> {cache_path}")


# -- report and disavow ---------------------------------------------------------------------------------


@cli.command()
@scored_argument
@out_option("HTML report to write: one self-contained file (inline CSS and SVG, no network needed).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the summary numbers as JSON here (for other tools).")
def report(scored: Path, out: Path, json_out: Path | None) -> None:
    """Write an HTML report for SCORED_FILE (the output of `linkq score`: .csv, .jsonl or .parquet).

    Charts: score distribution, verdicts by referring site, anchor-text mix against a natural
    profile, follow/nofollow, placement zones, links per target page, new links per month with
    spikes, and the weak links split into worthless (ignored) and risky (disavow candidates).
    """
    from serving.report import summary_lines, write_report

    summary = write_report(scored, out, json_out)
    _say(f"wrote {out}" + (f" and {json_out}" if json_out else "") + ": " + summary_lines(summary)[0])
    for line in summary_lines(summary)[1:]:
        _say(line)


@cli.command()
@scored_argument
@out_option("Disavow file to write (.txt, UTF-8), ready to upload to Google Search Console.")
@click.option("--merge", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your current disavow file: kept line for line; only new entries are added.")
@click.option("--allow", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Allow-list: one domain or URL per line (# comments); a domain covers its subdomains. "
                   "Nothing on it is ever listed.")
@click.option("--level", type=click.Choice(["domain", "url"]), default="domain", show_default=True,
              help="domain: one domain: line per referring site (by URL when the site also sends good links); "
                   "url: one line per linking page.")
@click.option("--min-risk", type=click.IntRange(min=1), default=1, show_default=True,
              help="Minimum number of distinct manipulation flags (paid, spam_source, money_anchor, sitewide, "
                   "tool_spam_score, spam_vocabulary) a weak link needs to be listed.")
@click.option("--model", "model_id", default=None,
              help="Model id for the header comment (default: the file's model_id column, if any).")
def disavow(scored: Path, out: Path, merge: Path | None, allow: Path | None, level: str, min_risk: int,
            model_id: str | None) -> None:
    """Write a Google disavow file from SCORED_FILE: weak links WITH manipulation signals only.

    Weak links without signals (a nofollow forum post, a footer link) are ignored by Google and are
    left out. Refuses (writes nothing) when the file would break Google's limits.
    """
    from serving.disavow import build_disavow, summary_lines

    s = build_disavow(scored, out, merge=merge, allow=allow, level=level, min_risk=min_risk, model_id=model_id)
    _say(f"wrote {out}: " + summary_lines(s)[0])
    for line in summary_lines(s)[1:]:
        _say(line)


# -- models ---------------------------------------------------------------------------------------------


@cli.command()
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@model_option
@models_dir_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the metrics as JSON here.")
@click.option("--check-floors", is_flag=True, help="Fail if a metric is below the pinned quality floors.")
@click.option("--floors", type=click.Path(path_type=Path), default=Path("data/quality_floors.json"),
              show_default=True, help="Pinned floors (with the evaluation data's hash).")
def evaluate(data: Path, model_id: str | None, models_dir: str | None, json_out: Path | None,
             check_floors: bool, floors: Path) -> None:
    """Evaluate a model on the held-out sites of DATA (links.parquet or its folder)."""
    from training.evaluate import write_json
    from training.registry import evaluate_data

    ev = evaluate_data(data, _models_dir(models_dir), model_id, floors if check_floors else None)
    for line in ev.lines:
        click.echo(line)
    if json_out:
        write_json(json_out, {"model_id": ev.model_id, "data": str(ev.data), "metrics": ev.metrics})
    for p in ev.problems:
        _say(f"FLOOR: {p}")
    if ev.problems:
        sys.exit(1)
    if check_floors:
        _say(f"all quality floors in {floors} hold")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=3000, show_default=True, help="TCP port.")
@click.option("--workers", default=1, show_default=True, help="Worker processes (each loads the models once).")
@model_option
@models_dir_option
def serve(host: str, port: int, workers: int, model_id: str | None, models_dir: str | None) -> None:
    """Start the HTTP scoring service (BentoML): POST /score, POST /score_export, GET /model.

    Set LINKQ_API_KEY to require `Authorization: Bearer <key>`. Health: /livez, /readyz;
    OpenAPI at /docs.json and a plain page about the API at /.
    """
    from serving.serve import serve as run

    run(host=host, port=port, workers=workers, model_id=model_id, models_dir=Path(models_dir) if models_dir else None)


@cli.group()
def models() -> None:
    """List, inspect and promote trained models."""


@models.command("list")
@models_dir_option
def models_list(models_dir: str | None) -> None:
    """List the models with their held-out PR-AUC; * marks the current one."""
    from training.registry import list_lines

    for line in list_lines(_models_dir(models_dir)):
        click.echo(line)


@models.command("show")
@click.argument("model_id", required=False)
@models_dir_option
def models_show(model_id: str | None, models_dir: str | None) -> None:
    """Show a model's metadata summary and held-out metrics."""
    from training.registry import show_lines

    for line in show_lines(_models_dir(models_dir), model_id):
        click.echo(line)


@models.command("promote")
@click.argument("model_id")
@models_dir_option
@click.option("--force", is_flag=True, help="Promote even if the promotion rule refuses (recorded in the metadata).")
@click.option("--floors", type=click.Path(path_type=Path), default=None,
              help="Pinned link-model floors to check (default: data/quality_floors.json).")
def models_promote(model_id: str, models_dir: str | None, force: bool, floors: Path | None) -> None:
    """Make MODEL_ID the default model (models/CURRENT) if it beats the current one on your held-out
    labels and holds the built-in floors (the same rule as `train --set-current`)."""
    from training.promotion import DEFAULT_FLOORS, PromotionRefused, promote

    try:
        res = promote(_models_dir(models_dir), model_id, force=force, floors=floors or DEFAULT_FLOORS)
    except (PromotionRefused, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    if res.problems:
        click.echo("forced past: " + "; ".join(res.problems), err=True)
    click.echo(f"models/CURRENT -> {res.model_id}")


@models.command("import")
@click.argument("model_id", required=False)
@models_dir_option
def models_import(model_id: str | None, models_dir: str | None) -> None:
    """Copy a model (default: models/CURRENT) into the BentoML model store; prints its tag.

    Serve it with LINKQ_BENTO_MODEL=<tag> (BENTOML_HOME is respected).
    """
    from serving.serve import import_model

    click.echo(import_model(model_id, _models_dir(models_dir)))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
