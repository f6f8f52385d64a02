"""``firewatch grids check``: what is wrong with a grid, in words a grid office can act on.

Checks (``grids/README.md``):

* invalid geometries, repaired on loading (safe repairs are warnings, shape-changing ones block);
* codes that do not denote their layer's level, missing or unknown parents, codes that do not
  start with their parent's significant digits;
* children sticking out of their parent by more than the tolerance;
* gaps (a parent's land covered by none of its children) and overlaps inside a level, wider
  than the tolerance, each with its location and area;
* villages with no field chief (田长) on duty on a given day.

Measurements are made in a Lambert conformal conic projection fitted to the grid
(:func:`firewatch.spatial.boundaries.lcc_crs`): scale error < 0.2 % over a province.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
import shapely

from firewatch.spatial.grid import LEVEL_DIGITS, LEVELS, Grid, code_level

__all__ = ["GridProblem", "GridReport", "check_grid"]

log = logging.getLogger(__name__)

BLOCKING: Final = "blocking"
WARNING: Final = "warning"

_PARENT: Final[dict[str, str]] = {"county": "city", "township": "county", "village": "township"}
_MAX_LISTED: Final = 200  # problems of one kind listed one by one; the rest are counted


@dataclass(frozen=True)
class GridProblem:
    """One thing wrong with a grid."""

    severity: str  # blocking | warning
    kind: str  # invalid_geometry | wrong_level | no_parent | unknown_parent | code_mismatch |
    #            outside_parent | gap | overlap | no_chief | no_registry
    level: str
    code: str
    message: str
    lon: float | None = None
    lat: float | None = None
    area_m2: float | None = None

    def line(self) -> str:
        where = f" around {self.lon:.5f}E {self.lat:.5f}N" if self.lon is not None else ""
        return f"{self.severity.upper():8s} {self.kind:16s} {self.message}{where}"


@dataclass
class GridReport:
    """The problems found in a grid, and what was checked."""

    grid: Grid
    problems: list[GridProblem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # kind -> problems (incl. unlisted)
    checked_on: dt.date | None = None
    tolerance_m: float = 50.0

    @property
    def blocking(self) -> list[GridProblem]:
        return [p for p in self.problems if p.severity == BLOCKING]

    @property
    def ok(self) -> bool:
        return not self.blocking

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([p.__dict__ for p in self.problems])

    def to_text(self) -> str:
        g = self.grid
        cells = ", ".join(f"{lv} {len(g.layers[lv])}" for lv in LEVELS)
        lines = [
            f"grid {g.name!r} ({g.path}), datum {g.datum}"
            + (", SYNTHETIC geometry" if g.synthetic else ""),
            f"cells: {cells}; tolerance {self.tolerance_m:g} m"
            + (f"; chiefs on duty checked for {self.checked_on}" if self.checked_on else ""),
        ]
        lines += [p.line() for p in self.problems]
        listed: dict[str, int] = {}
        for p in self.problems:
            listed[p.kind] = listed.get(p.kind, 0) + 1
        for kind, n in self.counts.items():
            if n > listed.get(kind, 0):
                lines.append(f"… and {n - listed.get(kind, 0)} more {kind} problems not listed")
        nb = sum(1 for p in self.problems if p.severity == BLOCKING)
        nw = len(self.problems) - nb
        lines.append(
            f"{'BLOCKING' if nb else 'OK'}: {nb} blocking problem(s), {nw} warning(s)"
            if self.problems
            else "OK: no problems found"
        )
        return "\n".join(lines)


def _area_text(m2: float) -> str:
    if m2 >= 1e6:
        return f"{m2 / 1e6:.2f} km²"
    if m2 >= 1e4:
        return f"{m2 / 1e4:.2f} ha"
    return f"{m2:.0f} m²"


class _Checker:
    def __init__(self, grid: Grid, tolerance_m: float) -> None:
        from pyproj import Transformer

        from firewatch.spatial.boundaries import lcc_crs

        self.grid = grid
        self.tol = tolerance_m
        bounds = shapely.total_bounds(
            np.concatenate([grid.layers[lv].geometry.to_numpy() for lv in LEVELS])
        )
        crs = lcc_crs(bounds)
        fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self.inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

        def project(xy: np.ndarray) -> np.ndarray:
            x, y = fwd.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        self.metric = {
            lv: shapely.transform(grid.layers[lv].geometry.to_numpy(), project) for lv in LEVELS
        }
        self.problems: list[GridProblem] = []
        self.counts: dict[str, int] = {}

    def add(self, p: GridProblem) -> None:
        self.counts[p.kind] = self.counts.get(p.kind, 0) + 1
        if self.counts[p.kind] <= _MAX_LISTED:
            self.problems.append(p)

    def lonlat(self, g: Any) -> tuple[float, float]:
        x, y = shapely.get_coordinates(shapely.point_on_surface(g))[0]
        lon, lat = self.inv.transform(x, y)
        return float(lon), float(lat)

    def wide(self, g: Any) -> bool:
        """Wider than the tolerance somewhere (not a sliver)."""
        return not shapely.is_empty(shapely.buffer(g, -self.tol / 2.0))

    def label(self, level: str, code: str) -> str:
        lay = self.grid.layers[level]
        name = lay.loc[lay["code"] == code, "name"]
        n = name.iloc[0] if len(name) and name.iloc[0] else ""
        return f"{level} {code}" + (f" ({n})" if n else "")

    # ------------------------------------------------------------------ checks

    def repairs(self) -> None:
        for r in self.grid.repairs:
            deg2_to_m2 = 111_320.0 * 110_574.0 * np.cos(np.radians(r.lat))
            what = f"{r.level} {r.code}" + (f" ({r.name})" if r.name else "")
            if r.safe:
                msg = f"{what}: invalid geometry ({r.reason}) repaired; its area is unchanged"
            else:
                msg = (
                    f"{what}: invalid geometry ({r.reason}) repaired, but the repair changed its "
                    f"area from {_area_text(r.area_before * deg2_to_m2)} to "
                    f"{_area_text(r.area_after * deg2_to_m2)}: check and redraw the cell"
                )
            self.add(
                GridProblem(
                    WARNING if r.safe else BLOCKING,
                    "invalid_geometry",
                    r.level,
                    r.code,
                    msg,
                    r.lon,
                    r.lat,
                )
            )

    def codes(self) -> None:
        g = self.grid
        for level in LEVELS:
            lay = g.layers[level]
            for code, parent in zip(lay["code"], lay["parent_code"], strict=True):
                if code_level(code) != level:
                    self.add(
                        GridProblem(
                            BLOCKING,
                            "wrong_level",
                            level,
                            code,
                            f"{self.label(level, code)}: the code denotes a {code_level(code)}, "
                            f"not a {level}",
                        )
                    )
                if level == "city":
                    continue
                up = _PARENT[level]
                if parent is None:
                    self.add(
                        GridProblem(
                            BLOCKING,
                            "no_parent",
                            level,
                            code,
                            f"{self.label(level, code)}: no parent_code",
                        )
                    )
                    continue
                if parent not in set(g.layers[up]["code"]):
                    self.add(
                        GridProblem(
                            BLOCKING,
                            "unknown_parent",
                            level,
                            code,
                            f"{self.label(level, code)}: parent {parent} is not a cell of the "
                            f"{up} layer",
                        )
                    )
                digits = LEVEL_DIGITS[up]
                if code[:digits] != parent[:digits]:
                    self.add(
                        GridProblem(
                            BLOCKING,
                            "code_mismatch",
                            level,
                            code,
                            f"{self.label(level, code)}: code does not start with its parent's "
                            f"{parent[:digits]} ({self.label(up, parent)})",
                        )
                    )

    def _parents(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        """Index of each child's parent cell (-1 if unknown), and the children with one."""
        up = _PARENT[level]
        pos = {c: i for i, c in enumerate(self.grid.layers[up]["code"])}
        idx = np.array([pos.get(p, -1) for p in self.grid.layers[level]["parent_code"]])
        return idx, np.flatnonzero(idx >= 0)

    def outside(self) -> None:
        for level in ("county", "township", "village"):
            up = _PARENT[level]
            idx, kids = self._parents(level)
            if not len(kids):
                continue
            child = self.metric[level][kids]
            parent = shapely.buffer(self.metric[up][idx[kids]], self.tol)
            out = shapely.difference(child, parent)
            area = shapely.area(out)
            for k in np.flatnonzero(area > 1.0):
                if not self.wide(out[k]):
                    continue
                code = self.grid.layers[level]["code"].iloc[kids[k]]
                pcode = self.grid.layers[up]["code"].iloc[idx[kids[k]]]
                lon, lat = self.lonlat(out[k])
                self.add(
                    GridProblem(
                        BLOCKING,
                        "outside_parent",
                        level,
                        code,
                        f"{self.label(level, code)}: {_area_text(float(area[k]))} lies outside "
                        f"its parent {self.label(up, pcode)} by more than {self.tol:g} m",
                        lon,
                        lat,
                        float(area[k]),
                    )
                )

    def gaps(self) -> None:
        for level in ("county", "township", "village"):
            up = _PARENT[level]
            idx, kids = self._parents(level)
            ups = self.grid.layers[up]
            for pi in range(len(ups)):
                mine = kids[idx[kids] == pi]
                pgeom = self.metric[up][pi]
                cover = (
                    shapely.union_all(self.metric[level][mine], grid_size=None)
                    if len(mine)
                    else shapely.Polygon()
                )
                gap = shapely.difference(pgeom, cover)
                for part in shapely.get_parts(gap):
                    if shapely.get_type_id(part) not in (3, 6) or not self.wide(part):
                        continue
                    a = float(shapely.area(part))
                    lon, lat = self.lonlat(part)
                    pcode = ups["code"].iloc[pi]
                    self.add(
                        GridProblem(
                            BLOCKING,
                            "gap",
                            level,
                            pcode,
                            f"{self.label(up, pcode)}: {_area_text(a)} covered by none of its "
                            f"{level} cells",
                            lon,
                            lat,
                            a,
                        )
                    )

    def overlaps(self) -> None:
        for level in LEVELS:
            geoms = self.metric[level]
            if len(geoms) < 2:
                continue
            tree = shapely.STRtree(geoms)
            a, b = tree.query(geoms, predicate="intersects")
            keep = a < b
            a, b = a[keep], b[keep]
            if not len(a):
                continue
            inter = shapely.intersection(geoms[a], geoms[b])
            area = shapely.area(inter)
            codes = self.grid.layers[level]["code"]
            for k in np.flatnonzero(area > 1.0):
                if not self.wide(inter[k]):
                    continue
                ca, cb = codes.iloc[a[k]], codes.iloc[b[k]]
                lon, lat = self.lonlat(inter[k])
                self.add(
                    GridProblem(
                        BLOCKING,
                        "overlap",
                        level,
                        ca,
                        f"{self.label(level, ca)} and {self.label(level, cb)} overlap by "
                        f"{_area_text(float(area[k]))}",
                        lon,
                        lat,
                        float(area[k]),
                    )
                )

    def chiefs(self, duties: pd.DataFrame | None, on: dt.date) -> None:
        villages = self.grid.layers["village"]
        if duties is None or duties.empty:
            self.add(
                GridProblem(
                    BLOCKING,
                    "no_registry",
                    "village",
                    "",
                    f"no field-chief registry: none of the {len(villages)} villages has a field "
                    "chief (田长) on duty; import one with `firewatch chiefs import FILE`",
                )
            )
            return
        d = duties[duties["role"] == "field_chief"]
        start = pd.to_datetime(d["on_duty_from"])
        end = pd.to_datetime(d["on_duty_to"]).fillna(pd.Timestamp.max)
        day = pd.Timestamp(on)
        on_duty = set(d.loc[(start <= day) & (day <= end), "grid_code"])
        for code, name in zip(villages["code"], villages["name"], strict=True):
            if code not in on_duty:
                x, y = shapely.get_coordinates(
                    shapely.point_on_surface(villages.geometry[villages["code"] == code].iloc[0])
                )[0]
                self.add(
                    GridProblem(
                        BLOCKING,
                        "no_chief",
                        "village",
                        code,
                        f"village {code}"
                        + (f" ({name})" if name else "")
                        + f": no field chief (田长) on duty on {on}",
                        float(x),
                        float(y),
                    )
                )


