"""The ``linkq`` command: a thin click face over features, training and serving.

Each command parses options, calls one library function and prints what it did. Errors the user
can fix (``features.errors.LinkqError``, a missing file) are caught once, in :class:`LinkqGroup`,
and printed as a message without a traceback. Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import click

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

EXPORT_FORMATS = ["auto", "ahrefs", "semrush", "majestic", "moz", "gsc", "csv", "jsonl"]
PAGES_HELP = "Source pages: a folder with manifest.csv (url,file) or a page cache from `linkq fetch`."
IN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)  # an existing file
IN_PATH = click.Path(exists=True, path_type=Path)  # an existing file or folder
OUT_FILE = click.Path(dir_okay=False, path_type=Path)
ANY_PATH = click.Path(path_type=Path)


class LinkqGroup(click.Group):
    """Turns the errors a user can fix into a one-line message (exit code 1), for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        from features.errors import LinkqError
        from serving.tuning import hide_sklearn_from_lightgbm

        hide_sklearn_from_lightgbm()  # our own process: LightGBM without scikit-learn (~0.7 s, ~65 MB)
        try:
            return super().invoke(ctx)
        except (LinkqError, FileNotFoundError) as exc:
            raise click.ClickException(str(exc)) from exc


# -- shared options and arguments: a decorator each, used as @name or @name(help=...) ----------------
models_dir_option = click.option("--models-dir", default=None,
                                 help="Where models live (default: $LINKQ_MODELS or ./models).")
model_option = click.option("--model", "model_id", default=None,
                            help="Model id under models/ (default: models/CURRENT).")
scored_argument = click.argument("scored", metavar="SCORED_FILE", type=IN_FILE)
out_option = partial(click.option, "--out", required=True, type=OUT_FILE)
pages_option = partial(click.option, "--pages", type=IN_PATH, help=PAGES_HELP)
json_option = partial(click.option, "--json", "json_out", type=OUT_FILE)
flag_option = partial(click.option, is_flag=True)
private_addresses_option = partial(flag_option, "--allow-private-addresses")
brand_option = partial(click.option, "--brand", "brands", multiple=True,
                       help="Your brand name(s), as for `linkq score --brand`.")
money_option = partial(click.option, "--money", "money", multiple=True,
                       help="Your money keywords, as for `linkq score --money`.")
_say = partial(click.echo, err=True)


def _models_dir(path: str | None) -> Path:
    from features.artifact import default_models_dir

    return Path(path) if path else default_models_dir()


def _echo(lines: Iterable[str], err: bool = False) -> None:
    for line in lines:
        click.echo(line, err=err)


def _interrupted(message: str) -> NoReturn:
    """Ctrl-C (or SIGTERM) during a long run: say what is kept and exit 130, as a shell does."""
    _say(f"\ninterrupted: {message}")
    sys.exit(130)


@click.group(cls=LinkqGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="linkq")
def cli() -> None:
    """linkq: explainable backlink quality scores, self-hosted.

    Score backlinks (strong / review / weak) with the reasons and the page evidence, and retrain the model on your
    own labels.
    """


# -- scoring ------------------------------------------------------------------------------------------
@cli.command()
@click.argument("input_path", metavar="INPUT", type=IN_FILE)
@pages_option()
@out_option(help="Output .csv or .jsonl; without it a table is printed.", required=False)
@click.option("--embedding", default=None, help="Embedding model (default: the shipped static MiniLM).")
def features(input_path: Path, pages: Path | None, out: Path | None, embedding: str | None) -> None:
    """Compute the feature vector of every link record in INPUT (.jsonl or .csv).

    Every input field except source_html is carried through, followed by status and the features in schema order.
    """
    from features.feature_table import feature_table

    table = feature_table(input_path, pages, embedding)
    _echo([table.write(out)] if out else table.preview(), err=bool(out))


@cli.command()
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True, type=IN_FILE)
@out_option(help="Output file: .csv, .jsonl or .parquet (written atomically).")
@click.option("--format", "fmt", default="auto", show_default=True, type=click.Choice(EXPORT_FORMATS),
              help="Input format; auto detects it from the bytes and header, never the file name.")
@click.option("--map", "column_map", default=None,
              help='Column mapping for --format csv, e.g. "Their Column=source_url,Link Text=anchor_text".')
@click.option("--pages", type=ANY_PATH, help=PAGES_HELP + " With --fetch: the cache to fill.")
@click.option("--target-pages", type=IN_PATH, help="Your own target pages (folder with manifest.csv, or a page cache "
              "from `linkq fetch --targets`): their title and text improve relevance.")
