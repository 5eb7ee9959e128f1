"""The built-in synthetic task: human-written dates ("Tuesday 9 May 1989", "9/5/89") → ISO dates ("1989-05-09"),
deterministic from a seed; a quick check that attention learns to look back at the right characters
(Bahdanau et al., arXiv:1409.0473). Conventions (day-first numeric dates, two-digit years): `make_dates_dataset`.
"""

import datetime
import difflib
import random
from typing import Literal

from datasets import DatasetDict

from .parallel_text import translation_dataset

SOURCE_LANG = "human"
TARGET_LANG = "iso"
FIRST_DATE = datetime.date(1950, 1, 1)
LAST_DATE = datetime.date(2049, 12, 31)

# English names written out here rather than taken from `calendar`, whose names follow the process locale.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
# Every abbreviation a writer might use; one is drawn at random each time a name is abbreviated.
_WEEKDAY_ABBREVIATIONS = {"Tuesday": ("Tue", "Tues"), "Thursday": ("Thu", "Thurs")}
_MONTH_ABBREVIATIONS = {"September": ("Sep", "Sept")}

# Style name → template. Fields: weekday / wd (full / abbreviated weekday), day / dd (9 / 09), ordinal (9th),
# month / mon (full / abbreviated month), m / mm (5 / 05), yyyy / yy (1989 / 89).
DATE_STYLES: dict[str, str] = {
    "weekday_day_month_year": "{weekday} {day} {month} {yyyy}",  # Tuesday 9 May 1989
    "wd_comma_day_mon_year": "{wd}, {day} {mon} {yyyy}",  # Tue, 9 May 1989
    "weekday_month_ordinal_year": "{weekday}, {month} {ordinal}, {yyyy}",  # Tuesday, May 9th, 1989
    "day_month_year": "{day} {month} {yyyy}",  # 9 May 1989
    "day_mon_yy": "{day} {mon} {yy}",  # 9 May 89
    "day_mon_year_dashes": "{day}-{mon}-{yyyy}",  # 9-May-1989
    "month_ordinal_year": "{month} {ordinal}, {yyyy}",  # May 9th, 1989
    "mon_day_year": "{mon} {day}, {yyyy}",  # May 9, 1989 / Sept 3, 1989
    "the_ordinal_of_month_year": "the {ordinal} of {month} {yyyy}",  # the 9th of May 1989
    "d_m_yy_slashes": "{day}/{m}/{yy}",  # 9/5/89
    "dd_mm_yyyy_slashes": "{dd}/{mm}/{yyyy}",  # 09/05/1989
    "dd_mm_yyyy_dots": "{dd}.{mm}.{yyyy}",  # 09.05.1989
    "dd_mm_yyyy_dashes": "{dd}-{mm}-{yyyy}",  # 09-05-1989
}
Case = Literal["as_written", "lower", "upper"]
_CASES: tuple[Case, ...] = ("as_written", "lower", "upper")
_CASE_WEIGHTS = (0.6, 0.2, 0.2)


