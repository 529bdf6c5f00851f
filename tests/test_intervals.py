from datetime import timedelta

import pytest

from app.cloudcruise.intervals import (
    IntervalError,
    describe_interval,
    format_interval,
    humanize_interval,
    normalize_interval,
    parse_interval,
)


@pytest.mark.parametrize(
    ("text", "expected", "human"),
    [
        ("01:30:00", timedelta(hours=1, minutes=30), "1 h 30 min"),
        ("7 days 00:00:00", timedelta(days=7), "7 d"),
        ("7 days", timedelta(days=7), "7 d"),
        ("1 day 02:00:00", timedelta(days=1, hours=2), "1 d 2 h"),
        ("2 hours 30 minutes", timedelta(hours=2, minutes=30), "2 h 30 min"),
        ("90 min", timedelta(minutes=90), "1 h 30 min"),
        ("1h30m", timedelta(minutes=90), "1 h 30 min"),
        ("PT1H30M", timedelta(minutes=90), "1 h 30 min"),
        ("P7D", timedelta(days=7), "7 d"),
        ("P1DT2H", timedelta(days=1, hours=2), "1 d 2 h"),
        ("1 week", timedelta(days=7), "7 d"),
        ("1 mon", timedelta(days=30), "30 d"),
        ("45 seconds", timedelta(seconds=45), "45 s"),
        ("@ 1 hour", timedelta(hours=1), "1 h"),
    ],
)
def test_accepted_forms(text, expected, human):
    assert parse_interval(text) == expected
    assert humanize_interval(parse_interval(text)) == human


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Enter an interval"),
        ("soon", "not a duration"),
        ("-1 day", "positive"),
        ("00:00:00", "longer than zero"),
        ("1 fortnight", "fortnight"),
        ("25:61", "HH:MM:SS"),
        ("P", "ISO 8601"),
        ("1 day later", "not a duration"),
        ("99999 days", "at most 10 years"),
    ],
)
def test_rejections_explain_themselves(text, fragment):
    with pytest.raises(IntervalError, match=fragment):
        parse_interval(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=1, minutes=30), "01:30:00"),
        (timedelta(days=7), "7 days"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=1, hours=2), "1 day 02:00:00"),
    ],
)
def test_postgres_output_style(delta, text):
    assert format_interval(delta) == text
    assert normalize_interval(text) == text


def test_describe_never_raises():
    assert describe_interval(None) == "no expiry"
    assert describe_interval("junk") == "not a valid interval"
    assert describe_interval("01:30:00") == "1 h 30 min"


# --- exact values, limits and messages (mutation-tested) ---
# Test ids must not contain "postgresql": scripts/mutation.py runs pytest with
# `-k "not postgresql"`, which would deselect such cases.

NOT_PG_LEFTOVER = "“{}” is not a duration: enter one like 01:30:00, 90 minutes or 7 days."
NOT_PG_EMPTY = "“{}” is not a duration: enter one like 01:30:00 or 7 days."
NOT_ISO = "“{}” is not an ISO 8601 duration such as PT1H30M or P7D."