@flag_option("--fetch", help="First download the source pages into the --pages cache file.")
@private_addresses_option(help="With --fetch: also crawl loopback, private and link-local hosts (your own intranet).")
@model_option
@models_dir_option
@click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "dask"]),
              help="local, or dask (pip install linkq[dask]) for a cluster.")
@click.option("--scheduler", default=None, help="Dask scheduler address (default: start a local cluster).")
@click.option("--workers", type=int, default=None, help="Scoring processes. local: default one per core for inputs "
              "over 20,000 rows (1 below); dask: size of the local cluster (default 2).")
@flag_option("--explain", help="Also write every feature value.")
@flag_option("--resume", help="Continue an interrupted run without redoing finished chunks.")
@click.option("--report", "report_path", type=OUT_FILE, help="Also write the HTML profile report here.")
@flag_option("--show", help="Also print the scored rows as a table (for small inputs).")
@brand_option(help="Your brand name(s), repeatable or comma-separated: anchors naming them are brand anchors "
              "(default: the target's domain name).")
@flag_option("--excel", help="CSV output Excel opens right: UTF-8 with a byte order mark.")
@money_option(help="Your money keywords, repeatable or comma-separated: anchors holding them are money anchors.")
def score(inputs: tuple[Path, ...], out: Path, fmt: str, pages: Path | None, fetch: bool, allow_private_addresses: bool,
          models_dir: str | None, show: bool, report_path: Path | None, **options: Any) -> None:
    """Score every backlink in INPUT... (an Ahrefs, Semrush, Majestic, Moz or Search Console export, or canonical
    .csv/.jsonl records).

    Keeps your columns in their order and adds score (0-1, how much the link is worth having), verdict (strong /
    review / weak), risk (risky: consider disavowing; worthless: ignore), reasons (per factor, what its evidence
    says), placement_zone, status and flags. Every row comes back once, in order; rows that cannot be scored say why
    in status (lost links: status lost).
    """
    from serving.batch import BatchOptions, estimate_rows, score_files
    from serving.batch_options import preview_lines
    from serving.progress import Progress
    from serving.tuning import interrupt_on_sigterm

    if fetch:
        if pages is None or pages.is_dir():
            raise click.UsageError("--fetch needs --pages FILE: the page cache to fill (e.g. pages.sqlite)")
        _fetch(inputs, pages, allow_private_addresses=allow_private_addresses)
    batch = BatchOptions.with_terms(format=fmt, models_dir=Path(models_dir) if models_dir else None, pages=pages,
                                    **options)
    try:
        with interrupt_on_sigterm(), Progress(estimate_rows(list(inputs)), "rows", estimate=True) as bar:
            summary = score_files(list(inputs), out, batch, lambda done, rate: bar.update_to(done))
    except KeyboardInterrupt:
        _interrupted(f"the finished chunks are kept in {out.name}.parts; run the same command with --resume to "
                     "continue")
    _echo(preview_lines(out) if show else ())
    _echo(summary.lines(), err=True)
    if report_path is not None:
        from serving.report import write_report

        table = write_report(out, report_path).get("domain_table", {})
        _say(f"  report: {report_path}" + (f" (per-domain table: {table['csv']})" if table.get("csv") else ""))


@cli.command()
@click.option("--labels", multiple=True, type=IN_FILE, help="Your labels (repeatable, tools mixed): any export linkq "
              "scores, or canonical CSV/JSONL, with a label column: strong / neutral / weak / risky, keep / disavow, "
              "good / bad, 1 / 0.")
@click.option("--disavow", type=IN_FILE,
              help="A Google disavow file: the export rows it covers become disavow labels (needs --export).")
@click.option("--export", "export_path", type=IN_FILE, help="The backlink export the disavow file was made from.")
@click.option("--rest", type=click.Choice(["unlabelled", "strong"]), default="unlabelled", show_default=True,
              help="With --disavow: what the links not disavowed are.")
@pages_option(help="Saved source pages for your labelled rows (manifest.csv folder or page cache).")
@click.option("--base", "base_id", default=None, help="Model to start from (default: models/CURRENT).")
@click.option("--prior-strength", type=float, default=None,
              help="Pull of the weights towards the shipped priors (default 10; larger: labels move them less).")
@click.option("--data", "data_path", type=ANY_PATH, default=None,
              help="Developers: retrain the link model (LightGBM) on the corpora table of `make data` instead.")
@click.option("--model-id", default=None, help="Folder name for the new model (default: linkq-user-<time>).")
@models_dir_option
@flag_option("--set-current",
             help="Make the new model the default if it passes the promotion rule (as `models promote`).")
