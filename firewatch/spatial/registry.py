"""The field-chief registry (田长名册): who answers for which grid cell, and when.

A registry file (CSV or XLSX, English or Chinese headers; see ``grids/README.md``) lists one
person per row with the grid cell's code, their role (田长 field chief, 网格员 grid member,
责任人 other responsible cadre), name, phone and the days they are on duty.  History is kept, so
a detection is attributed to the people on duty on its acquisition day, not today's.

An import is all-or-nothing: every bad row is reported with its line number and nothing is
written (:class:`~firewatch.errors.RegistryImportError`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd
from sqlalchemy import Engine, delete, insert, select, update

from firewatch.errors import RegistryImportError
from firewatch.store.models import utcnow

if TYPE_CHECKING:
    from firewatch.spatial.grid import Grid

__all__ = [
    "ROLES",
    "ROLE_NAMES_ZH",
    "SINGLE_HOLDER_ROLES",
    "ImportResult",
    "RegistryRow",
    "import_registry",
    "load_duties",
    "normalise_phone",
    "parse_registry",
    "people_on_duty",
]

log = logging.getLogger(__name__)

#: Accepted spellings of the roles -> canonical role.
ROLES: Final[dict[str, str]] = {
    "field_chief": "field_chief",
    "field chief": "field_chief",
    "chief": "field_chief",
    "田长": "field_chief",
    "grid_member": "grid_member",
    "grid member": "grid_member",
    "member": "grid_member",
    "网格员": "grid_member",
    "cadre": "cadre",
    "other": "cadre",
    "responsible": "cadre",
    "责任人": "cadre",
    "包保干部": "cadre",
    "其他责任人": "cadre",
}
ROLE_NAMES_ZH: Final[dict[str, str]] = {
    "field_chief": "田长",
    "grid_member": "网格员",
    "cadre": "责任人",
}
#: Roles held by one person per cell at a time: their duty periods must not overlap.
SINGLE_HOLDER_ROLES: Final[tuple[str, ...]] = ("field_chief",)

_LEVELS: Final[dict[str, str]] = {
    "city": "city",
    "county": "county",
    "township": "township",
    "village": "village",
    "市": "city",
    "县": "county",
    "区": "county",
    "县级": "county",
    "乡": "township",
    "镇": "township",
    "乡镇": "township",
    "街道": "township",
    "村": "village",
}

#: Column -> accepted header spellings (compared lower-case, without spaces).
_HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "grid_code": ("grid_code", "code", "gridcode", "网格编码", "网格代码", "区划代码", "编码"),
    "level": ("level", "层级", "级别", "网格层级"),
    "role": ("role", "角色", "职务", "身份"),
    "name": ("name", "姓名", "名字"),
    "phone": ("phone", "mobile", "tel", "电话", "手机", "手机号", "联系电话"),
    "on_duty_from": ("on_duty_from", "from", "start", "任职起", "起始日期", "开始日期", "任职开始"),
    "on_duty_to": ("on_duty_to", "to", "end", "任职止", "终止日期", "结束日期", "任职结束"),
}
_REQUIRED: Final[tuple[str, ...]] = ("grid_code", "role", "name", "phone", "on_duty_from")

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{9,11}$")
_DATE_PATTERNS: Final[tuple[str, ...]] = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")
_ZH_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$")


@dataclass(frozen=True)
class RegistryRow:
    """One valid registry row."""

    line: int
    grid_code: str
    level: str
    role: str
    name: str
    phone: str
    on_duty_from: dt.date
    on_duty_to: dt.date | None

    @property
    def key(self) -> tuple[str, str, str, dt.date]:
        """What identifies a duty across imports."""
        return (self.grid_code, self.role, self.name, self.on_duty_from)


@dataclass
class ImportResult:
    """What an import did."""

    origin: str
    mode: str
    rows: int
    added: int
    updated: int
    unchanged: int
    removed: int
    import_id: int


# --------------------------------------------------------------------------- parsing


def normalise_phone(value: object) -> str | None:
    """An 11-digit mobile (``13800000001``) or a landline (``0467-1234567``), else ``None``.

    Spaces, dashes, brackets, a ``+86``/``0086`` prefix and Excel's ``.0`` are tolerated.
    """
    if value is None:
        return None
    s = str(value).strip()
    if re.fullmatch(r"\d+\.0", s):
        s = s[:-2]
    s = re.sub(r"[\s\-()（）]", "", s)
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("0086"):
        s = s[4:]
    elif len(s) == 13 and s.startswith("861"):
        s = s[2:]
    if _MOBILE.match(s):
        return s
    if _LANDLINE.match(s):
        # Area codes 010 and 02x have three digits, the others four.
        cut = 3 if s.startswith(("010", "02")) else 4
        area, number = s[:cut], s[cut:]
        if 7 <= len(number) <= 8 and not number.startswith("0"):
            return f"{area}-{number}"
    return None


def _parse_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = str(value).strip()
    m = _ZH_DATE.match(s)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    s = s.split(" ")[0].split("T")[0]  # "2022-10-21 00:00:00" from a spreadsheet
    for fmt in _DATE_PATTERNS:
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    return None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _map_headers(header: Sequence[object]) -> tuple[dict[str, int], list[str]]:
    norm = [re.sub(r"\s+", "", str(h or "")).lower() for h in header]
    found: dict[str, int] = {}
    for col, names in _HEADERS.items():
        for i, h in enumerate(norm):
            if h in names and col not in found:
                found[col] = i
    missing = [c for c in _REQUIRED if c not in found]
    return found, missing


def _read_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    """(line number, cells) of every physical record; line 1 is the header."""
    data = path.read_bytes()
    if data[:2] == b"PK":  # a zip container: XLSX
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several kinds for a broken file
            raise RegistryImportError(
                [(0, f"not a readable XLSX file ({exc})")], origin=path.name
            ) from exc
        ws = wb.worksheets[0]
        for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield n, list(row)
        wb.close()
        return
    for enc in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RegistryImportError(
            [(0, "not a CSV (UTF-8 or GBK text) or XLSX file")], origin=path.name
        )
    if "\x00" in text:
        raise RegistryImportError([(0, "not a CSV or XLSX file (binary data)")], origin=path.name)
    reader = csv.reader(io.StringIO(text, newline=""))
    last = 0
    for rec in reader:
        yield last + 1, list(rec)
        last = reader.line_num


def _cell(row: list[object], i: int | None) -> object:
    if i is None or i >= len(row):
        return None
    v = row[i]
    return v.strip() if isinstance(v, str) else v


def parse_registry(path: str | Path, grid: Grid) -> list[RegistryRow]:
    """Read and validate a registry file against ``grid``.

    Checks each row (missing fields, a code that is not in the grid, a level that does not
    match the code, an unknown role, a bad phone, unreadable dates or dates in the wrong order,
    a row repeated) and the duty periods of single-holder roles (:data:`SINGLE_HOLDER_ROLES`)
    of one cell, which must not overlap.

    Raises
    ------
    RegistryImportError
        With every problem found, by line number; or for a file that is not a registry.
    """
    from firewatch.spatial.grid import normalise_code

    p = Path(path)
    if not p.is_file():
        raise RegistryImportError([(0, "no such file")], origin=str(p))
    rows = _read_rows(p)
    header: list[object] | None = None
    for line, cells in rows:
        if any(not _blank(c) for c in cells):
            header = cells
            header_line = line
            break
    if header is None:
        raise RegistryImportError([(1, "the file is empty")], origin=p.name)
    cols, missing = _map_headers(header)
    if missing:
        have = ", ".join(str(h) for h in header if not _blank(h)) or "none"
        raise RegistryImportError(
            [
                (
                    header_line,
                    f"missing column(s) {', '.join(missing)} (columns found: {have}); "
                    "expected grid_code, level, role, name, phone, on_duty_from, on_duty_to "
                    "(or 网格编码, 层级, 角色, 姓名, 电话, 任职起, 任职止)",
                )
            ],
            origin=p.name,
        )
    level_of = grid.level_of()
    problems: list[tuple[int, str]] = []
    out: list[RegistryRow] = []
    for line, cells in rows:
        if all(_blank(c) for c in cells):
            continue
        errs: list[str] = []
        vals = {c: _cell(cells, cols.get(c)) for c in _HEADERS}
        for c in _REQUIRED:
            if _blank(vals[c]):
                errs.append(f"missing {c}")
        code = normalise_code(vals["grid_code"]) if not _blank(vals["grid_code"]) else None
        if not _blank(vals["grid_code"]):
            if code is None:
                errs.append(f"grid code {vals['grid_code']!r} is not a 4/6/9/12-digit code")
            elif code not in level_of:
                errs.append(f"unknown grid code {code} (not a cell of grid {grid.name!r})")
        level = level_of.get(code or "")
        if not _blank(vals["level"]):
            given = _LEVELS.get(str(vals["level"]).strip().lower())
            if given is None:
                errs.append(f"unknown level {vals['level']!r} (city/county/township/village)")
            elif level is not None and given != level:
                errs.append(f"level {given} does not match grid code {code}, a {level} cell")
        role = None
        if not _blank(vals["role"]):
            role = ROLES.get(str(vals["role"]).strip().lower())
            if role is None:
                errs.append(
                    f"unknown role {vals['role']!r} (田长/field_chief, 网格员/grid_member, "
                    "责任人/cadre)"
                )
        phone = None
        if not _blank(vals["phone"]):
            phone = normalise_phone(vals["phone"])
            if phone is None:
                errs.append(
                    f"bad phone {vals['phone']!r}: expected an 11-digit mobile (1[3-9]…) or "
                    "a landline like 0467-1234567"
                )
        start = end = None
        if not _blank(vals["on_duty_from"]):
            start = _parse_date(vals["on_duty_from"])
            if start is None:
                errs.append(f"on_duty_from {vals['on_duty_from']!r} is not a date")
        if not _blank(vals["on_duty_to"]):
            end = _parse_date(vals["on_duty_to"])
            if end is None:
                errs.append(f"on_duty_to {vals['on_duty_to']!r} is not a date")
        if start and end and end < start:
            errs.append(f"on_duty_to {end} is before on_duty_from {start}")
        name = str(vals["name"]).strip() if not _blank(vals["name"]) else ""
        if len(name) > 64:
            errs.append("name longer than 64 characters")
        if errs:
            problems.extend((line, e) for e in errs)
            continue
        assert code is not None and level is not None and role is not None
        assert phone is not None and start is not None
        out.append(RegistryRow(line, code, level, role, name, phone, start, end))

    seen: dict[tuple[str, str, str, dt.date], int] = {}
    for r in out:
        if r.key in seen:
            problems.append(
                (
                    r.line,
                    f"repeats line {seen[r.key]} ({r.name}, {r.role} of {r.grid_code} "
                    f"from {r.on_duty_from})",
                )
            )
        else:
            seen[r.key] = r.line
    problems.extend(_overlaps(out))
    if problems:
        problems.sort()
        raise RegistryImportError(problems, origin=p.name)
    return out


def _period(start: dt.date, end: dt.date | None) -> str:
    return f"{start}–{end or 'open'}"


def _overlaps(
    rows: Iterable[RegistryRow], stored: Iterable[dict[str, Any]] = ()
) -> list[tuple[int, str]]:
    """Overlapping duty periods of single-holder roles, between rows and with stored duties."""
    by_cell: dict[tuple[str, str], list[tuple[dt.date, dt.date, str, int | None, str]]] = {}
    far = dt.date.max
    for r in rows:
        if r.role in SINGLE_HOLDER_ROLES:
            by_cell.setdefault((r.grid_code, r.role), []).append(
                (r.on_duty_from, r.on_duty_to or far, r.name, r.line, "")
            )
    for d in stored:
        if d["role"] in SINGLE_HOLDER_ROLES and (d["grid_code"], d["role"]) in by_cell:
            by_cell[(d["grid_code"], d["role"])].append(
                (
                    d["on_duty_from"],
                    d["on_duty_to"] or far,
                    d["name"],
                    None,
                    f"stored duty imported from {d['origin']} line {d['origin_line']}",
                )
            )
    problems: list[tuple[int, str]] = []
    for (code, role), spans in by_cell.items():
        spans.sort(key=lambda s: (s[0], s[1]))
        # Compare each period with the one reaching furthest so far (not only its neighbour).
        reach = spans[0]
        for b in spans[1:]:
            a = reach
            if b[0] <= a[1]:
                line = b[3] if b[3] is not None else a[3]
                other = a if line == b[3] else b
                if line is not None:
                    where = other[4] or f"line {other[3]}"
                    end = None if other[1] == far else other[1]
                    problems.append(
                        (
                            line,
                            f"{ROLE_NAMES_ZH[role]} ({role}) duty of {code} overlaps {where} "
                            f"({other[2]}, {_period(other[0], end)}); one field chief per cell "
                            "at a time: end the earlier duty (on_duty_to) the day before the "
                            "next starts",
                        )
                    )
            if b[1] > reach[1]:
                reach = b
    return problems


# --------------------------------------------------------------------------- storing


def load_duties(engine: Engine) -> pd.DataFrame:
    """Every stored duty (``id``, ``grid_code``, ``level``, ``role``, ``name``, ``phone``,
    ``on_duty_from``, ``on_duty_to``, ``origin``, ``origin_line``)."""
    from firewatch.spatial.grid_models import GridDuty

    cols = [
        GridDuty.id,
        GridDuty.grid_code,
        GridDuty.level,
        GridDuty.role,
        GridDuty.name,
        GridDuty.phone,
        GridDuty.on_duty_from,
        GridDuty.on_duty_to,
        GridDuty.origin,
        GridDuty.origin_line,
    ]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols)).all()
    return pd.DataFrame(rows, columns=[c.key for c in cols])


def import_registry(
    engine: Engine, path: str | Path, grid: Grid, *, replace: bool = False
) -> ImportResult:
    """Validate a registry file and store it, in one transaction.

    Rows are merged into the stored registry by (grid code, role, name, first day): a known
    row is updated (phone, level, last day), a new one added.  With ``replace`` the file
    becomes the whole registry (stored rows that it does not list are removed).

    Raises
    ------
    RegistryImportError
        When any row is bad (see :func:`parse_registry`) or a single-holder duty overlaps a
        stored one; nothing is written.
    """
    from firewatch.spatial.grid_models import GridDuty, GridRegistryImport

    p = Path(path)
    rows = parse_registry(p, grid)
    stored = load_duties(engine)
    stored_recs = stored.to_dict("records")
    keys = {r.key for r in rows}
    key_of = {(d["grid_code"], d["role"], d["name"], d["on_duty_from"]): d for d in stored_recs}
    kept = [d for k, d in key_of.items() if k not in keys] if not replace else []
    problems = _overlaps(rows, kept)
    if problems:
        raise RegistryImportError(sorted(problems), origin=p.name)

    added = updated = unchanged = 0
    removed = len(key_of) - len(keys & set(key_of)) if replace else 0
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    with engine.begin() as conn:
        imp = conn.execute(
            insert(GridRegistryImport).values(
                origin=p.name,
                sha256=digest,
                mode="replace" if replace else "merge",
                rows=len(rows),
                added=0,
                updated=0,
                unchanged=0,
                removed=removed,
                grid_sha256=grid.sha256,
                imported_at=utcnow(),
            )
        )
        pk = imp.inserted_primary_key
        assert pk is not None
        import_id = int(pk[0])
        if replace:
            gone = [d["id"] for k, d in key_of.items() if k not in keys]
            for i in range(0, len(gone), 500):
                conn.execute(delete(GridDuty).where(GridDuty.id.in_(gone[i : i + 500])))
        new: list[dict[str, Any]] = []
        for r in rows:
            d = key_of.get(r.key)
            if d is None:
                new.append(
                    {
                        "grid_code": r.grid_code,
                        "level": r.level,
                        "role": r.role,
                        "name": r.name,
                        "phone": r.phone,
                        "on_duty_from": r.on_duty_from,
                        "on_duty_to": r.on_duty_to,
                        "import_id": import_id,
                        "origin": p.name,
                        "origin_line": r.line,
                    }
                )
                continue
            same = (
                d["phone"] == r.phone
                and d["level"] == r.level
                and _date_or_none(d["on_duty_to"]) == r.on_duty_to
            )
            if same:
                unchanged += 1
                continue
            conn.execute(
                update(GridDuty)
                .where(GridDuty.id == d["id"])
                .values(
                    phone=r.phone,
                    level=r.level,
                    on_duty_to=r.on_duty_to,
                    import_id=import_id,
                    origin=p.name,
                    origin_line=r.line,
                )
            )
            updated += 1
        if new:
            conn.execute(insert(GridDuty), new)
        added = len(new)
        conn.execute(
            update(GridRegistryImport)
            .where(GridRegistryImport.id == import_id)
            .values(added=added, updated=updated, unchanged=unchanged)
        )
    log.info(
        "registry %s: %d rows, %d added, %d updated, %d unchanged, %d removed",
        p.name,
        len(rows),
        added,
        updated,
        unchanged,
        removed,
    )
    return ImportResult(
        origin=p.name,
        mode="replace" if replace else "merge",
        rows=len(rows),
        added=added,
        updated=updated,
        unchanged=unchanged,
        removed=removed,
        import_id=import_id,
    )


def _date_or_none(v: object) -> dt.date | None:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    return v if isinstance(v, dt.date) else None


def people_on_duty(duties: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """The people on duty for cells on days.

    Parameters
    ----------
    duties
        From :func:`load_duties`.
    cells
        One row per (item, cell): columns ``item`` (any key, e.g. a detection id), ``level``,
        ``grid_code`` and ``day`` (a :class:`datetime.date`, Beijing time).

    Returns
    -------
    pandas.DataFrame
        ``item``, ``level``, ``grid_code``, ``role``, ``name``, ``phone``, ``duty_id``: one row
        per person on duty (from <= day <= to; an open end is still on duty).
    """
    cols = ["item", "level", "grid_code", "role", "name", "phone", "duty_id"]
    if duties.empty or cells.empty:
        return pd.DataFrame(columns=cols)
    d = duties.rename(columns={"id": "duty_id", "level": "duty_level"})
    m = cells.merge(d, on="grid_code", how="inner")
    if m.empty:
        return pd.DataFrame(columns=cols)
    day = pd.to_datetime(m["day"])
    start = pd.to_datetime(m["on_duty_from"])
    end = pd.to_datetime(m["on_duty_to"]).fillna(pd.Timestamp.max)
    on = (start <= day) & (day <= end)
    out = m.loc[on, cols].copy()
    order = {"field_chief": 0, "grid_member": 1, "cadre": 2}
    out["_r"] = out["role"].map(order)
    out = out.sort_values(["item", "level", "_r", "name"], kind="stable").drop(columns="_r")
    return out.reset_index(drop=True)