def check_grid(
    grid: Grid,
    *,
    duties: pd.DataFrame | None = None,
    on: dt.date | None = None,
    tolerance_m: float = 50.0,
    check_chiefs: bool = True,
) -> GridReport:
    """Check a loaded grid; see the module docstring.

    Parameters
    ----------
    grid
        From :func:`firewatch.spatial.grid.load_grid`.
    duties
        The registry (:func:`firewatch.spatial.registry.load_duties`, or rows parsed from a
        file as a frame with ``grid_code``, ``role``, ``on_duty_from``, ``on_duty_to``).
    on
        The day field chiefs must be on duty (default: today in Beijing).
    tolerance_m
        Children may stick out of their parent, and gaps/overlaps be thin, up to this much.
    check_chiefs
        Whether to check the villages' field chiefs at all.
    """
    if on is None:
        on = pd.Timestamp.now(tz="Asia/Shanghai").date()
    c = _Checker(grid, tolerance_m)
    c.repairs()
    c.codes()
    c.outside()
    c.gaps()
    c.overlaps()
    if check_chiefs:
        c.chiefs(duties, on)
    log.info("grid %s checked: %d problems", grid.name, len(c.problems))
    return GridReport(
        grid=grid,
        problems=c.problems,
        counts=c.counts,
        checked_on=on if check_chiefs else None,
        tolerance_m=tolerance_m,
    )