@flag_option("--force", help="With --set-current: promote even if the rule refuses (recorded).")
@brand_option()
@money_option()
@flag_option("--no-ablation", help="With --data: skip the per-group ablation refits (faster).")
@click.option("--embedding", default=None, help="With --data: embedding model the table was built with.")
def train(models_dir: str | None, **options: Any) -> None:
    """Retrain on your labels: refit the worth score's factor weights from the shipped priors, compare with the
    current model on your held-out labels, write models/<id>/ (see training/retrain.py)."""
    from training.registry import train_and_register

    if options["data_path"] is not None and (options["labels"] or options["disavow"] or options["export_path"]):
        raise click.UsageError("--data retrains the link model on the corpora; --labels/--disavow retrain the "
                               "factor weights on your labels: give one or the other")
    click.echo(str(train_and_register(_models_dir(models_dir), **options, out=click.echo, log=_say)))


@cli.command()
@click.argument("export", type=IN_FILE)
@click.option("--n", "n_rows", type=click.IntRange(min=1), default=100, show_default=True,
              help="How many rows to ask you to label.")
@out_option(help="CSV to write: the chosen rows with an empty label column (fill it, then `linkq train --labels`).")
@pages_option(help="Saved source pages (as for score).")
@model_option
@models_dir_option
@brand_option()
@money_option()
def label(export: Path, n_rows: int, out: Path, pages: Path | None, model_id: str | None,
          models_dir: str | None, brands: tuple[str, ...], money: tuple[str, ...]) -> None:
    """Pick the rows of EXPORT whose labels would teach the model most (unsure scores near the thresholds, spread
    over referring domains and factors) and write them with an empty label column."""
    from training.label_select import label_rows

    _say(label_rows(export, out, n_rows, _models_dir(models_dir), model_id, pages, brands, money).describe(out))


@cli.command("fetch")
@click.argument("input_path", metavar="INPUT", type=IN_FILE)
@click.option("--pages", "cache_path", required=True, type=OUT_FILE,
              help="Page cache file to create or update (e.g. pages.sqlite); pass it to --pages of score/features.")
@flag_option("--refresh", help="Fetch again pages already in the cache.")
@click.option("--ignore-robots-for", "ignore_hosts", multiple=True, metavar="HOST",
              help="Do not apply robots.txt to HOST (your own site). Repeatable.")
@flag_option("--targets", help="Also fetch the target URLs.")
@click.option("--concurrency", default=8, show_default=True, help="Requests in flight over all hosts.")
@click.option("--delay", default=1.0, show_default=True, help="Seconds between requests to one host.")
@private_addresses_option(help="Also crawl loopback, private (10/8, 192.168/16, ...), link-local and local-name "
                          "hosts, e.g. to audit your own intranet. Off: such pages are recorded as address_refused.")
def fetch_cmd(input_path: Path, cache_path: Path, ignore_hosts: tuple[str, ...], targets: bool, delay: float,
              **options: Any) -> None:
    """Download the source pages of INPUT (any export linkq reads) into a page cache.

    Polite (robots.txt, one request at a time per host) and resumable: every page is saved as soon as it is fetched;
    run the command again to continue an interrupted crawl.
    """
    _fetch([input_path], cache_path, targets, ignore_robots_hosts=frozenset(ignore_hosts), per_host_delay=delay,
           **options)


def _fetch(inputs: Iterable[Path], cache_path: Path, targets: bool = False, **options: Any) -> None:
    """Crawl the pages of each export into the cache (``linkq fetch`` and ``linkq score --fetch``)."""
    from serving.fetch import FetchOptions, fetch, urls_from_export
    from serving.progress import Progress

    for path in inputs:
        urls = urls_from_export(path, targets=targets)
        try:
            with Progress(None, "pages") as bar:
                summary = fetch(urls, cache_path, FetchOptions(**options), bar.update_with_total)
        except KeyboardInterrupt:
            _interrupted(f"pages fetched so far are in {cache_path}; run again to continue")
        _say(f"{summary.describe()} -> {cache_path}")


# -- report and disavow ---------------------------------------------------------------------------------
@cli.command()
@scored_argument
@out_option(help="HTML report to write: one self-contained file (inline CSS and SVG, no network needed).")
@json_option(help="Also write the summary numbers as JSON here (for other tools).")
def report(scored: Path, out: Path, json_out: Path | None) -> None:
    """Write an HTML report for SCORED_FILE (the output of `linkq score`: .csv, .jsonl or .parquet).

    Charts: score distribution, verdicts by referring site, anchor-text mix against a natural profile,
    follow/nofollow, placement zones, links per target page, new links per month with spikes, and the weak links
    split into worthless (ignored) and risky (disavow candidates).
    """
    from serving.report import summary_lines, write_report

    first, *rest = summary_lines(write_report(scored, out, json_out))
    _echo([f"wrote {out}" + (f" and {json_out}" if json_out else "") + f": {first}", *rest], err=True)


