"""Chinese date/time expressions: regex atoms read into :class:`TimeSpec`, joined by ``timegroup``.

Handles Arabic, full-width and Chinese numerals (五月四日, 5月4日, ５月４日) with or without spaces between the
parts ("5 月 4 日下午 4:00"), 今天/明天/后天, 周二/星期二/礼拜二 with 这/本/下/上, 下周/下个月/月底/年底/周末,
季度 (第三季度, Q3), parts of the day (上午/下午/晚上/下班前), clock times (三点, 三点半, 4:00, 十点一刻), offsets
(两周后, 三天内, 半小时后), ranges (下午2点到3点) and durations (两个小时, 半小时, 一个半小时).
"""

from __future__ import annotations

import re

from analytics.nlp.numbers import zh_number
from analytics.nlp.timegroup import AtomRule, find_atoms, group_atoms
from analytics.nlp.timespec import RawTime, TimeSpec

# One-to-one so offsets into the normalised text are offsets into the original.
_WIDTH = str.maketrans("０１２３４５６７８９：／－～", "0123456789:/-~")
_N = r"[0-9零〇一二两兩三四五六七八九十]{1,3}"
_Y = r"(?:[0-9]{4}|[零〇一二三四五六七八九]{4})"
_DAY_CH = "[日号號]"
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1,
            "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_SHIFT = {"": None, "这": 0, "这个": 0, "本": 0, "今": 0, "下": 1, "下个": 1, "下一个": 1, "上": -1, "上个": -1,
          "下下": 2, "下下个": 2, "明": 1, "去": -1}
_POD = {"上午": "morning", "早上": "morning", "早晨": "morning", "清晨": "morning", "早": "morning",
        "中午": "noon", "午饭": "noon", "午餐": "noon", "午": "noon", "下午": "afternoon", "傍晚": "evening",
        "晚上": "evening", "晚": "evening", "夜里": "night", "夜间": "night", "凌晨": "morning",
        "下班前": "eod", "下班之前": "eod", "下班": "eod"}


def _num(raw: str | None) -> int | None:
    return zh_number(raw) if raw else None


def _ymd(m: re.Match[str]) -> TimeSpec | None:
    mo, d = _num(m["m"]), _num(m["d"])
    if mo is None or d is None or not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return TimeSpec(year=_num(m["y"]), month=mo, day=d)


def _month_only(m: re.Match[str]) -> TimeSpec | None:
    mo = _num(m["m"])
    if mo is None or not 1 <= mo <= 12:
        return None
    edge = m["edge"] or ""
    spec = TimeSpec(year=_num(m["y"]), month=mo)
    spec.period_edge = "end" if edge in ("底", "末") else "mid" if edge == "中" else None
    return spec


def _day_only(m: re.Match[str]) -> TimeSpec | None:
    d = _num(m["d"])
    return TimeSpec(day=d) if d is not None and 1 <= d <= 31 else None


def _relday(m: re.Match[str]) -> TimeSpec | None:
    w = m.group(0)
    offset = {"今": 0, "当": 0, "明": 1, "后": 2, "大": 3, "昨": -1, "前": -2}[w[0]]
    pod = {"早": "morning", "晚": "night"}.get(w[1]) if len(w) > 1 else None
    return TimeSpec(day_offset=offset, part_of_day=pod)


def _weekday(m: re.Match[str]) -> TimeSpec | None:
    return TimeSpec(weekday=_WEEKDAY[m["wd"]], week_shift=_SHIFT.get(re.sub(r"\s", "", m["mod"] or "")))


def _period(m: re.Match[str]) -> TimeSpec | None:
    mod = re.sub(r"\s", "", m["mod"] or "")
    unit_raw, edge_raw = m["unit"], m["edge"] or ""
    if not mod and not edge_raw and unit_raw != "周末":
        return None
    unit = {"周": "week", "星期": "week", "礼拜": "week", "周末": "weekend", "月": "month", "年": "year",
            "季度": "quarter"}[unit_raw]
    if unit_raw == "年" and mod in ("", "这", "这个", "本", "下", "下个", "上", "上个"):
        mod = {"": "今", "下": "明", "下个": "明"}.get(mod, "今")
    shift = _SHIFT.get(mod)
    edge = "end" if edge_raw in ("底", "末") else "start" if edge_raw == "初" else "mid" if edge_raw == "中" else None
    if unit == "week" and edge_raw == "末":
        unit, edge = "weekend", None
    return TimeSpec(period=unit, period_shift=shift or 0, period_edge=edge)


