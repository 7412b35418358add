//! The data-cap guard's arithmetic, pure: the billing month a moment falls in, and the month's
//! use after one more reading of the interface's byte counters, surviving counter resets (a
//! redial recreates `ppp0`, a reboot zeroes everything) and a new month; which thresholds were
//! crossed, each once a month. Reading `/sys/class/net` and running commands is the daemon's job.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::config::DataCap;

/// One reading of an interface's counters, and the boot it was taken in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// `/proc/sys/kernel/random/boot_id`: counters restart with a new boot.
    pub boot_id: String,
}

/// The month's use; kept in the state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Unix seconds of the billing month's start.
    pub period_start: i64,
    pub used_bytes: u64,
    pub last: Option<Reading>,
    /// Thresholds (percent) already acted on this month.
    pub fired: Vec<u8>,
}

/// The start (local midnight of `billing_day`) of the billing month holding `now`.
pub fn period_start(now: i64, tz: &TimeZone, billing_day: u8) -> i64 {
    let day = billing_day.clamp(1, 28) as i8;
    let Ok(ts) = Timestamp::from_second(now) else {
        return 0;
    };
    let today = ts.to_zoned(tz.clone()).date();
    let this_month =
        Date::new(today.year(), today.month(), day).expect("days 1-28 exist in every month");
    let start = if today >= this_month {
        this_month
    } else {
        this_month.checked_sub(1.month()).unwrap_or(this_month)
    };
    start
        .to_zoned(tz.clone())
        .map(|z| z.timestamp().as_second())
        .unwrap_or(0)
}

/// Bytes moved between two readings. A new boot, or counters lower than before (the interface
/// was recreated), means they restarted from zero: everything they show is new.
pub fn delta(last: Option<&Reading>, now: &Reading) -> u64 {
    match last {
        // The first reading ever: what went before the watchdog watched is unknown.
        None => 0,
        Some(last)
            if last.boot_id != now.boot_id
                || now.rx_bytes < last.rx_bytes
                || now.tx_bytes < last.tx_bytes =>
        {
            now.rx_bytes.saturating_add(now.tx_bytes)
        }
        Some(last) => (now.rx_bytes - last.rx_bytes).saturating_add(now.tx_bytes - last.tx_bytes),
    }
}

/// The use after `reading` (none when the interface is absent) in the month starting at
/// `period`, and the thresholds it crossed just now.
pub fn account(
    usage: &Usage,
    reading: Option<Reading>,
    period: i64,
    cap: &DataCap,
) -> (Usage, Vec<u8>) {
    let mut next = usage.clone();
    if period != usage.period_start {
        next.period_start = period;
        next.used_bytes = 0;
        next.fired.clear();
    }
    if let Some(reading) = reading {
        next.used_bytes = next
            .used_bytes
            .saturating_add(delta(usage.last.as_ref(), &reading));
        next.last = Some(reading);
    }
    let mut crossed = Vec::new();
    for t in &cap.thresholds {
        let reached =
            u128::from(next.used_bytes) * 100 >= u128::from(cap.cap_bytes) * u128::from(t.percent);
        if reached && !next.fired.contains(&t.percent) {
            next.fired.push(t.percent);
            crossed.push(t.percent);
        }
    }
    (next, crossed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Threshold;

    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    #[test]
    fn billing_months() {
        let utc = TimeZone::UTC;
        let plus2 = TimeZone::fixed(jiff::tz::offset(2));
        let cases = [
            (
                "after the day",
                "2026-11-20T10:00:00Z",
                &utc,
                15,
                "2026-11-15T00:00:00Z",
            ),
            (
                "on the day",
                "2026-11-15T00:00:00Z",
                &utc,
                15,
                "2026-11-15T00:00:00Z",
            ),
            (
                "before the day",
                "2026-11-14T23:59:59Z",
                &utc,
                15,
                "2026-10-15T00:00:00Z",
            ),
            (
                "across the year",
                "2026-01-03T00:00:00Z",
                &utc,
                28,
                "2025-12-28T00:00:00Z",
            ),
            (
                "first of the month",
                "2026-03-01T00:00:00Z",
                &utc,
                1,
                "2026-03-01T00:00:00Z",
            ),
            (
                "local midnight, not UTC's",
                "2026-11-14T22:30:00Z",
                &plus2,
                15,
                "2026-11-14T22:00:00Z",
            ),
        ];
        for (name, now, tz, day, want) in cases {
            assert_eq!(period_start(at(now), tz, day), at(want), "{name}");
        }
    }

    fn r(rx: u64, tx: u64, boot: &str) -> Reading {
        Reading {
            rx_bytes: rx,
            tx_bytes: tx,
            boot_id: boot.into(),
        }
    }

    #[test]
    fn deltas_survive_counter_resets() {
        let cases = [
            ("first reading", None, r(500, 500, "a"), 0),
            ("growth", Some(r(100, 10, "a")), r(150, 30, "a"), 70),
            ("no traffic", Some(r(100, 10, "a")), r(100, 10, "a"), 0),
            (
                "interface recreated",
                Some(r(1000, 1000, "a")),
                r(40, 2, "a"),
                42,
            ),
            (
                "only tx went back",
                Some(r(100, 1000, "a")),
                r(150, 5, "a"),
                155,
            ),
            (
                "rebooted, counters already past the old ones",
                Some(r(10, 10, "a")),
                r(300, 20, "b"),
                320,
            ),
        ];
        for (name, last, now, want) in cases {
            assert_eq!(delta(last.as_ref(), &now), want, "{name}");
        }
    }

    #[test]
    fn thresholds_fire_once_a_month() {
        let cap = DataCap {
            cap_bytes: 1000,
            billing_day: 1,
            thresholds: vec![
                Threshold {
                    percent: 80,
                    command: None,
                },
                Threshold {
                    percent: 100,
                    command: None,
                },
            ],
        };
        let start = Usage {
            period_start: 10,
            used_bytes: 700,
            last: Some(r(700, 0, "a")),
            fired: vec![],
        };
        let (u, crossed) = account(&start, Some(r(750, 0, "a")), 10, &cap);
        assert_eq!((u.used_bytes, crossed), (750, vec![]), "below 80 %");
        let (u, crossed) = account(&u, Some(r(1000, 10, "a")), 10, &cap);
        assert_eq!(
            (u.used_bytes, crossed),
            (1010, vec![80, 100]),
            "both at once"
        );
        let (u, crossed) = account(&u, Some(r(1100, 10, "a")), 10, &cap);
        assert_eq!((u.used_bytes, crossed), (1110, vec![]), "each only once");
        let (u, crossed) = account(&u, None, 10, &cap);
        assert_eq!(
            (u.used_bytes, crossed),
            (1110, vec![]),
            "interface gone: nothing counted"
        );
        let (u, crossed) = account(&u, Some(r(1200, 10, "a")), 20, &cap);
        assert_eq!(
            (u.used_bytes, u.fired, crossed),
            (100, vec![], vec![]),
            "a new month starts at zero"
        );
    }
}
