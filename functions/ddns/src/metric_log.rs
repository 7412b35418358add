//! Where `/v1/report` writes its metrics: the `MetricLog` capability and its Lambda
//! implementation, whole lines on stdout, which CloudWatch Logs reads as Embedded Metric Format.

use std::io::Write;
use std::sync::Mutex;

/// Where the metric lines go: stdout in Lambda, whose log pipeline makes them metrics.
pub trait MetricLog: Send + Sync {
    fn write_lines(&self, lines: &[String]) -> std::io::Result<()>;
}

/// Writes each line whole, so log lines of the subscriber never interleave with them.
#[derive(Debug, Default)]
pub struct StdoutLog(Mutex<()>);

impl MetricLog for StdoutLog {
    fn write_lines(&self, lines: &[String]) -> std::io::Result<()> {
        let _guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = std::io::stdout().lock();
        for line in lines {
            writeln!(out, "{line}")?;
        }
        out.flush()
    }
}
