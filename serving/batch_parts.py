"""Parts and resume: each scored chunk committed in ``<out>.parts/``, the run's state, and the
final file assembled (streamed as chunks commit, or concatenated at the end) and checked.

See ``serving.batch``'s module doc for the guarantees (atomic, resumable, rows counted).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from features.recordio import umask_mode

from .batch_engines import ChunkResult
from .batch_options import BatchError, BatchIntegrityError
from .exports import csv_reader
from .table import EXPLAIN_FEATURES, arrow_types, output_columns

STATE_VERSION = 2  # 2: the profile pass (parts/profile.npz), brands and money
_FINGERPRINT_BYTES = 64 * 1024


def file_fingerprint(path: Path) -> dict[str, object]:
    st = path.stat()
    h = hashlib.sha256()
    with path.open("rb") as fh:
        h.update(fh.read(_FINGERPRINT_BYTES))
        if st.st_size > 2 * _FINGERPRINT_BYTES:
            fh.seek(-_FINGERPRINT_BYTES, os.SEEK_END)
        h.update(fh.read(_FINGERPRINT_BYTES))
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sha256_ends": h.hexdigest()[:32]}


def model_fingerprint(model_dir: Path) -> dict[str, object]:
    meta = (model_dir / "metadata.json").read_bytes()
    return {"model_id": model_dir.name, "metadata_sha256": hashlib.sha256(meta).hexdigest()[:32]}


def part_stem(input_index: int, chunk_index: int) -> str:
    return f"part-{input_index:05d}-{chunk_index:07d}"


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask_mode(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def commit_part(parts: Path, res: ChunkResult) -> None:
    """Body first, then the header: a part exists (is committed) once its .json header exists."""
    stem = part_stem(res.input_index, res.chunk_index)
    _atomic_write(parts / f"{stem}.body", res.body)
    _atomic_write(parts / f"{stem}.json", json.dumps(res.header, ensure_ascii=False).encode("utf-8"))


def read_header(parts: Path, stem: str) -> dict[str, Any] | None:
    path = parts / f"{stem}.json"
    if not path.is_file() or not (parts / f"{stem}.body").is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def prepare_parts(parts: Path, state: dict[str, Any], resume: bool) -> bool:
    """Create or reuse the parts folder; True when it holds an interrupted run to resume."""
    state_file = parts / "state.json"
    if parts.exists() and resume and state_file.is_file():
        try:
            old = json.loads(state_file.read_text(encoding="utf-8"))
        except ValueError:
            old = None
        if old != state:
            raise BatchError(_resume_mismatch(old, state, parts))
        for tmp in parts.glob(".*.tmp"):
            tmp.unlink()
        return True
    if parts.exists():
        shutil.rmtree(parts)
    parts.mkdir(parents=True)
    _atomic_write(state_file, (json.dumps(state, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return False


def _resume_mismatch(old: dict[str, Any] | None, new: dict[str, Any], parts: Path) -> str:
    if not isinstance(old, dict):
        return f"cannot resume: {parts}/state.json is unreadable; run without --resume to start over"
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    what = ", ".join("the input files" if k == "inputs" else k for k in changed)
    return (f"cannot resume: {what} changed since the interrupted run ({parts}); "
            "run without --resume to start over")


# --------------------------------------------------------------------------------------------------
# assembling the final file


def assemble(parts: Path, stems: list[str], headers: list[dict[str, Any]], out: Path, originals: list[str],
              fields: tuple[str, ...], explain: bool, multi: bool) -> tuple[Path, int]:
    """Concatenate the part bodies into a temporary file next to ``out``; returns it and the number
    of rows it holds, counted by reading it back. The caller renames it over ``out``."""
    suffix = out.suffix.lower()
    columns = output_columns(originals, fields, explain, multi)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    umask_mode(tmp)  # the scored file gets the mode the user's umask gives, not mkstemp's 0600
    try:
        if suffix == ".csv":
            _assemble_csv(parts, stems, headers, tmp, columns, originals, multi)
        elif suffix == ".jsonl":
            with tmp.open("wb") as fh:
                for stem in stems:
                    with (parts / f"{stem}.body").open("rb") as src:
                        shutil.copyfileobj(src, fh, 1 << 20)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            _assemble_parquet(parts, stems, tmp, columns, fields, explain)
        return tmp, _count_rows(tmp, suffix)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class StreamingAssembly:
    """Writes the output while the run goes, so that its end only renames a file.

    Each committed part (in input order, resumed ones read back from the parts folder) is appended
    to a temporary file next to ``out``; the rows are those the part's header counts, and the file
    is checked at the end to hold exactly the header line plus every body appended (its size on
    disk), instead of being assembled and read back after the last chunk (~5 s per million rows
    during which the scoring processes would sit idle). A CSV needs its columns up front: those of
    the inputs. A part with other columns (JSON lines with other keys, the ``(extra N)`` cells of a
    row with too many fields) or a Parquet output turns streaming off; the parts are then assembled
    at the end as before.
    """

    def __init__(self, out: Path, originals: list[str], fields: tuple[str, ...], explain: bool,
                 multi: bool, enabled: bool) -> None:
        self.suffix = out.suffix.lower()
        self.originals = originals
        self.active = enabled and self.suffix in (".csv", ".jsonl")
        self.rows = 0
        self.size = 0
        self.tmp: Path | None = None
        self._fh: Any = None
        if not self.active:
            return
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
        self.tmp = Path(name)
        umask_mode(self.tmp)
        self._fh = os.fdopen(fd, "wb")
        if self.suffix == ".csv":
            buf = io.StringIO()
            csv.writer(buf).writerow(output_columns(originals, fields, explain, multi))
            self._write(buf.getvalue().encode("utf-8"))

    def _write(self, data: bytes) -> None:
        self._fh.write(data)
        self.size += len(data)

    def add(self, header: dict[str, Any], body: bytes) -> None:
        if not self.active:
            return
        if self.suffix == ".csv" and header["columns"] != self.originals:
            self.discard()
            return
        self._write(body)
        self.rows += header["rows"]

    def finish(self) -> tuple[Path, int] | None:
        """(the complete temporary file, its rows), or None when streaming was turned off."""
        if not self.active or self.tmp is None:
            return None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        if self.tmp.stat().st_size != self.size:
            self.tmp.unlink(missing_ok=True)
            raise BatchIntegrityError(f"{self.tmp} holds {self.tmp.stat().st_size} bytes, {self.size} were written")
        return self.tmp, self.rows

    def discard(self) -> None:
        self.active = False
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)


def _assemble_csv(parts: Path, stems: list[str], headers: list[dict[str, Any]], tmp: Path, columns: list[str],
                  originals: list[str], multi: bool) -> None:
    lead = 1 if multi else 0
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(columns)
        fh.flush()
        for stem, h in zip(stems, headers, strict=True):
            body = parts / f"{stem}.body"
            if h["columns"] == originals:  # the usual case: the part's rows are final as they are
                with body.open("rb") as src:
                    shutil.copyfileobj(src, fh.buffer, 1 << 20)
                fh.buffer.flush()
                continue
            position = [originals.index(c) for c in h["columns"]]  # inputs with other columns
            k = len(position)
            writer = csv.writer(fh)
            with body.open(encoding="utf-8", newline="") as src:
                for row in csv_reader(src):
                    mapped = [""] * len(originals)
                    for j, v in zip(position, row[lead: lead + k], strict=True):
                        mapped[j] = v
                    writer.writerow(row[:lead] + mapped + row[lead + k:])
            fh.flush()
        fh.flush()
        os.fsync(fh.fileno())


def _assemble_parquet(parts: Path, stems: list[str], tmp: Path, columns: list[str], fields: tuple[str, ...],
                      explain: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n_head = len(columns) - len(fields) - (len(EXPLAIN_FEATURES) if explain else 0)
    types = arrow_types(columns, n_head, fields)
    schema = pa.schema([pa.field(c, t) for c, t in zip(columns, types, strict=True)])
    with pq.ParquetWriter(str(tmp), schema, compression="zstd") as writer:
        for stem in stems:
            data = (parts / f"{stem}.body").read_bytes()
            if not data:
                continue
            table = pa.ipc.open_stream(pa.BufferReader(data)).read_all()
            have = set(table.column_names)
            arrays = [table.column(f.name).cast(f.type) if f.name in have else pa.nulls(table.num_rows, f.type)
                      for f in schema]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


def _count_rows(path: Path, suffix: str) -> int:
    """Rows in a finished output file, read back (CSV records may span lines)."""
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(str(path)).metadata.num_rows)
    if suffix == ".jsonl":
        n = 0
        with path.open("rb") as fh:
            while block := fh.read(1 << 22):
                n += block.count(b"\n")
        return n
    with path.open(encoding="utf-8", newline="") as fh:
        return max(0, sum(1 for _ in csv_reader(fh)) - 1)