def _error(text) -> str:
    with pytest.raises(IntervalError) as info:
        parse_interval(text)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 microseconds", timedelta(microseconds=2)),
        ("1 microsecond", timedelta(microseconds=1)),
        ("250 us", timedelta(microseconds=250)),
        ("2 milliseconds", timedelta(milliseconds=2)),
        ("1 millisecond", timedelta(milliseconds=1)),
        ("250 ms", timedelta(milliseconds=250)),
        ("1 second", timedelta(seconds=1)),
        ("2 seconds", timedelta(seconds=2)),
        ("2 sec", timedelta(seconds=2)),
        ("2 secs", timedelta(seconds=2)),
        ("2 s", timedelta(seconds=2)),
        ("1 minute", timedelta(minutes=1)),
        ("2 minutes", timedelta(minutes=2)),
        ("2 min", timedelta(minutes=2)),
        ("2 mins", timedelta(minutes=2)),
        ("2 m", timedelta(minutes=2)),
        ("1 hour", timedelta(hours=1)),
        ("2 hours", timedelta(hours=2)),
        ("2 hr", timedelta(hours=2)),
        ("2 hrs", timedelta(hours=2)),
        ("2 h", timedelta(hours=2)),
        ("1 day", timedelta(days=1)),
        ("2 days", timedelta(days=2)),
        ("2 d", timedelta(days=2)),
        ("2 week", timedelta(days=14)),
        ("2 weeks", timedelta(days=14)),
        ("2 w", timedelta(days=14)),
        ("2 mon", timedelta(days=60)),
        ("2 mons", timedelta(days=60)),
        ("1 month", timedelta(days=30)),
        ("2 months", timedelta(days=60)),
        ("1 year", timedelta(days=365)),
        ("2 years", timedelta(days=730)),
        ("2 y", timedelta(days=730)),
        ("2 DAYS", timedelta(days=2)),  # case-insensitive
        ("1.5 hours", timedelta(minutes=90)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("1 day, 2 hours", timedelta(days=1, hours=2)),
        ("1 day,2 hours", timedelta(days=1, hours=2)),
        ("@1 day", timedelta(days=1)),
        ("  3 hours  ", timedelta(hours=3)),
    ],
)
def test_unit_aliases_and_phrases(text, expected):
    assert parse_interval(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01:30", timedelta(hours=1, minutes=30)),  # HH:MM without seconds
        ("7:5", timedelta(hours=7, minutes=5)),
        ("00:01:30", timedelta(seconds=90)),
        ("00:00:59", timedelta(seconds=59)),
        ("00:00:01.5", timedelta(seconds=1.5)),
        ("00:00:00.000001", timedelta(microseconds=1)),
        ("100:00:00", timedelta(hours=100)),  # hours may exceed 24
        ("1 day 02:03:04", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("2 hours 00:30", timedelta(hours=2, minutes=30)),
    ],
)
def test_clock_times(text, expected):
    assert parse_interval(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P1Y", timedelta(days=365)),
        ("P1M", timedelta(days=30)),  # months before T
        ("PT1M", timedelta(minutes=1)),  # minutes after T
        ("P1W", timedelta(days=7)),
        ("P2W", timedelta(days=14)),
        ("P1D", timedelta(days=1)),
        ("PT1H", timedelta(hours=1)),
        ("PT1S", timedelta(seconds=1)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("PT90M", timedelta(minutes=90)),
        ("P1Y1M1W1DT1H1M1S", timedelta(days=365 + 30 + 7 + 1, hours=1, minutes=1, seconds=1)),
        ("P2Y3M", timedelta(days=2 * 365 + 3 * 30)),
        ("p7d", timedelta(days=7)),  # lower case is accepted
        ("pt1h30m", timedelta(minutes=90)),
        ("P10Y", timedelta(days=3650)),
    ],
)
def test_iso_durations(text, expected):
    assert parse_interval(text) == expected


def test_length_limit_is_64_characters_after_trimming():
    exactly_64 = "0" * 58 + "1 days"
    assert len(exactly_64) == 64
    assert parse_interval(exactly_64) == timedelta(days=1)
    assert parse_interval(f"  {exactly_64}  ") == timedelta(days=1)
    assert _error("0" + exactly_64) == "That interval is too long to be valid."
    assert _error("P" + "0" * 63 + "1D") == "That interval is too long to be valid."


def test_ten_years_is_the_exact_maximum():
    assert parse_interval("3650 days") == timedelta(days=3650)
    assert parse_interval("10 years") == timedelta(days=3650)
    assert parse_interval("3649 days 23:59:59.999999") == timedelta(days=3650, microseconds=-1)
    too_long = "The interval must be at most 10 years."
    assert _error("3650 days 00:00:00.000001") == too_long
    assert _error("3650 days 00:00:01") == too_long
    assert _error("P10YT1S") == too_long
    assert _error("3651 days") == too_long


def test_shortest_intervals_are_accepted():
    assert parse_interval("1 second") == timedelta(seconds=1)
    assert parse_interval("00:00:01") == timedelta(seconds=1)
    assert parse_interval("500 ms") == timedelta(milliseconds=500)
    assert parse_interval("1 us") == timedelta(microseconds=1)


@pytest.mark.parametrize("text", ["", "   ", "\t\n", None, 5, 1.5])
def test_missing_interval_message(text):
    assert _error(text) == "Enter an interval such as 01:30:00 or 7 days."


@pytest.mark.parametrize("text", ["0 days", "00:00:00", "00:00", "PT0S", "P0D", "0 s 0 min"])
def test_zero_message(text):
    assert _error(text) == "The interval must be longer than zero."