@cli.command()
@scored_argument
@out_option(help="Disavow file to write (.txt, UTF-8), ready to upload to Google Search Console.")
@click.option("--merge", type=IN_FILE,
              help="Your current disavow file: kept line for line; only new entries are added.")
@click.option("--allow", type=IN_FILE, help="Allow-list: one domain or URL per line (# comments); a domain covers its "
              "subdomains. Nothing on it is ever listed.")
@click.option("--level", type=click.Choice(["domain", "url"]), default="domain", show_default=True,
              help="domain: one domain: line per referring site (by URL when the site also sends good links); "
                   "url: one line per linking page.")
@click.option("--min-risk", type=click.IntRange(min=1), default=1, show_default=True,
              help="Minimum number of distinct manipulation flags (paid, spam_source, money_anchor, sitewide, "
                   "tool_spam_score, spam_vocabulary) a weak link needs to be listed.")
@click.option("--model", "model_id", default=None,
              help="Model id for the header comment (default: the file's model_id column, if any).")
def disavow(scored: Path, out: Path, **options: Any) -> None:
    """Write a Google disavow file from SCORED_FILE: weak links WITH manipulation signals only.

    Weak links without signals (a nofollow forum post, a footer link) are ignored by Google and are left out.
    Refuses (writes nothing) when the file would break Google's limits.
    """
    from serving.disavow import build_disavow, summary_lines

    first, *rest = summary_lines(build_disavow(scored, out, **options))
    _echo([f"wrote {out}: {first}", *rest], err=True)


# -- models ---------------------------------------------------------------------------------------------
@cli.command()
@click.argument("data", type=IN_PATH)
@model_option
@models_dir_option
@json_option(help="Write the metrics as JSON here.")
@flag_option("--check-floors", help="Fail if a metric is below the pinned quality floors.")
@click.option("--floors", type=ANY_PATH, default=Path("data/quality_floors.json"), show_default=True,
              help="Pinned floors (with the evaluation data's hash).")
def evaluate(data: Path, model_id: str | None, models_dir: str | None, json_out: Path | None,
             check_floors: bool, floors: Path) -> None:
    """Evaluate a model on the held-out sites of DATA (links.parquet or its folder)."""
    from training.registry import evaluate_data

    ev = evaluate_data(data, _models_dir(models_dir), model_id, floors if check_floors else None, json_out)
    _echo(ev.lines)
    _echo((f"FLOOR: {p}" for p in ev.problems), err=True)
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
def serve(models_dir: str | None, **options: Any) -> None:
    """Start the HTTP scoring service (BentoML): POST /score, POST /score_export, GET /model.

    Set LINKQ_API_KEY to require `Authorization: Bearer <key>`. Health: /livez, /readyz; OpenAPI at /docs.json and a
    plain page about the API at /.
    """
    from serving.serve import serve as run

    run(models_dir=Path(models_dir) if models_dir else None, **options)


@cli.group()
def models() -> None:
    """List, inspect and promote trained models."""


@models.command("list")
@models_dir_option
def models_list(models_dir: str | None) -> None:
    """List the models with what each was measured on; * marks the current one."""
    from training.registry import list_lines

    _echo(list_lines(_models_dir(models_dir)))


@models.command("show")
@click.argument("model_id", required=False)
@models_dir_option
def models_show(model_id: str | None, models_dir: str | None) -> None:
    """Show a model's metadata summary and held-out metrics."""
    from training.registry import show_lines

    _echo(show_lines(_models_dir(models_dir), model_id))


@models.command("promote")
@click.argument("model_id")
@models_dir_option
@flag_option("--force", help="Promote even if the promotion rule refuses (recorded in the metadata).")
@click.option("--floors", type=ANY_PATH, default=None,
              help="Pinned link-model floors to check (default: data/quality_floors.json).")
def models_promote(model_id: str, models_dir: str | None, force: bool, floors: Path | None) -> None:
    """Make MODEL_ID the default model (models/CURRENT) if it beats the current one on your held-out labels and
    holds the built-in floors (the same rule as `train --set-current`)."""
    from training.promotion import DEFAULT_FLOORS, promote

    res = promote(_models_dir(models_dir), model_id, force=force, floors=floors or DEFAULT_FLOORS)
    if res.problems:
        _say("forced past: " + "; ".join(res.problems))
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


main = cli  # the console script (pyproject: linkq = "linkq_cli:main")

if __name__ == "__main__":
    main()
