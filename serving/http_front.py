"""What the HTTP service shows and logs around the API, not scoring itself.

* ``index_page``: the page at ``/``. BentoML's default page loads Google Tag Manager; a self-hosted
  tool must not phone home, so linkq serves its own page: plain HTML, no script at all, and a
  Content-Security-Policy that would block one. The OpenAPI document stays at ``/docs.json``.
* ``quiet_client_errors``: BentoML logs every request it answers with a 4xx (invalid JSON, a
  missing field) as an ERROR with a ~25-line traceback. The filter turns those into one INFO line
  (status, path, what was wrong, never the request's values); 5xx keep their traceback.
"""

from __future__ import annotations

import html
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

__all__ = ["BENTOML_HTTP_LOGGER", "ClientErrorLogFilter", "index_page", "quiet_client_errors"]

BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"  # where BentoML's log_exception writes
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
MAX_LOGGED_ERRORS = 5  # validation errors named in one log line
MAX_LINE = 500  # characters of one log line's explanation

_ENDPOINTS = (
    ("POST", "/score", 'JSON {"records": [...]}: up to 1,000 link records, results in request order'),
    ("POST", "/score_export", "multipart field file: an Ahrefs, Semrush, Majestic, Moz, Search Console, CSV or "
                              "JSONL export (up to 50 MB), answered with the scored CSV"),
    ("GET", "/model", "the loaded model: id, schema, thresholds, held-out metrics"),
    ("GET", "/livez", "alive"),
    ("GET", "/readyz", "ready (503 while the model loads)"),
    ("GET", "/docs.json", "the OpenAPI document"),
)


def _page() -> str:
    rows = "\n".join(f"<tr><td>{m}</td><td><code>{html.escape(p)}</code></td><td>{html.escape(d)}</td></tr>"
                     for m, p, d in _ENDPOINTS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>linkq</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}}
td{{padding:.3rem .6rem;vertical-align:top;border-bottom:1px solid #ddd}}code{{background:#f4f4f4;padding:0 .2rem}}</style>
</head><body>
<h1>linkq</h1>
<p>Explainable backlink quality scores (strong / review / weak) with reasons and page evidence.</p>
<table>
{rows}
</table>
<p>Send <code>Authorization: Bearer &lt;key&gt;</code> when the server has <code>LINKQ_API_KEY</code> set.
The service never fetches the URLs it is given. The <a href="docs.json">OpenAPI document</a> describes every
field.</p>
<pre>curl -s http://HOST:PORT/score -H 'content-type: application/json' \\
  -d '{{"records":[{{"source_url":"https://blog.example.org/p","target_url":"https://you.example.com/"}}]}}'</pre>
</body></html>
"""


async def index_page(request: Request) -> Response:
    """The service's home page: static HTML, no script, nothing loaded from elsewhere."""
    return HTMLResponse(_page(), headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                                          "Referrer-Policy": "no-referrer"})


def _client_error(exc: BaseException) -> tuple[int, str] | None:
    """(status, one-line explanation) when ``exc`` is answered with a 4xx, else None."""
    from bentoml.exceptions import BentoMLException
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        errors = exc.errors(include_context=False, include_input=False, include_url=False)
        named = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                          for e in errors[:MAX_LOGGED_ERRORS])
        more = f" (+{len(errors) - MAX_LOGGED_ERRORS} more)" if len(errors) > MAX_LOGGED_ERRORS else ""
        return 400, f"{exc.error_count()} validation error(s) for {exc.title}: {named}{more}"
    if isinstance(exc, BentoMLException):
        status = int(getattr(exc.error_code, "value", 500))
        if 400 <= status < 500:
            return status, f"{type(exc).__name__}: {exc}"
    return None


class ClientErrorLogFilter(logging.Filter):
    """Rewrites BentoML's "Exception on <path>" record of a 4xx answer into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not str(record.msg).startswith("Exception on"):
            return True
        found = _client_error(exc)
        if found is None:
            return True  # a real server error: keep the traceback
        status, why = found
        why = " ".join(why.split())
        record.msg = "%s on %s [%s]: %s"
        record.args = (status, *(record.args or ("?", "?"))[:2], why[:MAX_LINE])
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def quiet_client_errors() -> None:
    """Install ``ClientErrorLogFilter`` on BentoML's HTTP logger (once per process)."""
    target = logging.getLogger(BENTOML_HTTP_LOGGER)
    if not any(isinstance(f, ClientErrorLogFilter) for f in target.filters):
        target.addFilter(ClientErrorLogFilter())
