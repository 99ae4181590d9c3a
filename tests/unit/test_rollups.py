"""How a window is split into raw orders, hourly, daily and monthly rollups: every instant
once, the partial hours at the ends read from the orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox.analytics.rollups import DAY, HOUR, cover, month_ceil, month_floor, product_cover


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_rolling_day_is_two_partial_hours_of_orders_and_hours_between():
    raw, hours, days = cover(t("2026-03-10T10:15:00"), t("2026-03-11T10:15:00"))
    assert raw == [
        (t("2026-03-10T10:15:00"), t("2026-03-10T11:00:00")),
        (t("2026-03-11T10:00:00"), t("2026-03-11T10:15:00")),
    ]
    assert hours == [(t("2026-03-10T11:00:00"), t("2026-03-11T10:00:00"))]  # no whole day
    assert days is None


def test_a_week_uses_whole_days_between_its_edge_hours():
    raw, hours, days = cover(t("2026-03-01T23:30:00"), t("2026-03-08T23:30:00"))
    assert days == (t("2026-03-02"), t("2026-03-08"))
    assert hours == [(t("2026-03-08"), t("2026-03-08T23:00:00"))]  # no partial first day
    assert raw[0] == (t("2026-03-01T23:30:00"), t("2026-03-02"))


def test_a_window_inside_one_hour_reads_only_orders():
    start, end = t("2026-03-10T10:05:00"), t("2026-03-10T10:55:00")
    assert cover(start, end) == ([(start, end)], [], None)


def test_product_windows_use_whole_months_and_cover_every_instant_once():
    start, end = t("2026-01-20T08:30:00"), t("2026-04-03T02:10:00")
    parts = sorted(product_cover(start, end), key=lambda p: p[1])
    assert ("month", t("2026-02-01"), t("2026-04-01")) in parts
    assert parts[0][1] == start and parts[-1][2] == end
    assert all(a[2] == b[1] for a, b in zip(parts, parts[1:], strict=False))  # no gap, no overlap
    for unit, a, b in parts:
        step = {"hour": HOUR, "day": DAY}.get(unit)
        if step is not None:
            assert (b - a) % step == timedelta(0)


def test_months_round_down_and_up_across_the_year():
    assert month_floor(t("2026-12-31T23:59:59")) == t("2026-12-01")
    assert month_ceil(t("2026-12-31T23:59:59")) == t("2027-01-01")
    assert month_ceil(t("2026-05-01")) == t("2026-05-01")
    assert month_ceil(datetime.max.replace(tzinfo=UTC)) == datetime.max.replace(tzinfo=UTC)
