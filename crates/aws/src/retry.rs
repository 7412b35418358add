//! The one retry policy for the AWS calls failberry's functions make: exponential back-off with
//! full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog: the delay before retry
//! `n` is uniform in `[0, min(cap, base·2ⁿ)]`, which spreads concurrent Lambdas instead of
//! letting them retry in lock-step), over the errors [`transient`] calls retryable. [`SdkRetry`]
//! bundles the two for one service; the callers turn the SDK clients' own retries off so that
//! two policies never stack.

use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        SdkRetry::new(&[]).backoff
    }
}

impl Backoff {
    /// The ceiling of the delay before retry `retry` (0 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before retry `retry`, given a uniform draw `unit` in `[0, 1)`.
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        self.ceiling(retry).mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// Runs `op` until it succeeds, fails with an error `retryable` refuses, or the attempts run out;
/// returns the last result and how many attempts were made.
pub async fn retry<T, E, Op, Fut>(
    policy: Backoff,
    retryable: impl Fn(&E) -> bool,
    mut op: Op,
) -> (Result<T, E>, u32)
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match op().await {
            Err(e) if attempt < policy.attempts && retryable(&e) => {
                let delay = policy.delay(attempt - 1, fastrand::f64());
                tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "retrying");
                tokio::time::sleep(delay).await;
            }
            result => return (result, attempt),
        }
    }
}

/// Whether an AWS SDK error is worth retrying: the request never got a clean answer (timeout,
/// dispatch, unreadable response), the service is overloaded (5xx, 429), or it answered one of
/// the throttling `codes` the caller names for its service.
pub fn transient<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>, codes: &[&str]) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            status >= 500 || status == 429 || e.code().is_some_and(|c| codes.contains(&c))
        }
        _ => false,
    }
}

/// Codes every AWS service may answer for "slow down" or "try again later".
pub const COMMON_RETRYABLE_CODES: &[&str] =
    &["Throttling", "ThrottlingException", "ServiceUnavailable"];

/// The retry policy for one service's SDK calls: [`Backoff`] over [`transient`] errors, with
/// [`COMMON_RETRYABLE_CODES`] and the service's own `codes` (e.g. Route53's
/// `PriorRequestNotComplete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkRetry {
    pub backoff: Backoff,
    pub codes: &'static [&'static str],
}

impl SdkRetry {
    /// The default back-off, retrying the common codes and `codes`.
    pub const fn new(codes: &'static [&'static str]) -> Self {
        Self {
            backoff: Backoff {
                attempts: 4,
                base: Duration::from_millis(100),
                cap: Duration::from_secs(2),
            },
            codes,
        }
    }

    pub fn with_backoff(self, backoff: Backoff) -> Self {
        Self { backoff, ..self }
    }

    /// Whether this error is worth another attempt under this policy.
    pub fn retryable<E: ProvideErrorMetadata>(&self, e: &SdkError<E, HttpResponse>) -> bool {
        transient(e, COMMON_RETRYABLE_CODES) || transient(e, self.codes)
    }

    /// Runs the SDK call `op` under this policy; the last result and the attempts it took.
    pub async fn call<T, E, Op, Fut>(&self, op: Op) -> (Result<T, SdkError<E, HttpResponse>>, u32)
    where
        E: ProvideErrorMetadata,
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        retry(self.backoff, |e| self.retryable(e), op).await
    }
}

/// `<what the SDK said> (after n attempts)`, for a call that failed under a policy.
pub fn describe_attempts<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: &SdkError<E, R>,
    attempts: u32,
) -> String {
    format!(
        "{} (after {attempts} attempt{})",
        crate::describe(e),
        if attempts == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service_error(
        status: u16,
        code: &str,
    ) -> SdkError<aws_sdk_s3::error::ErrorMetadata, HttpResponse> {
        let raw = HttpResponse::new(
            status.try_into().unwrap(),
            aws_sdk_s3::primitives::SdkBody::empty(),
        );
        let meta = aws_sdk_s3::error::ErrorMetadata::builder()
            .code(code)
            .build();
        SdkError::service_error(meta, raw)
    }

    #[test]
    fn the_policy_retries_common_and_service_codes_and_overload_only() {
        let route53 = SdkRetry::new(&["PriorRequestNotComplete"]);
        let cases = [
            ("throttled", 400, "Throttling", true),
            ("throttling exception", 400, "ThrottlingException", true),
            (
                "the service's own code",
                400,
                "PriorRequestNotComplete",
                true,
            ),
            ("another service's code", 400, "RequestLimitExceeded", false),
            ("server error", 500, "InternalError", true),
            ("too many requests", 429, "SlowDown", true),
            ("refused request", 400, "InvalidChangeBatch", false),
            ("no such zone", 404, "NoSuchHostedZone", false),
        ];
        for (name, status, code, want) in cases {
            assert_eq!(
                route53.retryable(&service_error(status, code)),
                want,
                "{name}"
            );
        }
        assert_eq!(
            describe_attempts(&service_error(400, "Throttling"), 1),
            "Throttling (after 1 attempt)"
        );
        assert!(
            describe_attempts(&service_error(400, "Throttling"), 4).ends_with("(after 4 attempts)")
        );
    }

    #[test]
    fn ceilings_double_then_cap() {
        let b = Backoff::default();
        let cases = [
            (0, 100),
            (1, 200),
            (2, 400),
            (4, 1600),
            (5, 2000),
            (40, 2000),
        ];
        for (retry, want_ms) in cases {
            assert_eq!(
                b.ceiling(retry),
                Duration::from_millis(want_ms),
                "retry {retry}"
            );
        }
    }

    #[test]
    fn delay_is_within_ceiling() {
        let b = Backoff::default();
        assert_eq!(b.delay(3, 0.0), Duration::ZERO);
        assert_eq!(b.delay(3, 0.5), Duration::from_millis(400));
        assert_eq!(
            b.delay(3, 7.0),
            Duration::from_millis(800),
            "draw clamped to 1"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_only_what_is_retryable() {
        let calls = std::cell::Cell::new(0);
        let (result, attempts) = retry(
            Backoff::default(),
            |e: &&str| *e == "busy",
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err("busy")
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!((result, attempts), (Ok(3), 3));

        let (result, attempts) = retry(
            Backoff::default(),
            |e: &&str| *e == "busy",
            || async { Err::<(), _>("fatal") },
        )
        .await;
        assert_eq!((result, attempts), (Err("fatal"), 1));

        let (result, attempts) = retry(
            Backoff::default(),
            |_: &&str| true,
            || async { Err::<(), _>("busy") },
        )
        .await;
        assert_eq!(
            (result, attempts),
            (Err("busy"), 4),
            "gives up after the policy's attempts"
        );
    }
}
