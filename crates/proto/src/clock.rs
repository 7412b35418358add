//! The time, injectable: the local stack runs an accelerated clock, tests a fixed one. Signed
//! requests carry Unix seconds; metric timestamps and certificate ages want a `SystemTime`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;

    /// Whole seconds since the Unix epoch (negative before it).
    fn unix_secs(&self) -> i64 {
        unix_secs(self.now())
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

/// Whole seconds since the Unix epoch, rounded down (negative before it).
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        // Rounded down: 0.5 s before the epoch is -1, not 0.
        Err(e) => {
            let before = e.duration();
            let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            if before.subsec_nanos() > 0 {
                -secs - 1
            } else {
                -secs
            }
        }
    }
}

/// The instant `secs` Unix seconds stand for.
pub fn from_unix_secs(secs: i64) -> SystemTime {
    let magnitude = std::time::Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn unix_seconds_round_down_on_both_sides_of_the_epoch() {
        let cases = [
            (UNIX_EPOCH, 0),
            (UNIX_EPOCH + Duration::from_millis(999), 0),
            (
                UNIX_EPOCH + Duration::from_secs(1_700_000_000),
                1_700_000_000,
            ),
            (UNIX_EPOCH - Duration::from_millis(500), -1),
            (UNIX_EPOCH - Duration::from_secs(2), -2),
        ];
        for (t, want) in cases {
            assert_eq!(unix_secs(t), want, "{t:?}");
        }
    }

    #[test]
    fn from_unix_secs_inverts_unix_secs() {
        for secs in [-86_400, -1, 0, 1, 1_900_000_000] {
            assert_eq!(unix_secs(from_unix_secs(secs)), secs);
        }
    }

    #[test]
    fn a_clock_behind_an_arc_is_the_same_clock() {
        struct Fixed;
        impl Clock for Fixed {
            fn now(&self) -> SystemTime {
                from_unix_secs(42)
            }
        }
        // Through a generic bound, as `Ping<_, _, _, Arc<SimClock>>` uses it: only the `Arc<C>`
        // impl makes this compile (a method call would auto-deref past it).
        fn secs(clock: impl Clock) -> i64 {
            clock.unix_secs()
        }
        assert_eq!(secs(Arc::new(Fixed)), 42);
    }
}