def _quarter(m: re.Match[str]) -> TimeSpec | None:
    q = _num(m["q"] or m["q2"])
    if q is None or not 1 <= q <= 4:
        return None
    shift = _SHIFT.get(re.sub(r"\s", "", m["mod"] or ""))
    return TimeSpec(quarter=q, period="quarter", period_shift=shift, year=_num(m["y"]),
                    period_edge="end" if m["edge"] else None)


def _current_quarter(m: re.Match[str]) -> TimeSpec | None:
    shift = _SHIFT.get(re.sub(r"\s", "", m["mod"])) or 0
    return TimeSpec(period="quarter", period_shift=shift, period_edge="end" if m["edge"] else None)


def _pod(m: re.Match[str]) -> TimeSpec | None:
    return TimeSpec(part_of_day=_POD[m.group(0)])


def _clock(m: re.Match[str]) -> TimeSpec | None:
    h = _num(m["h"])
    if h is None:
        return None
    g = m.groupdict()
    mi = _num(g.get("mi")) or 0
    if g.get("half"):
        mi = 30
    elif g.get("qt"):
        mi = 15 if g["qt"] == "一刻" else 45
    if not (0 <= h <= 24 and 0 <= mi < 60):
        return None
    return TimeSpec(hour=h, minute=mi)


def _unit(raw: str) -> str:
    return {"分钟": "minute", "分": "minute", "小时": "hour", "钟头": "hour", "天": "day", "日": "day",
            "周": "week", "星期": "week", "礼拜": "week", "月": "month", "年": "year"}[raw]


def _offset(m: re.Match[str]) -> TimeSpec | None:
    n_raw = m["n"]
    n: float | None = 0.5 if n_raw == "半" else 3 if n_raw == "几" else _num(n_raw)
    if n is None or n > 1000:
        return None
    if m["half"]:
        n += 0.5
    unit = _unit(m["unit"])
    sign = -1 if m["dir"] in ("前", "以前", "之前") else 1
    if unit in ("day", "week", "month", "year") and n != int(n):
        return None
    return TimeSpec(offset_amount=sign * n, offset_unit=unit)


def _duration(m: re.Match[str]) -> TimeSpec | None:
    n_raw = m["n"]
    n: float | None = 0.5 if n_raw == "半" else _num(n_raw)
    if n is None or n > 1000:
        return None
    if m["half"] or m["half2"]:
        n += 0.5
    minutes = n * 60 if _unit(m["unit"]) == "hour" else n
    return TimeSpec(duration_minutes=round(minutes))


