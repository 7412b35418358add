//! The failover story as a picture: availability and latency of each link per minute, and which
//! answer DNS gave, as a self-contained SVG (no plotting library: a few polylines and boxes).

use std::fmt::Write;

/// One simulated minute.
#[derive(Debug, Clone)]
pub struct Minute {
    pub wired_availability: Option<f64>,
    pub wireless_availability: Option<f64>,
    pub wired_latency_ms: Option<f64>,
    pub wireless_latency_ms: Option<f64>,
    /// `true` when DNS answered with the wired (PRIMARY) record.
    pub answered_wired: bool,
}

const W: f64 = 900.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;

fn x(i: usize, n: usize) -> f64 {
    LEFT + (W - LEFT - RIGHT) * (i as f64 + 0.5) / n.max(1) as f64
}

/// Polylines broken where there is no value (the ping function was dead).
fn lines(values: &[Option<f64>], top: f64, height: f64, max: f64, colour: &str, out: &mut String) {
    let n = values.len();
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, out: &mut String| {
        if !run.is_empty() {
            let _ = write!(
                out,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
                run.join(" ")
            );
            run.clear();
        }
    };
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => run.push(format!(
                "{:.1},{:.1}",
                x(i, n),
                top + height - height * (v / max).clamp(0.0, 1.0)
            )),
            None => flush(&mut run, out),
        }
    }
    flush(&mut run, out);
}

/// The SVG document; `events` are `(minute index, label)` marks.
pub fn render(minutes: &[Minute], events: &[(usize, String)]) -> String {
    let n = minutes.len();
    let max_latency = minutes
        .iter()
        .flat_map(|m| [m.wired_latency_ms, m.wireless_latency_ms])
        .flatten()
        .fold(1.0_f64, f64::max)
        * 1.2;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="430" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>"#
    );
    let _ = write!(
        s,
        r#"<text x="{LEFT}" y="18" font-size="15">failberry: link health and the DNS answer, one column per minute</text>"#
    );
    for (top, label) in [(40.0, "availability"), (180.0, "latency (ms)")] {
        let _ = write!(
            s,
            r##"<rect x="{LEFT}" y="{top}" width="{}" height="110" fill="none" stroke="#999"/><text x="6" y="{}">{label}</text>"##,
            W - LEFT - RIGHT,
            top + 60.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="52">1</text><text x="{}" y="150">0</text>"#,
        LEFT - 14.0,
        LEFT - 14.0
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="192">{max_latency:.0}</text>"#,
        LEFT - 40.0
    );
    let pick = |f: fn(&Minute) -> Option<f64>| minutes.iter().map(f).collect::<Vec<_>>();
    lines(
        &pick(|m| m.wired_availability),
        40.0,
        110.0,
        1.0,
        "#1f77b4",
        &mut s,
    );
    lines(
        &pick(|m| m.wireless_availability),
        40.0,
        110.0,
        1.0,
        "#ff7f0e",
        &mut s,
    );
    lines(
        &pick(|m| m.wired_latency_ms),
        180.0,
        110.0,
        max_latency,
        "#1f77b4",
        &mut s,
    );
    lines(
        &pick(|m| m.wireless_latency_ms),
        180.0,
        110.0,
        max_latency,
        "#ff7f0e",
        &mut s,
    );
    let width = (W - LEFT - RIGHT) / n.max(1) as f64;
    let _ = write!(s, r#"<text x="6" y="314">DNS answer</text>"#);
    for (i, m) in minutes.iter().enumerate() {
        let colour = if m.answered_wired {
            "#1f77b4"
        } else {
            "#ff7f0e"
        };
        let _ = write!(
            s,
            r#"<rect class="answer" x="{:.1}" y="320" width="{:.1}" height="30" fill="{colour}"/>"#,
            LEFT + width * i as f64,
            width
        );
    }
    for (i, label) in events {
        let ex = x(*i, n);
        let _ = write!(
            s,
            r##"<line x1="{ex:.1}" y1="36" x2="{ex:.1}" y2="354" stroke="#444" stroke-dasharray="3,3"/><text x="{:.1}" y="372" transform="rotate(20 {:.1} 372)">{}</text>"##,
            ex,
            ex,
            escape(label)
        );
    }
    let _ = write!(
        s,
        r##"<rect x="{LEFT}" y="405" width="12" height="12" fill="#1f77b4"/><text x="{}" y="415">wired (PRIMARY)</text><rect x="{}" y="405" width="12" height="12" fill="#ff7f0e"/><text x="{}" y="415">wireless (SECONDARY)</text></svg>"##,
        LEFT + 16.0,
        LEFT + 140.0,
        LEFT + 156.0
    );
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(up: bool, wired: bool) -> Minute {
        Minute {
            wired_availability: up.then_some(1.0),
            wireless_availability: Some(1.0),
            wired_latency_ms: up.then_some(3.0),
            wireless_latency_ms: Some(40.0),
            answered_wired: wired,
        }
    }

    #[test]
    fn one_answer_box_per_minute_and_gaps_break_the_lines() {
        let minutes = vec![
            minute(true, true),
            minute(true, true),
            minute(false, false),
            minute(true, false),
            minute(true, true),
        ];
        let svg = render(&minutes, &[(2, "wire <cut>".into())]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="answer""#).count(), 5);
        assert_eq!(
            svg.matches(r##"fill="#ff7f0e"/>"##).count() - 1,
            2,
            "two minutes answered wireless (plus the legend)"
        );
        // The wired availability and latency lines are each broken in two by the gap.
        assert_eq!(svg.matches("<polyline").count(), 2 + 2 + 1 + 1);
        assert!(svg.contains("wire &lt;cut&gt;"));
    }
}
