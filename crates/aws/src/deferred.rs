//! Values a function builds at start but does not need for every answer (the SDK configuration,
//! the clients made from it): started at once, off the runtime's thread, and awaited only by the
//! calls that use them, so the Lambda runtime's first poll for an event (and an answer that needs
//! no AWS call) does not wait behind the SDK's start-up. What each function defers is its `main`'s
//! choice; the stores it passes to handlers implement their traits for `Deferred` of themselves.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::{Mutex, OnceCell};

type Init<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A value being built; [`get`](Self::get) waits for it once, then answers at once.
pub struct Deferred<T> {
    value: OnceCell<T>,
    // Polled in place under the lock: a caller cancelled while waiting leaves the build where it
    // was for the next one.
    init: Mutex<Option<Init<T>>>,
}

impl<T: Send + 'static> Deferred<T> {
    /// Starts `init` now on a thread of the runtime's blocking pool, driven by this runtime's
    /// timers and I/O (`Handle::block_on`), so it runs beside whatever the calling thread does
    /// next: a single-threaded runtime would only run a spawned task when the main one waits.
    pub fn spawn<F>(init: F) -> Self
    where
        F: Future<Output = T> + Send + 'static,
    {
        let handle = tokio::runtime::Handle::current();
        let building = tokio::task::spawn_blocking(move || handle.block_on(init));
        Self::lazy(async move {
            match building.await {
                Ok(value) => value,
                // The build's own panic, passed on to the caller that needed the value.
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        })
    }

    /// Builds with `init` when first asked (for values cheap to make from another deferred one).
    pub fn lazy<F>(init: F) -> Self
    where
        F: Future<Output = T> + Send + 'static,
    {
        Self {
            value: OnceCell::new(),
            init: Mutex::new(Some(Box::pin(init))),
        }
    }

    /// A part of another deferred value, made by `part` when first asked.
    pub fn after<A: Send + Sync + 'static>(
        source: &std::sync::Arc<Deferred<A>>,
        part: impl FnOnce(&A) -> T + Send + 'static,
    ) -> Self {
        let source = source.clone();
        Self::lazy(async move { part(source.get().await) })
    }

    /// A value already built (tests, and callers that have one).
    pub fn ready(value: T) -> Self {
        Self {
            value: OnceCell::new_with(Some(value)),
            init: Mutex::new(None),
        }
    }

    /// The value, waiting for its build the first time.
    pub async fn get(&self) -> &T {
        self.value
            .get_or_init(|| async {
                let mut init = self.init.lock().await;
                let building = init
                    .as_mut()
                    .expect("the build is only taken once it has finished");
                let value = building.await;
                *init = None;
                value
            })
            .await
    }

    /// Whether the value is built already (without waiting for it).
    pub fn is_ready(&self) -> bool {
        self.value.initialized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(flavor = "current_thread")]
    async fn a_spawned_build_runs_while_the_runtime_thread_is_busy() {
        // The build blocks its thread for a second; the runtime's own thread keeps going
        // meanwhile, which a task spawned on a single-threaded runtime could not.
        let deferred = Deferred::spawn(async {
            std::thread::sleep(Duration::from_secs(1));
            7
        });
        let started = std::time::Instant::now();
        tokio::task::yield_now().await;
        assert!(!deferred.is_ready());
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "the runtime thread was not held by the build"
        );
        assert_eq!(*deferred.get().await, 7);
        assert!(deferred.is_ready());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_build_uses_the_runtimes_timers_and_runs_once() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let deferred = Arc::new(Deferred::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            counted.fetch_add(1, Ordering::SeqCst);
            "built"
        }));
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let d = deferred.clone();
                tokio::spawn(async move { *d.get().await })
            })
            .collect();
        for w in waiters {
            assert_eq!(w.await.unwrap(), "built");
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_waiter_cancelled_midway_leaves_the_build_to_the_next() {
        let builds = Arc::new(AtomicUsize::new(0));
        let counted = builds.clone();
        let deferred = Deferred::lazy(async move {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(5)).await;
            42
        });
        let cut = tokio::time::timeout(Duration::from_secs(1), deferred.get()).await;
        assert!(
            cut.is_err(),
            "the first waiter gave up before the build finished"
        );
        assert_eq!(*deferred.get().await, 42);
        assert_eq!(
            builds.load(Ordering::SeqCst),
            1,
            "the build was resumed, not restarted"
        );
        assert_eq!(*Deferred::ready(3).get().await, 3);
    }
}
