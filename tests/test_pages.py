"""features.pages: one page path for every command and engine, whatever holds the pages.

A saved-pages folder and a page cache holding the same pages give byte-identical scored files (the
goldens of tests/test_golden.py), in one process and in the pool; ``open_pages`` decides by what the
path is; the cache module imports nothing back from the page sources.
"""

from __future__ import annotations

import ast
import csv
import gzip
from pathlib import Path

import pytest

from features.page_cache import OK, PAGE_GONE, CacheError, PageCache, PageEntry
from features.pages import BatchPages, CachedPages, NoPages, PageError, PagesDir, TargetPages, open_pages
from serving.batch import BatchError, BatchOptions, score_files
from serving.table import GSC_NO_PAGE, GSC_NO_TARGET

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
FOLDER = GOLDEN / "pages"
EXPORTS = HERE / "fixtures" / "exports"
SCIENCE_URL = "https://www.sciencealert.com/nasa-finds-water-plumes-above-the-surface-of-jupiter-s-icy-moon-europa"


def cache_from_folder(folder: Path, cache_path: Path) -> Path:
    """A page cache holding every page of a saved-pages folder, as `linkq fetch` would store them."""
    with (folder / "manifest.csv").open(newline="", encoding="utf-8") as fh, PageCache(cache_path) as cache:
        for row in csv.DictReader(fh):
            path = folder / row["file"]
            body = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            cache.put(PageEntry(url=row["url"], outcome=OK, final_url=row["url"], http_status=200,
                                content_type="text/html", body=body))
    return cache_path


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cache_from_folder(FOLDER, tmp_path_factory.mktemp("cache") / "pages.sqlite")


def test_open_pages_decides_by_what_the_path_is(cache: Path, tmp_path: Path) -> None:
    assert isinstance(open_pages(None), NoPages)
    assert isinstance(open_pages(FOLDER), PagesDir)
    assert isinstance(open_pages(cache), CachedPages)
    with pytest.raises(FileNotFoundError, match="manifest.csv"):
        open_pages(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_pages(tmp_path / "nothing.sqlite")
    (tmp_path / "notes.txt").write_text("not a cache", encoding="utf-8")
    with pytest.raises(CacheError):
        open_pages(tmp_path / "notes.txt")


def test_folder_and_cache_answer_alike(cache: Path) -> None:
    folder, cached = open_pages(FOLDER), open_pages(cache)
    assert folder.get(SCIENCE_URL) == cached.get(SCIENCE_URL)
    assert folder.has(SCIENCE_URL) and cached.has(SCIENCE_URL)
    assert folder.get("https://nowhere.example/") is None and cached.get("https://nowhere.example/") is None
    assert not folder.has("https://nowhere.example/") and not cached.has("https://nowhere.example/")
    assert folder.status(SCIENCE_URL) is None and cached.status(SCIENCE_URL) is None


def test_a_gone_page_is_not_had_and_says_why(tmp_path: Path) -> None:
    with PageCache(tmp_path / "c.sqlite") as pc:
        pc.put(PageEntry(url="https://gone.example/", outcome=PAGE_GONE, http_status=404, error="HTTP 404"))
    pages = open_pages(tmp_path / "c.sqlite")
    assert not pages.has("https://gone.example/")
    assert pages.status("https://gone.example/") == "page_gone"
    with pytest.raises(PageError, match="^page_gone"):
        pages.get("https://gone.example/")


def test_batch_pages_returns_one_string_per_url() -> None:
    pages = BatchPages(open_pages(FOLDER))
    assert pages.get(SCIENCE_URL) is pages.get(SCIENCE_URL)
    assert pages.has(SCIENCE_URL) and pages.status(SCIENCE_URL) is None


def test_target_pages_give_title_and_main_text() -> None:
    targets = TargetPages(open_pages(FOLDER))
    title, text = targets.about(SCIENCE_URL) or ("", "")
    assert "Europa" in title and len(text) > 200
    rec, used = targets.fill({"target_url": SCIENCE_URL})
    assert used and rec["target_title"] == title
    assert targets.fill({"target_url": "https://nowhere.example/"}) == ({"target_url": "https://nowhere.example/"},
                                                                       False)


def test_the_cache_module_imports_nothing_back_from_the_page_sources() -> None:
    tree = ast.parse((HERE.parent / "features" / "page_cache.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "pages" not in imported and "features.pages" not in imported


SCORED_INPUTS = ["ahrefs_utf8.csv", "gsc_latest_links_es.csv", "moz.csv", "links.jsonl"]


@pytest.mark.parametrize("name", SCORED_INPUTS)
def test_a_page_cache_gives_the_scores_of_the_saved_folder(name: str, cache: Path, tmp_path: Path) -> None:
    src = EXPORTS / name
    out = tmp_path / "scored.csv"
    score_files([src], out, BatchOptions(workers=1, pages=cache))
    assert out.read_bytes() == (GOLDEN / f"{name}.pages.csv").read_bytes()


def test_with_pages_and_target_pages_from_caches_and_explain(cache: Path, tmp_path: Path) -> None:
    targets = cache_from_folder(GOLDEN / "target_pages", tmp_path / "targets.sqlite")
    src = GOLDEN / "inputs" / "pages_links.csv"
    out = tmp_path / "scored.csv"
    score_files([src], out, BatchOptions(workers=1, pages=cache, target_pages=targets, explain=True))
    assert out.read_bytes() == (GOLDEN / "pages_links.csv.explain.csv").read_bytes()


def test_the_pool_reads_the_cache_too(cache: Path, tmp_path: Path) -> None:
    src = GOLDEN / "inputs" / "pages_links.csv"
    out = tmp_path / "scored.csv"
    score_files([src], out, BatchOptions(workers=2, chunk_rows=2, pages=cache))
    assert out.read_bytes() == (GOLDEN / "pages_links.csv.pages.csv").read_bytes()


def test_search_console_rows_say_whether_the_cache_has_their_page(cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "scored.csv"
    score_files([EXPORTS / "gsc_sample_links.csv"], out, BatchOptions(workers=1, pages=cache))
    with out.open(newline="", encoding="utf-8") as fh:
        assert {r["status"] for r in csv.DictReader(fh)} == {GSC_NO_TARGET}
    score_files([EXPORTS / "gsc_sample_links.csv"], out, BatchOptions(workers=1))
    with out.open(newline="", encoding="utf-8") as fh:
        assert {r["status"] for r in csv.DictReader(fh)} == {GSC_NO_PAGE}


def test_a_file_that_is_not_a_page_cache_is_refused_before_any_work(tmp_path: Path) -> None:
    bad = tmp_path / "pages.sqlite"
    bad.write_text("url,file\n", encoding="utf-8")
    with pytest.raises(BatchError, match="not a linkq page cache"):
        score_files([EXPORTS / "generic.csv"], tmp_path / "o.csv", BatchOptions(pages=bad))
    assert not (tmp_path / "o.csv").exists()