def _ordinal(day: int) -> str:
    """9 → "9th", 1 → "1st", 22 → "22nd", 13 → "13th"."""
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def format_human_date(date: datetime.date, style: str, rng: random.Random, case: Case = "as_written") -> str:
    """Write `date` the way a person might, in one of the `DATE_STYLES`.

    Args:
        date: a date from `FIRST_DATE` to `LAST_DATE` (two-digit years are only unambiguous in that range).
        style: a key of `DATE_STYLES`.
        rng: draws the abbreviation where a name has several ("Sep"/"Sept", "Tue"/"Tues", "Thu"/"Thurs").
        case: "as_written" (as in the template: capitalised names, "the", "of" and ordinals in lower case),
            "lower" or "upper" for the whole string.

    Returns:
        The human-written date, e.g. "Tuesday 9 May 1989" or "9/5/89".
    """
    if style not in DATE_STYLES:
        close = difflib.get_close_matches(style, DATE_STYLES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown date style {style!r}.{hint} Choose one of: {', '.join(DATE_STYLES)}.")
    if case not in _CASES:
        raise ValueError(f"Unknown case {case!r}; choose one of {', '.join(map(repr, _CASES))}.")
    if not FIRST_DATE <= date <= LAST_DATE:
        raise ValueError(
            f"Date {date.isoformat()} is outside {FIRST_DATE.isoformat()}..{LAST_DATE.isoformat()}, where two-digit "
            "years are unambiguous (50-99 → 1950-1999, 00-49 → 2000-2049); pick a date inside that range."
        )
    weekday, month = _WEEKDAYS[date.weekday()], _MONTHS[date.month - 1]
    text = DATE_STYLES[style].format(
        weekday=weekday,
        wd=rng.choice(_WEEKDAY_ABBREVIATIONS.get(weekday, (weekday[:3],))),
        day=date.day,
        dd=f"{date.day:02d}",
        ordinal=_ordinal(date.day),
        month=month,
        mon=rng.choice(_MONTH_ABBREVIATIONS.get(month, (month[:3],))),
        m=date.month,
        mm=f"{date.month:02d}",
        yyyy=f"{date.year:04d}",
        yy=f"{date.year % 100:02d}",
    )
    return {"as_written": text, "lower": text.lower(), "upper": text.upper()}[case]


def _draw_pair(rng: random.Random) -> tuple[str, str]:
    """One (human-written date, ISO date) pair: a uniform date, style and abbreviation, a weighted case."""
    days = (LAST_DATE - FIRST_DATE).days
    date = FIRST_DATE + datetime.timedelta(days=rng.randint(0, days))
    style = rng.choice(list(DATE_STYLES))
    case = rng.choices(_CASES, weights=_CASE_WEIGHTS)[0]
    return format_human_date(date, style, rng, case), date.isoformat()


def make_dates_dataset(
    num_train: int = 20_000, num_validation: int = 1_000, num_test: int = 1_000, seed: int = 0
) -> DatasetDict:
    """Build the dates task in the layout of `parallel_text`: splits "train", "validation", "test", each with one
    `translation` column of `{"human": "Tuesday 9 May 1989", "iso": "1989-05-09"}`.

    Conventions:
    - The source language is `SOURCE_LANG` ("human"), the target language `TARGET_LANG` ("iso", YYYY-MM-DD).
    - Dates are drawn uniformly from `FIRST_DATE` (1950-01-01) to `LAST_DATE` (2049-12-31), with a style of
      `DATE_STYLES`, a case (as written 60%, lower 20%, upper 20%) and abbreviation ("Sep"/"Sept") at random.
    - Numeric dates are day first, as in en-GB: "9/5/89" and "09.05.1989" are 9 May, never 5 September.
    - Two-digit years: 50-99 are 1950-1999 and 00-49 are 2000-2049, so every source within the date range
      is unambiguous (note: `strptime`'s "%y" pivots at 69 instead).
    - A printed weekday is always the weekday of the date.

    The same arguments give the same data. Every source string occurs once in the whole `DatasetDict`, so the
    splits are disjoint (the same date may appear in two splits written differently). The test split is drawn
    first, then validation, then train, so changing `num_train` leaves validation and test as they were.

    Args:
        num_train, num_validation, num_test: number of pairs in each split (0 gives an empty split).
        seed: seed of the `random.Random` that draws dates, styles, cases and abbreviations.

    Returns:
        A `DatasetDict` with splits "train", "validation" and "test".
    """
    sizes = {"test": num_test, "validation": num_validation, "train": num_train}
    for name, size in sizes.items():
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"num_{name} must be an int >= 0, got {size!r}.")
    total = sum(sizes.values())
    rng = random.Random(seed)
    seen: set[str] = set()
    pairs: list[tuple[str, str]] = []
    # Over a million distinct sources exist; the cap only stops a request for more than that from spinning.
    for _ in range(20 * total + 1_000):
        if len(pairs) == total:
            break
        source, target = _draw_pair(rng)
        if source not in seen:
            seen.add(source)
            pairs.append((source, target))
    if len(pairs) < total:
        raise ValueError(
            f"Drew only {len(pairs)} distinct dates of the {total} asked for ({sizes}); ask for fewer examples."
        )
    splits = {}
    start = 0
    for name, size in sizes.items():
        chunk = pairs[start : start + size]
        start += size
        splits[name] = translation_dataset(
            [source for source, _ in chunk], [target for _, target in chunk], SOURCE_LANG, TARGET_LANG
        )
    return DatasetDict({name: splits[name] for name in ("train", "validation", "test")})
