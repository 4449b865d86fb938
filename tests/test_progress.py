"""serving.progress: a bar on a terminal, plain lines in logs."""

from __future__ import annotations

import io

from serving.progress import Progress


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    with Progress(1000, "rows", stream=out, every=0.0, estimate=True) as bar:
        bar.update_to(400)
        bar.update_to(1000)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("400/~1,000 rows, ") and lines[-1].startswith("1,000/~1,000 rows, ")
    assert "\r" not in out.getvalue()


def test_plain_lines_are_spaced_in_time() -> None:
    out = io.StringIO()
    with Progress(None, "pages", stream=out, every=3600.0) as bar:
        for done in range(1, 50):
            bar.update_to(done)
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[0]]  # only the closing line
    assert out.getvalue().startswith("49 pages, ")


def test_work_whose_size_grows_as_it_goes() -> None:
    out = io.StringIO()
    with Progress(None, "pages", stream=out, every=0.0) as bar:
        bar.update_with_total(3, 10)
        bar.update_with_total(12, 40)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("3/10 pages, ") and lines[-1].startswith("12/40 pages, ")


def test_a_bar_with_rate_on_a_terminal() -> None:
    out = io.StringIO()
    with Progress(100, "rows", stream=out, tty=True) as bar:
        bar.update_to(50)
        bar.update_to(150)  # an estimate that was short grows the bar
    text = out.getvalue()
    assert "\r" in text and "150/150" in text and "rows/s" in text