_S = r"\s*"
RULES: tuple[AtomRule, ...] = (
    AtomRule("ymd_num", re.compile(r"(?<!\d)(?P<y>\d{4})[/.-](?P<m>\d{1,2})[/.-](?P<d>\d{1,2})(?!\d)"), _ymd),
    AtomRule("md_slash", re.compile(r"(?<![\d/.])(?P<y>)(?P<m>\d{1,2})/(?P<d>\d{1,2})(?![\d/])"), _ymd),
    AtomRule("ymd", re.compile(
        rf"(?:(?P<y>{_Y}){_S}年{_S})?(?P<m>{_N}){_S}月{_S}(?P<d>{_N}){_S}{_DAY_CH}"), _ymd),
    AtomRule("month_only", re.compile(
        rf"(?:(?P<y>{_Y}){_S}年{_S})?(?<!个)(?P<m>{_N}){_S}月份?(?P<edge>底|初|中旬|中|末|下旬|上旬)?"), _month_only),
    AtomRule("day_only", re.compile(rf"(?<![个几])(?P<d>{_N}){_S}{_DAY_CH}(?![子常])"), _day_only),
    AtomRule("relday", re.compile(r"大后天|今天|今日|今早|今晚|今儿|明天|明日|明早|明晚|后天|昨天|前天|当天"), _relday),
    AtomRule("weekday", re.compile(
        r"(?P<mod>下下个?|下一个|下个|这个|上个|这|本|下|上)?\s*(?:周|星期|礼拜|禮拜)(?P<wd>[一二三四五六日天1-7])"), _weekday),
    AtomRule("quarter", re.compile(
        rf"(?:(?P<y>{_Y})年)?(?P<mod>下下个|下个|这个|上个|本|下|上)?\s*(?:第?(?P<q>[一二三四1-4])季度|Q(?P<q2>[1-4]))(?P<edge>末|底)?"), _quarter),
    AtomRule("cur_quarter", re.compile(r"(?P<mod>下个|这个|上个|本|下|上)季度?(?P<edge>末|底)?(?=[^度]|$)|(?P<edge2>)季度末"),
             lambda m: _current_quarter(m) if m["mod"] else TimeSpec(period="quarter", period_shift=0, period_edge="end")),
    AtomRule("period", re.compile(
        r"(?P<mod>下下个?|下一个|下个|这个|上个|这|本|下|上|今|明|去)?\s*(?P<unit>周末|周|星期|礼拜|月|年|季度)(?P<edge>底|末|初|中)?"), _period),
    AtomRule("pod", re.compile(r"下班之前|下班前|上午|早上|早晨|清晨|中午|午饭|午餐|下午|傍晚|晚上|夜里|夜间|凌晨"), _pod),
    AtomRule("clock", re.compile(
        rf"(?P<h>{_N}){_S}[点點时時](?![儿钟])(?:{_S}(?P<mi>{_N}){_S}分|(?P<half>半)|(?P<qt>一刻|三刻)|{_S}(?P<mi2>[0-9]{{2}}))?"),
        lambda m: _clock_any(m)),
    AtomRule("clock_colon", re.compile(r"(?<![\d:])(?P<h>\d{1,2}):(?P<mi>\d{2})(?![\d:])"), _clock),
    AtomRule("offset", re.compile(
        rf"(?:过{_S})?(?P<n>{_N}|半|几){_S}(?:个)?{_S}(?P<half>半)?{_S}(?P<unit>分钟|小时|钟头|天|周|星期|礼拜|月|年){_S}(?P<dir>之后|以后|后|之内|以内|内|之前|以前|前)"), _offset),
    AtomRule("duration", re.compile(
        rf"(?P<n>{_N}|半){_S}(?:个)?{_S}(?P<half>半)?{_S}(?P<unit>小时|钟头|分钟)(?P<half2>半)?"), _duration),
)


def _clock_any(m: re.Match[str]) -> TimeSpec | None:
    # "快一点", "早一点儿", "多一点": 一点 meaning "a little", not one o'clock.
    before = m.string[m.start() - 1:m.start()] if m.start() else ""
    after = m.string[m.end():m.end() + 1]
    if m["h"] == "一" and not m.group(0).endswith(("半", "刻", "分")) and (
            before in set("快早晚多好有慢差些稍") or after in set("儿些点")):
        return None
    spec = _clock(m)
    if spec is not None and m["mi2"]:
        spec.minute = int(m["mi2"]) if int(m["mi2"]) < 60 else 0
    return spec


_JOINER = re.compile(r"[\s,，、的在于於从到至\-~—–]*")
_RANGER = re.compile(r"[到至\-~—–]")


def extract_zh(text: str) -> list[RawTime]:
    """Every Chinese date/time expression in ``text``, left to right, with its unresolved spec."""
    norm = text.translate(_WIDTH)
    found = group_atoms(norm, find_atoms(norm, RULES), _JOINER, _RANGER, max_gap=4)
    return [RawTime(r.start, r.end, text[r.start:r.end], r.spec) for r in found]
