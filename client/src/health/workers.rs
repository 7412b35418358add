//! The health endpoint's extra threads: each runs a single-threaded tokio runtime and serves the
//! connections handed to it. The accepting thread takes every (n+1)th connection itself.

use std::future::Future;
use std::io;
use std::thread::JoinHandle;

use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tracing::debug;

struct Worker {
    handle: Handle,
    exit: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

pub struct Workers {
    workers: Vec<Worker>,
    /// Round-robin position; 0 is the accepting thread.
    next: usize,
}

impl Workers {
    /// Starts `extra` threads, each with its own runtime (I/O and timers enabled).
    pub fn start(extra: usize) -> io::Result<Self> {
        let mut workers = Vec::with_capacity(extra);
        for i in 0..extra {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let handle = runtime.handle().clone();
            let (exit, exited) = oneshot::channel::<()>();
            let thread = std::thread::Builder::new()
                .name(format!("health-{}", i + 1))
                // Its runtime's tasks are dropped with it when told to exit.
                .spawn(move || runtime.block_on(async move { drop(exited.await) }))?;
            workers.push(Worker {
                handle,
                exit,
                thread,
            });
        }
        Ok(Self { workers, next: 0 })
    }

    /// No extra threads: everything on the accepting one.
    pub fn none() -> Self {
        Self {
            workers: Vec::new(),
            next: 0,
        }
    }

    /// Threads serving connections, the accepting one included.
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Serves `stream` with `serve` on the next thread in turn. A socket is registered with one
    /// runtime's reactor, so it moves as a plain socket and is registered again where it lands.
    pub fn dispatch<F, Fut>(&mut self, stream: TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let turn = self.next;
        self.next = (self.next + 1) % (self.workers.len() + 1);
        let Some(worker) = turn.checked_sub(1).map(|i| &self.workers[i]) else {
            tokio::spawn(serve(stream));
            return;
        };
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                debug!(error = %e, "a connection could not be handed to a worker");
                return;
            }
        };
        worker.handle.spawn(async move {
            match TcpStream::from_std(stream) {
                Ok(stream) => serve(stream).await,
                Err(e) => debug!(error = %e, "a worker could not take a connection"),
            }
        });
    }

    /// Tells every thread to exit (dropping what it still serves) and waits for them.
    pub fn stop(self) {
        for worker in self.workers {
            let _ = worker.exit.send(());
            let _ = worker.thread.join();
        }
    }
}
