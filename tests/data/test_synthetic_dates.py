"""Tests of hf_attention_zoo.data.synthetic_dates: determinism, disjoint splits, and targets that are the written date."""

import datetime
import random
import re

import pytest

from hf_attention_zoo.data.synthetic_dates import (
    DATE_STYLES,
    FIRST_DATE,
    LAST_DATE,
    SOURCE_LANG,
    TARGET_LANG,
    format_human_date,
    make_dates_dataset,
)

# An independent reading of every style with `datetime.strptime` (C-locale English names, case-insensitive).
STRPTIME_FORMATS = {
    "weekday_day_month_year": "%A %d %B %Y",
    "wd_comma_day_mon_year": "%a, %d %b %Y",
    "weekday_month_ordinal_year": "%A, %B %d, %Y",
    "day_month_year": "%d %B %Y",
    "day_mon_yy": "%d %b %y",
    "day_mon_year_dashes": "%d-%b-%Y",
    "month_ordinal_year": "%B %d, %Y",
    "mon_day_year": "%b %d, %Y",
    "the_ordinal_of_month_year": "the %d of %B %Y",
    "d_m_yy_slashes": "%d/%m/%y",
    "dd_mm_yyyy_slashes": "%d/%m/%Y",
    "dd_mm_yyyy_dots": "%d.%m.%Y",
    "dd_mm_yyyy_dashes": "%d-%m-%Y",
}


def parse_human_date(text: str, strptime_format: str) -> datetime.date:
    """Read `text` back with strptime, after undoing what strptime does not know: ordinals ("9th"), the
    abbreviations "Sept", "Tues", "Thurs", and the documented two-digit-year pivot (50-99 → 19xx, else 20xx)."""
    normalized = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text.lower())
    normalized = re.sub(r"\bsept\b", "sep", normalized)
    normalized = re.sub(r"\btues\b", "tue", normalized)
    normalized = re.sub(r"\bthurs\b", "thu", normalized)
    parsed = datetime.datetime.strptime(normalized, strptime_format).date()
    if "%y" in strptime_format:
        two_digits = parsed.year % 100
        parsed = parsed.replace(year=1900 + two_digits if two_digits >= 50 else 2000 + two_digits)
    if "%A" in strptime_format or "%a" in strptime_format:
        # strptime ignores the weekday, so check it separately.
        weekday = normalized.split()[0].rstrip(",")
        assert weekday in (parsed.strftime("%A").lower(), parsed.strftime("%a").lower()), text
    return parsed


def test_every_style_has_an_independent_parser_in_this_test():
    assert set(STRPTIME_FORMATS) == set(DATE_STYLES)


@pytest.mark.parametrize("style", sorted(DATE_STYLES))
def test_written_date_parses_back_to_the_same_date_in_every_style_and_case(style):
    rng = random.Random(style)
    dates = [FIRST_DATE, LAST_DATE, datetime.date(2000, 2, 29), datetime.date(1999, 12, 31)]
    dates += [FIRST_DATE + datetime.timedelta(days=rng.randint(0, (LAST_DATE - FIRST_DATE).days)) for _ in range(200)]
    for date in dates:
        for case in ("as_written", "lower", "upper"):
            text = format_human_date(date, style, rng, case)
            assert parse_human_date(text, STRPTIME_FORMATS[style]) == date, (text, case)


def test_examples_from_the_task_description_are_written_as_expected():
    date = datetime.date(1989, 5, 9)
    rng = random.Random(0)
    assert format_human_date(date, "weekday_day_month_year", rng) == "Tuesday 9 May 1989"
    assert format_human_date(date, "d_m_yy_slashes", rng) == "9/5/89"
    assert format_human_date(date, "month_ordinal_year", rng) == "May 9th, 1989"
    assert format_human_date(date, "dd_mm_yyyy_dots", rng) == "09.05.1989"
    assert format_human_date(date, "day_mon_yy", rng) == "9 May 89"
    assert format_human_date(date, "the_ordinal_of_month_year", rng) == "the 9th of May 1989"
    assert format_human_date(date, "day_month_year", rng, "upper") == "9 MAY 1989"
    september = {format_human_date(datetime.date(2001, 9, 3), "mon_day_year", random.Random(i)) for i in range(20)}
    assert september == {"Sep 3, 2001", "Sept 3, 2001"}


def test_numeric_dates_are_day_first_and_two_digit_years_pivot_at_50():
    rng = random.Random(0)
    assert format_human_date(datetime.date(2012, 3, 4), "d_m_yy_slashes", rng) == "4/3/12"
    assert format_human_date(datetime.date(1950, 1, 2), "d_m_yy_slashes", rng) == "2/1/50"
    assert format_human_date(datetime.date(2049, 12, 31), "day_mon_yy", rng) == "31 Dec 49"


def test_dataset_targets_are_the_iso_form_of_each_source():
    dataset = make_dates_dataset(num_train=300, num_validation=50, num_test=50, seed=3)
    for split in dataset.values():
        for row in split["translation"]:
            source, target = row[SOURCE_LANG], row[TARGET_LANG]
            readings = set()
            for strptime_format in STRPTIME_FORMATS.values():
                try:
                    readings.add(parse_human_date(source, strptime_format))
                except ValueError:
                    continue
            assert readings == {datetime.date.fromisoformat(target)}, (source, target)


def test_same_seed_gives_identical_data_and_another_seed_different_data():
    first = make_dates_dataset(num_train=200, num_validation=20, num_test=20, seed=7)
    again = make_dates_dataset(num_train=200, num_validation=20, num_test=20, seed=7)
    other = make_dates_dataset(num_train=200, num_validation=20, num_test=20, seed=8)
    for split in ("train", "validation", "test"):
        assert first[split].to_list() == again[split].to_list()
        assert first[split].to_list() != other[split].to_list()


def test_no_source_string_occurs_twice_in_or_across_splits():
    dataset = make_dates_dataset(num_train=2_000, num_validation=200, num_test=200, seed=0)
    sources = [row[SOURCE_LANG] for split in dataset.values() for row in split["translation"]]
    assert len(sources) == 2_400
    assert len(set(sources)) == len(sources)


def test_layout_matches_the_translation_loaders():
    dataset = make_dates_dataset(num_train=10, num_validation=3, num_test=2)
    assert list(dataset) == ["train", "validation", "test"]
    assert [len(split) for split in dataset.values()] == [10, 3, 2]
    for split in dataset.values():
        assert split.column_names == ["translation"]
        assert sorted(split.features["translation"].languages) == sorted([SOURCE_LANG, TARGET_LANG])


def test_more_training_data_leaves_validation_and_test_unchanged():
    small = make_dates_dataset(num_train=100, num_validation=30, num_test=30, seed=1)
    large = make_dates_dataset(num_train=500, num_validation=30, num_test=30, seed=1)
    assert small["validation"].to_list() == large["validation"].to_list()
    assert small["test"].to_list() == large["test"].to_list()


def test_unknown_style_error_suggests_the_closest_style():
    with pytest.raises(ValueError, match="Did you mean 'day_month_year'"):
        format_human_date(datetime.date(1989, 5, 9), "day_month_yeer", random.Random(0))


def test_dates_outside_the_unambiguous_range_are_rejected():
    with pytest.raises(ValueError, match="1949-12-31 is outside 1950-01-01..2049-12-31"):
        format_human_date(datetime.date(1949, 12, 31), "day_month_year", random.Random(0))


def test_negative_split_size_is_rejected_with_its_name():
    with pytest.raises(ValueError, match="num_validation must be an int >= 0, got -1"):
        make_dates_dataset(num_train=10, num_validation=-1, num_test=1)
