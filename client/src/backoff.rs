//! Exponential back-off with jitter for loops that retry: the delay doubles per failure up to a
//! cap, and a random share of it spreads retries of many devices apart.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            failures: 0,
        }
    }

    /// Counts one more failure and returns how long to wait before the next try.
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        jittered(delay(self.base, self.cap, self.failures), fastrand::f64())
    }

    /// Forgets the failures; returns whether there were any.
    pub fn reset(&mut self) -> bool {
        std::mem::replace(&mut self.failures, 0) > 0
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// `base * 2^(failures - 1)`, at most `cap`.
pub fn delay(base: Duration, cap: Duration, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    base.saturating_mul(1 << doublings).min(cap)
}

/// Between half the delay and all of it ("equal jitter"), for `random` in [0, 1).
pub fn jittered(delay: Duration, random: f64) -> Duration {
    delay.mul_f64(0.5 + random.clamp(0.0, 1.0) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn delays_double_up_to_the_cap() {
        let cases = [
            ("first failure", 1, S(10)),
            ("second", 2, S(20)),
            ("fourth", 4, S(80)),
            ("capped", 7, S(600)),
            ("far past the cap", 1000, S(600)),
            ("no failure yet", 0, S(10)),
        ];
        for (name, failures, want) in cases {
            assert_eq!(delay(S(10), S(600), failures), want, "{name}");
        }
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        let cases = [
            ("lowest", 0.0, S(30)),
            ("middle", 0.5, S(45)),
            ("out of range clamped", 7.0, S(60)),
        ];
        for (name, random, want) in cases {
            assert_eq!(jittered(S(60), random), want, "{name}");
        }
    }

    #[test]
    fn next_delay_grows_and_reset_starts_over() {
        let mut backoff = Backoff::new(S(10), S(600));
        let first = backoff.next_delay();
        assert!((S(5)..=S(10)).contains(&first), "{first:?}");
        for _ in 0..10 {
            backoff.next_delay();
        }
        let late = backoff.next_delay();
        assert!((S(300)..=S(600)).contains(&late), "{late:?}");
        assert!(backoff.reset());
        assert!(!backoff.reset());
        assert_eq!(backoff.failures(), 0);
    }
}
