//! The one table printer of the bench: every figure is a row of `figure, value, baseline, ratio,
//! note`, in columns whose widths each part chooses, and the units' spellings (`ms`, `MB`) and
//! the goal verdicts (`met`/`MISSED`) are written the same way everywhere.

use std::fmt::Display;
use std::time::Duration;

/// The column widths of one part's table: figure, value, baseline.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub figure: usize,
    pub value: usize,
    pub baseline: usize,
}

impl Table {
    /// `figure  <value> <baseline>  ratio  goal`.
    pub fn header(&self, value: &str, baseline: &str) {
        self.print(
            "figure",
            value,
            baseline,
            &format!("{:>8}", "ratio"),
            "goal",
        );
    }

    /// One figure beside its baseline; the ratio as `1.23x` (blank when `None`), then the note.
    pub fn row(
        &self,
        figure: impl Display,
        value: impl Display,
        baseline: impl Display,
        ratio: Option<f64>,
        note: &str,
    ) {
        let ratio = ratio.map_or_else(|| format!("{:>8}", ""), |r| format!("{r:>7.2}x"));
        self.print(figure, value, baseline, &ratio, note);
    }

    fn print(
        &self,
        figure: impl Display,
        value: impl Display,
        baseline: impl Display,
        ratio: &str,
        note: &str,
    ) {
        let line = format!(
            "{:<fw$} {:>vw$} {:>bw$} {ratio}  {note}",
            figure.to_string(),
            value.to_string(),
            baseline.to_string(),
            fw = self.figure,
            vw = self.value,
            bw = self.baseline,
        );
        println!("{}", line.trim_end());
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

/// `a / b` of two durations.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// `a / b` of two sizes, never dividing by zero.
pub fn kb_ratio(a: u64, b: u64) -> f64 {
    a as f64 / b.max(1) as f64
}

pub fn median<T: Copy + Ord>(v: &mut [T]) -> T {
    v.sort();
    v[v.len() / 2]
}

pub fn median_f64(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics() {
        let mut d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        d.reverse();
        assert_eq!(percentile(&mut d, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&mut d, 0.99), Duration::from_millis(99));
        assert_eq!(median(&mut [3, 1, 2]), 2);
        assert_eq!(median_f64(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(kb_ratio(10, 0), 10.0);
        assert_eq!(ms(Duration::from_micros(1250)), "1.2 ms");
        assert_eq!(mb(1536), "1.5 MB");
    }
}
