"""Bulletin wording in Chinese (the default, as issued) and English.

Every sentence a bulletin prints lives here, keyed, so the two languages stay in step and the
templates carry no prose.  Chinese follows the usual wording of provincial straw-burning
bulletins (疑似秸秆焚烧火点, 各市（地）, 北京时间).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

__all__ = ["LANGS", "Lang", "fmt_date", "fmt_number", "join_list", "numeral", "tr"]

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: key -> (Chinese, English); ``{name}`` placeholders are filled by :func:`tr`.
STRINGS: dict[str, tuple[str, str]] = {
    # titles and editions
    "title_daily": (
        "{region}秸秆焚烧火点卫星监测日报",
        "{region}: daily satellite fire-point bulletin",
    ),
    "title_week": (
        "{region}秸秆焚烧火点卫星监测周报",
        "{region}: weekly satellite fire-point report",
    ),
    "title_period": (
        "{region}{period}秸秆焚烧火点卫星监测报告",
        "{region}: satellite fire-point report, {period}",
    ),
    "title_range": (
        "{region}秸秆焚烧火点卫星监测报告",
        "{region}: satellite fire-point report",
    ),
    "period_spring": ("春季禁烧期", "spring burning-ban period"),
    "period_autumn": ("秋季禁烧期", "autumn burning-ban period"),
    "period_other": ("{name}禁烧期", "{name} burning-ban period"),
    "edition_internal": (
        "内部版（含责任人姓名和电话，不得公开）",
        "Internal edition (contains names and phone numbers; not for publication)",
    ),
    "edition_public": ("公开版", "Public edition"),
    "issued": ("{issuer}　{when}", "{issuer}, {when}"),
    "generated": ("生成时间：{when}（北京时间）", "Generated {when} Beijing time"),
    "range": ("{first}至{last}", "{first} to {last}"),
    # the three "nothing to show" cases (and the normal one)
    "status_points": ("", ""),
    "status_no_points": (
        "{date}卫星数据已入库（{products}，覆盖北京时间{span}），全省未监测到火点。",
        "Satellite data for {date} are in the store ({products}, covering {span} Beijing time): "
        "no fire point was detected in the province.",
    ),
    "status_no_data": (
        "{date}无可用卫星数据：{reason}。该日火点情况不明，不代表全省无火点。",
        "No satellite data for {date}: {reason}. The day's fire situation is unknown; "
        "this is not a report of zero fires.",
    ),
    "reason_failed": ("数据获取失败（{failures}）", "the data could not be obtained ({failures})"),
    "reason_gap": (
        "前后日期均有数据入库，但没有覆盖该日的数据（卫星未过境或数据源中断）",
        "the store has data before and after it but none covering this day "
        "(no satellite pass captured, or the source was down)",
    ),
    "status_not_ingested": (
        "{date}的卫星数据尚未入库（{extent}）。请先运行 firewatch daily --date {iso}。"
        "本报告不代表全省无火点。",
        "Satellite data for {date} have not been ingested yet ({extent}). "
        "Run `firewatch daily --date {iso}` first. This is not a report of zero fires.",
    ),
    "extent_empty": ("库中尚无任何数据", "the store holds no data at all"),
    "extent": (
        "库中数据覆盖北京时间{first}至{last}",
        "the store's data cover {first} to {last} Beijing time",
    ),
    "partial_coverage": (
        "注意：该日数据仅覆盖北京时间{span}，其余时段的火点未计入。",
        "Note: the day's data cover only {span} Beijing time; fire points at other times are "
        "not counted.",
    ),
    # the lead sentence
    "lead_points": (
        "{date}，{sensors}卫星过境我省（北京时间{passes}），共监测到疑似秸秆焚烧火点{total}个{excluded}{changes}。",
        "On {date}, {sensors} passes over the province ({passes} Beijing time) detected {total} "
        "suspected straw-burning fire point{s}{excluded}{changes}.",
    ),
    "lead_excluded": ("（另剔除误判火点{n}个）", " ({n} more excluded as false positives)"),
    "lead_change_up": ("较前一日增加{n}个", "{n} more than the previous day"),
    "lead_change_down": ("较前一日减少{n}个", "{n} fewer than the previous day"),
    "lead_change_same": ("与前一日持平", "as many as the previous day"),
    "lead_change_none": ("前一日无数据，不作比较", "no data for the previous day to compare with"),
    "lead_year_up": ("较去年同日增加{n}个", "{n} more than on the same day last year"),
    "lead_year_down": ("较去年同日减少{n}个", "{n} fewer than on the same day last year"),
    "lead_year_same": ("与去年同日持平", "as many as on the same day last year"),
    "lead_cities": ("其中{cities}。", "By city: {cities}."),
    "city_count": ("{name}{n}个", "{name} {n}"),
    "lead_neighbour": (
        "另有{n}个火点位于我省边界外{km:g}公里范围内（{names}），供联防联控参考。",
        "{n} more fire point{s} lie within {km:g} km outside the provincial border ({names}), "
        "for cross-border joint prevention.",
    ),
    "lead_flagged": (
        "经判别，剔除误判火点{excluded}个，另有{flagged}个火点存疑、待现场核查（见第{section}部分）。",
        "{excluded} point{s_ex} were excluded as false positives and {flagged} more are flagged "
        "as doubtful pending a site check (see section {section}).",
    ),
    "synthetic_grid": (
        "说明：本报告使用的网格为合成的演示网格（乡镇名称真实，网格边界和责任人为虚构），不代表实际责任划分。",
        "Note: the burning-ban grid used here is a synthetic demonstration grid (real township "
        "names; invented cell boundaries and people); it is not the real allocation of "
        "responsibility.",
    ),
    "no_grid_points": (
        "{n}个火点所在地区尚未建立网格数据，未列入乡镇统计。",
        "{n} point{s} lie where no grid data exist and are not in the township table.",
    ),
    "map_missing": ("（分布图未能生成：{reason}）", "(the map could not be drawn: {reason})"),
    "map_fallback": (
        "（浏览器未能生成分布图，改用县级边界示意图。）",
        "(The browser could not draw the map; a plain county-outline map is shown instead.)",
    ),
    # sections
    "sec_map": ("火点分布图", "Distribution map"),
    "sec_city": ("各市（地）火点统计", "Fire points per city"),
    "sec_county": ("各县（市、区）火点统计", "Fire points per county"),
    "sec_township": ("各乡（镇）火点统计", "Fire points per township"),
    "sec_points": ("火点明细", "Fire points"),
    "sec_excluded": ("剔除及存疑火点", "Excluded and doubtful points"),
    "sec_review": ("核查反馈情况", "Site checks"),
    "sec_days": ("逐日火点统计", "Fire points per day"),
    "sec_chart": ("逐日火点变化", "Daily fire points"),
    "fig_map": ("图{n}　{date}火点分布", "Figure {n}. Fire points on {date}"),
    "fig_chart": ("图{n}　{range}逐日火点数", "Figure {n}. Fire points per day, {range}"),
    "table_caption": ("表{n}　{title}", "Table {n}. {title}"),
    "excluded_summary": (
        "剔除{excluded}个（{reasons}），存疑{flagged}个。",
        "{excluded} excluded ({reasons}); {flagged} doubtful.",
    ),
    "none": ("无", "none"),
    # columns
    "col_no": ("序号", "No."),
    "col_city": ("市（地）", "City"),
    "col_county": ("县（市、区）", "County"),
    "col_township": ("乡（镇）", "Township"),
    "col_village": ("村", "Village"),
    "col_points": ("火点数（个）", "Fire points"),
    "col_share": ("占比", "Share"),
    "col_lon": ("经度", "Longitude (E)"),
    "col_lat": ("纬度", "Latitude (N)"),
    "col_lon_deg": ("经度（十进制度）", "Longitude (decimal °)"),
    "col_lat_deg": ("纬度（十进制度）", "Latitude (decimal °)"),
    "col_time": ("过境时间（北京时间）", "Overpass (Beijing time)"),
    "col_satellite": ("卫星", "Satellite"),
    "col_frp": ("火辐射功率（MW）", "FRP (MW)"),
    "col_class": ("类别", "Class"),
    "col_p_straw": ("秸秆焚烧概率", "P(straw)"),
    "col_review": ("核查状态", "Site check"),
    "col_verdict": ("核查结论", "Verdict"),
    "col_field_chief": ("田长", "Field chief"),
    "col_field_chief_phone": ("田长电话", "Field chief phone"),
    "col_grid_member": ("网格员", "Grid member"),
    "col_grid_member_phone": ("网格员电话", "Grid member phone"),
    "col_treatment": ("处理", "Treatment"),
    "col_reason": ("原因", "Reason"),
    "col_item": ("项目", "Item"),
    "col_count": ("数量（个）", "Count"),
    "col_date": ("日期", "Date"),
    "col_data": ("数据情况", "Data"),
    "col_detection_id": ("火点编号", "Detection id"),
    "total": ("合计", "Total"),
    # values
    "class_straw": ("秸秆焚烧", "straw burning"),
    "class_other_vegetation": ("其他植被火", "other vegetation fire"),
    "class_industrial": ("工业热源", "industrial heat source"),
    "class_spurious": ("非火误判", "spurious (no fire)"),
    "treat_excluded": ("剔除", "excluded"),
    "treat_flagged": ("存疑", "doubtful"),
    "review_pending": ("待核查", "pending"),
    "review_answered": ("已反馈", "answered"),
    "review_overdue": ("逾期未反馈", "overdue"),
    "review_escalated": ("已上报上级", "escalated"),
    "verdict_straw_burning": ("确认秸秆焚烧", "straw burning confirmed"),
    "verdict_industrial": ("工业热源", "industrial heat"),
    "verdict_other_fire": ("其他火源", "other fire"),
    "verdict_nothing_found": ("现场未发现火情", "nothing found on site"),
    "reason_verdict": ("现场核查：{verdict}", "site check: {verdict}"),
    "reason_fire_type": (
        "FIRMS标记为非植被火（type {t}：{label}）",
        "FIRMS marks it as not a vegetation fire (type {t}: {label})",
    ),
    "fire_type_1": ("火山", "volcano"),
    "fire_type_2": ("固定地物热源", "static land source"),
    "fire_type_3": ("近海", "offshore"),
    "reason_model_kind": ("模型判为{label}", "model: {label}"),
    "reason_model": ("模型判别：{label}（秸秆焚烧概率{p}）", "model: {label} (P(straw) {p})"),
    "review_sent": ("已下发核查", "sent for a site check"),
    "review_confirmed": ("其中确认秸秆焚烧", "of which straw burning confirmed"),
    "review_ruled_out": ("其中排除", "of which ruled out"),
    "day_points": ("有数据", "data"),
    "day_no_points": ("有数据，无火点", "data, no fire"),
    "day_no_data": ("无数据", "no data"),
    "day_not_ingested": ("未入库", "not ingested"),
    "day_partial": ("（部分时段）", " (part of the day)"),
    "period_lead": (
        "{range}，全省共监测到疑似秸秆焚烧火点{total}个，日均{avg}个；火点最多的一天为{max_day}（{max}个）。",
        "From {range} the province had {total} suspected straw-burning fire point{s}, {avg} a "
        "day on average; the most on {max_day} ({max}).",
    ),
    "period_lead_none": (
        "{range}，有数据的日期内全省未监测到火点。",
        "From {range} no fire point was detected in the province on the days with data.",
    ),
    "period_gaps": (
        "其中{no_data}天无数据、{not_ingested}天尚未入库，这些日期未计入，日均按有数据的{days}天计算。",
        "{no_data} day(s) had no data and {not_ingested} were not ingested; they are left out "
        "and the daily average is over the {days} day(s) with data.",
    ),
    "period_no_data_at_all": (
        "{range}没有任何日期有数据入库，无法统计。",
        "No day from {range} has data in the store; nothing can be counted.",
    ),
    "footer": (
        "数据来源：NASA FIRMS（{products}），https://firms.modaps.eosdis.nasa.gov。坐标为WGS-84，"
        "经纬度以度分秒表示；时间为北京时间。",
        "Source: NASA FIRMS ({products}), https://firms.modaps.eosdis.nasa.gov. Coordinates are "
        "WGS-84, given in degrees-minutes-seconds; times are Beijing time (UTC+8).",
    ),
    "page": ("第 {page} 页", "Page {page}"),
}


def tr(lang: str, key: str, **values: Any) -> str:
    """The string ``key`` in ``lang`` with ``values`` filled in.

    Raises
    ------
    KeyError
        If ``key`` is unknown.
    ValueError
        If ``lang`` is not one of :data:`LANGS`.
    """
    if lang not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)}, not {lang!r}")
    text = STRINGS[key][LANGS.index(lang)]
    return text.format(**values) if values else text


def fmt_date(day: dt.date, lang: str) -> str:
    """``2025年4月23日`` or ``23 April 2025``."""
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def fmt_number(value: float, *, decimals: int = 0) -> str:
    """A count or measure as bulletins print it (no thousands separators, as in the lead)."""
    if decimals == 0:
        return str(round(value))
    return f"{value:.{decimals}f}"


def join_list(items: list[str], lang: str) -> str:
    """``甲、乙、丙`` or ``a, b and c``."""
    if lang == "zh":
        return "、".join(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


_ZH_NUMERALS = "一二三四五六七八九十"


def numeral(n: int, lang: str) -> str:
    """Section numbers: ``一``, ``二`` … in Chinese, ``1``, ``2`` … in English."""
    if lang == "zh" and 1 <= n <= 10:
        return _ZH_NUMERALS[n - 1]
    return str(n)
