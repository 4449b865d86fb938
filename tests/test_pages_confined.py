"""A saved-pages manifest cannot name files outside its folder: "../", absolute paths and symlinks out
are a per-row error (PageError, which becomes the row's status), never read."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.pages import PageError, PagesDir

HTML = "<html><body><p>inside <a href='https://t.example/'>link</a></p></body></html>"


def test_manifest_entries_are_confined_to_their_folder(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "ok.html").write_text(HTML, encoding="utf-8")
    secret = tmp_path / "secret.html"
    secret.write_text("<html><body>SECRET</body></html>", encoding="utf-8")
    (folder / "link-out.html").symlink_to(secret)
    (folder / "link-in.html").symlink_to(folder / "sub" / "ok.html")
    (folder / "manifest.csv").write_text(
        "url,file\n"
        "https://a.example/ok,sub/ok.html\n"
        "https://a.example/in,link-in.html\n"
        "https://a.example/dotdot,../secret.html\n"
        "https://a.example/deep,sub/../../secret.html\n"
        f"https://a.example/abs,{secret}\n"
        "https://a.example/out,link-out.html\n", encoding="utf-8")
    pages = PagesDir(folder)
    assert "inside" in (pages.get("https://a.example/ok") or "")
    assert "inside" in (pages.get("https://a.example/in") or "")  # a symlink within the folder is fine
    for name in ("dotdot", "deep", "abs", "out"):
        with pytest.raises(PageError, match="outside the pages folder"):
            pages.get(f"https://a.example/{name}")
