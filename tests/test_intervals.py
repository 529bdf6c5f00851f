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
        ("soon", "not a PostgreSQL interval"),
        ("-1 day", "positive"),
        ("00:00:00", "longer than zero"),
        ("1 fortnight", "fortnight"),
        ("25:61", "HH:MM:SS"),
        ("P", "ISO 8601"),
        ("1 day later", "not a PostgreSQL interval"),
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