@pytest.mark.parametrize(
    "text", ["-1 day", "1 day -2 hours", "-01:00:00", "@ -1 day", "1 day, -2 hours"]
)
def test_negative_message(text):
    assert _error(text) == "The interval must be positive."


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("P", "P"),
        ("PT", "PT"),
        ("pt", "PT"),
        ("P1DT", "P1DT"),
        ("p1dt", "P1DT"),
        ("P1DX", "P1DX"),  # trailing junk
        ("P1.5D", "P1.5D"),
        ("P-1D", "P-1D"),
        ("PT1H30", "PT1H30"),
        ("P1D 2H", "P1D 2H"),
    ],
)
def test_iso_rejections_name_the_text(text, shown):
    assert _error(text) == NOT_ISO.format(shown)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("soon", "soon"),
        ("X", "x"),  # only a leading P/p means ISO 8601
        ("1 day later", "1 day later"),
        ("1 Day Later", "1 day later"),
        ("0", "0"),
        ("1 day + 2 hours", "1 day + 2 hours"),
        ("@ 1 day; 2 hours", "1 day; 2 hours"),
    ],
    ids=["soon", "X", "trailing-word", "mixed-case", "bare-number", "plus", "semicolon"],
)
def test_unparseable_text_names_the_text(text, shown):
    assert _error(text) == NOT_PG_LEFTOVER.format(shown)


def test_nothing_after_the_at_sign_is_not_an_interval():
    assert _error("@") == NOT_PG_EMPTY.format("")
    assert _error("@   ") == NOT_PG_EMPTY.format("")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 fortnight", "“fortnight” is not a unit PostgreSQL knows (use days, hours, …)."),
        ("2 Fortnights", "“fortnights” is not a unit PostgreSQL knows (use days, hours, …)."),
        ("25:61", "“25:61” is not a time of the form HH:MM:SS."),
        ("1 day 01:00:60", "“01:00:60” is not a time of the form HH:MM:SS."),
        ("01:30:00.1234567", "“01:30:00.1234567” is not a time of the form HH:MM:SS."),
    ],
    ids=["unknown-unit", "unknown-unit-plural", "bad-minutes", "bad-seconds", "seven-digits"],
)
def test_unit_and_clock_rejections(text, message):
    assert _error(text) == message


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "00:00:00"),
        (timedelta(seconds=1), "00:00:01"),
        (timedelta(seconds=1.5), "00:00:01.5"),
        (timedelta(seconds=59, microseconds=250000), "00:00:59.25"),
        (timedelta(microseconds=1), "00:00:00.000001"),
        (timedelta(microseconds=10), "00:00:00.00001"),
        (timedelta(hours=23, minutes=59, seconds=59), "23:59:59"),
        (timedelta(days=2), "2 days"),
        (timedelta(days=2, seconds=0.5), "2 days 00:00:00.5"),
        (timedelta(days=1, minutes=5), "1 day 00:05:00"),
        (timedelta(days=3650), "3650 days"),
        (timedelta(days=3650, microseconds=-1), "3649 days 23:59:59.999999"),
    ],
)
def test_format_interval_exact(delta, text):
    assert format_interval(delta) == text


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("48:00:00", "2 days"),
        ("100 hours", "4 days 04:00:00"),
        ("P1DT2H", "1 day 02:00:00"),
        ("90 minutes", "01:30:00"),
        ("1.5 seconds", "00:00:01.5"),
        ("2 weeks", "14 days"),
        ("1 mon", "30 days"),
        ("01:30", "01:30:00"),
    ],
)
def test_normalize_interval_exact(text, normal):
    assert normalize_interval(text) == normal


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0 s"),
        (timedelta(seconds=-5), "0 s"),
        (timedelta(seconds=0.4), "0 s"),
        (timedelta(seconds=0.6), "1 s"),
        (timedelta(seconds=1), "1 s"),
        (timedelta(seconds=59), "59 s"),
        (timedelta(seconds=60), "1 min"),
        (timedelta(seconds=61), "1 min 1 s"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=1, seconds=1), "1 h 1 s"),
        (timedelta(days=1, seconds=1), "1 d 1 s"),
        (timedelta(days=2, hours=3, minutes=4, seconds=5), "2 d 3 h 4 min 5 s"),
        (timedelta(days=3650), "3650 d"),
    ],
)
def test_humanize_interval_exact(delta, text):
    assert humanize_interval(delta) == text


@pytest.mark.parametrize(
    ("text", "preview"),
    [
        (None, "no expiry"),
        ("", "no expiry"),
        ("   ", "not a valid interval"),
        ("00:00:00", "not a valid interval"),
        ("3651 days", "not a valid interval"),
        ("P1DX", "not a valid interval"),
        ("P1DT2H3M4S", "1 d 2 h 3 min 4 s"),
        ("1 second", "1 s"),
        ("7 days", "7 d"),
    ],
)
def test_describe_interval_exact(text, preview):
    assert describe_interval(text) == preview
