//! The failover story as a picture that reads on its own: per minute, each link's availability
//! and latency, each link's alarm state, and which answer DNS gave; a shaded band where no data
//! came, a minute axis, and event labels laid out in lanes so that none overlaps another.
//! A self-contained SVG: a few polylines and boxes need no plotting library.

use std::fmt::Write;

use failberry_failover::alarm::AlarmState;

/// One simulated minute.
#[derive(Debug, Clone)]
pub struct Minute {
    pub wired_availability: Option<f64>,
    pub wireless_availability: Option<f64>,
    pub wired_latency_ms: Option<f64>,
    pub wireless_latency_ms: Option<f64>,
    /// Each link's alarm at the end of the minute (`None`: not known).
    pub wired_alarm: Option<AlarmState>,
    pub wireless_alarm: Option<AlarmState>,
    /// `true` when DNS answered with the wired (PRIMARY) record.
    pub answered_wired: bool,
}

impl Minute {
    /// No datapoint from either link: the ping function did not run.
    fn without_data(&self) -> bool {
        self.wired_availability.is_none() && self.wireless_availability.is_none()
    }
}

const W: f64 = 900.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 20.0;
const WIRED: &str = "#1f77b4";
const WIRELESS: &str = "#ff7f0e";
const LANE: f64 = 16.0;
/// Width of one character at font-size 12, generous so estimated labels never touch.
const CHAR: f64 = 7.0;

fn x(i: usize, n: usize) -> f64 {
    LEFT + (W - LEFT - RIGHT) * (i as f64 + 0.5) / n.max(1) as f64
}

fn column(n: usize) -> f64 {
    (W - LEFT - RIGHT) / n.max(1) as f64
}

/// The lane (0 = top) of each label so that no two labels in a lane overlap: each label starts at
/// its event's x and, left to right, takes the first lane whose last label ends before it.
fn lanes(events: &[(usize, String)], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&e| events[e].0);
    let mut ends: Vec<f64> = Vec::new();
    let mut lane_of = vec![0; events.len()];
    for e in order {
        let (i, label) = &events[e];
        let start = x(*i, n);
        let end = start + CHAR * label.chars().count() as f64 + 8.0;
        let lane = match ends.iter().position(|end| *end <= start) {
            Some(lane) => lane,
            None => {
                ends.push(0.0);
                ends.len() - 1
            }
        };
        ends[lane] = end;
        lane_of[e] = lane;
    }
    lane_of
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

fn alarm_colour(state: Option<AlarmState>) -> &'static str {
    match state {
        Some(AlarmState::Ok) => "#2ca02c",
        Some(AlarmState::Alarm) => "#d62728",
        Some(AlarmState::InsufficientData) | None => "#bbbbbb",
    }
}

/// A row of one box per minute, coloured by `colour`, with its name on the left.
fn strip(
    minutes: &[Minute],
    top: f64,
    name: &str,
    class: &str,
    colour: impl Fn(&Minute) -> &'static str,
    out: &mut String,
) {
    let width = column(minutes.len());
    let _ = write!(out, r#"<text x="6" y="{:.1}">{name}</text>"#, top + 15.0);
    for (i, m) in minutes.iter().enumerate() {
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{:.1}" y="{top:.1}" width="{width:.1}" height="20" fill="{}" stroke="white"/>"#,
            LEFT + width * i as f64,
            colour(m)
        );
    }
}

/// The SVG document; `events` are `(minute index, label)` marks.
pub fn render(minutes: &[Minute], events: &[(usize, String)]) -> String {
    let n = minutes.len();
    let width = column(n);
    let max_latency = minutes
        .iter()
        .flat_map(|m| [m.wired_latency_ms, m.wireless_latency_ms])
        .flatten()
        .fold(1.0_f64, f64::max)
        * 1.2;
    let event_lanes = lanes(events, n);
    let lane_count = event_lanes.iter().max().map_or(0, |l| l + 1);
    // Top to bottom: title, event lanes, availability, latency, two alarm strips, DNS answer,
    // minute axis, legend.
    let events_top = 34.0;
    let availability = events_top + LANE * lane_count as f64 + 8.0;
    let latency = availability + 130.0;
    let wired_alarm = latency + 120.0;
    let wireless_alarm = wired_alarm + 24.0;
    let answer = wireless_alarm + 24.0;
    let axis = answer + 20.0;
    let legend = axis + 34.0;
    let height = legend + 28.0;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height:.0}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>"#
    );
    let _ = write!(
        s,
        r#"<text x="6" y="18" font-size="15">failberry failover: link health, alarms and the DNS answer, one column per minute</text>"#
    );

    // Where no data came: a band behind every row.
    for (i, m) in minutes.iter().enumerate() {
        if m.without_data() {
            let _ = write!(
                s,
                r##"<rect class="no-data" x="{:.1}" y="{availability:.1}" width="{width:.1}" height="{:.1}" fill="#e8e8e8"/>"##,
                LEFT + width * i as f64,
                answer + 20.0 - availability
            );
        }
    }
    if let Some(first) = minutes.iter().position(Minute::without_data) {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#666">no data</text>"##,
            LEFT + width * first as f64 + 3.0,
            availability + 70.0
        );
    }

    for (top, label, panel) in [
        (availability, "availability", 110.0),
        (latency, "latency (ms)", 100.0),
    ] {
        let _ = write!(
            s,
            r##"<rect x="{LEFT}" y="{top:.1}" width="{}" height="{panel}" fill="none" stroke="#999"/><text x="6" y="{:.1}">{label}</text>"##,
            W - LEFT - RIGHT,
            top + panel / 2.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{:.1}">1</text><text x="{}" y="{:.1}">0</text><text x="{}" y="{:.1}" text-anchor="end">{max_latency:.0}</text><text x="{}" y="{:.1}">0</text>"#,
        LEFT - 14.0,
        availability + 12.0,
        LEFT - 14.0,
        availability + 110.0,
        LEFT - 6.0,
        latency + 12.0,
        LEFT - 14.0,
        latency + 100.0
    );
    let pick = |f: fn(&Minute) -> Option<f64>| minutes.iter().map(f).collect::<Vec<_>>();
    lines(
        &pick(|m| m.wired_availability),
        availability,
        110.0,
        1.0,
        WIRED,
        &mut s,
    );
    lines(
        &pick(|m| m.wireless_availability),
        availability,
        110.0,
        1.0,
        WIRELESS,
        &mut s,
    );
    lines(
        &pick(|m| m.wired_latency_ms),
        latency,
        100.0,
        max_latency,
        WIRED,
        &mut s,
    );
    lines(
        &pick(|m| m.wireless_latency_ms),
        latency,
        100.0,
        max_latency,
        WIRELESS,
        &mut s,
    );

    strip(
        minutes,
        wired_alarm,
        "wired alarm",
        "wired-alarm",
        |m| alarm_colour(m.wired_alarm),
        &mut s,
    );
    strip(
        minutes,
        wireless_alarm,
        "wireless alarm",
        "wireless-alarm",
        |m| alarm_colour(m.wireless_alarm),
        &mut s,
    );
    strip(
        minutes,
        answer,
        "DNS answers",
        "answer",
        |m| if m.answered_wired { WIRED } else { WIRELESS },
        &mut s,
    );

    // The minute axis: a tick per minute, a number every `every` minutes.
    let every = (n / 15).max(1);
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{axis:.1}" x2="{}" y2="{axis:.1}" stroke="#444"/><text x="6" y="{:.1}">minute</text>"##,
        W - RIGHT,
        axis + 14.0
    );
    for i in 0..n {
        let tx = x(i, n);
        let _ = write!(
            s,
            r##"<line x1="{tx:.1}" y1="{axis:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#444"/>"##,
            axis + 4.0
        );
        if i % every == 0 {
            let _ = write!(
                s,
                r#"<text class="tick" x="{tx:.1}" y="{:.1}" text-anchor="middle">{i}</text>"#,
                axis + 16.0
            );
        }
    }

    for ((i, label), lane) in events.iter().zip(&event_lanes) {
        let ex = x(*i, n);
        let ty = events_top + LANE * (*lane as f64) + 11.0;
        let _ = write!(
            s,
            r##"<line x1="{ex:.1}" y1="{:.1}" x2="{ex:.1}" y2="{:.1}" stroke="#444" stroke-dasharray="3,3"/><text class="event" x="{:.1}" y="{ty:.1}">{}</text>"##,
            ty + 3.0,
            answer + 20.0,
            ex + 3.0,
            escape(label)
        );
    }

    let mut lx = LEFT;
    for (colour, text) in [
        (WIRED, "wired (PRIMARY)"),
        (WIRELESS, "wireless (SECONDARY)"),
        ("#2ca02c", "alarm OK"),
        ("#d62728", "alarm ALARM"),
        ("#bbbbbb", "not enough data"),
        ("#e8e8e8", "no data came"),
    ] {
        let _ = write!(
            s,
            r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" fill="{colour}"/><text x="{:.1}" y="{:.1}">{text}</text>"#,
            legend,
            lx + 16.0,
            legend + 10.0
        );
        lx += 16.0 + CHAR * text.len() as f64 + 12.0;
    }
    s.push_str("</svg>");
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

    fn minute(up: Option<bool>, wired: bool) -> Minute {
        let (availability, alarm) = match up {
            Some(true) => (Some(1.0), Some(AlarmState::Ok)),
            Some(false) => (Some(0.0), Some(AlarmState::Alarm)),
            None => (None, Some(AlarmState::Alarm)),
        };
        Minute {
            wired_availability: availability,
            wireless_availability: up.map(|_| 1.0),
            wired_latency_ms: up.filter(|u| *u).map(|_| 3.0),
            wireless_latency_ms: up.map(|_| 40.0),
            wired_alarm: alarm,
            wireless_alarm: up.map(|_| AlarmState::Ok),
            answered_wired: wired,
        }
    }

    fn count(svg: &str, class: &str, fill: &str) -> usize {
        svg.split("<rect")
            .filter(|r| {
                r.contains(&format!(r#"class="{class}""#))
                    && r.contains(&format!(r#"fill="{fill}""#))
            })
            .count()
    }

    #[test]
    fn one_box_per_minute_in_each_strip_coloured_by_state() {
        let minutes = vec![
            minute(Some(true), true),
            minute(Some(false), false),
            minute(Some(false), false),
            minute(None, true),
            minute(Some(true), true),
        ];
        let svg = render(&minutes, &[(1, "wire <cut>".into())]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="answer""#).count(), 5);
        assert_eq!(count(&svg, "answer", WIRELESS), 2);
        assert_eq!(count(&svg, "wired-alarm", "#d62728"), 3);
        assert_eq!(count(&svg, "wired-alarm", "#2ca02c"), 2);
        assert_eq!(
            count(&svg, "wireless-alarm", "#bbbbbb"),
            1,
            "unknown where no data came"
        );
        assert_eq!(svg.matches(r#"class="no-data""#).count(), 1);
        assert_eq!(svg.matches(r#"class="tick""#).count(), 5);
        // Each line is broken by the minute without data; wired latency also where it was down.
        assert_eq!(svg.matches("<polyline").count(), 2 + 2 + 2 + 2);
        assert!(svg.contains("wire &lt;cut&gt;"));
    }

    #[test]
    fn labels_close_together_take_separate_lanes_and_far_ones_share() {
        // 60 minutes: a column is ~12.8 px, so labels one minute apart collide, ten apart do not
        // when short.
        let events: Vec<(usize, String)> = vec![
            (5, "wire fails".into()),
            (6, "mobile IP changes".into()),
            (7, "wire back".into()),
            (40, "ping dies".into()),
        ];
        assert_eq!(lanes(&events, 60), vec![0, 1, 2, 0]);
    }

    #[test]
    fn no_two_labels_in_a_lane_overlap() {
        let events: Vec<(usize, String)> = (0..30)
            .map(|i| ((i * 7) % 40, "x".repeat(3 + (i * 5) % 17)))
            .collect();
        let lanes = lanes(&events, 40);
        let span = |(i, l): &(usize, String)| (x(*i, 40), x(*i, 40) + CHAR * l.len() as f64 + 8.0);
        for a in 0..events.len() {
            for b in a + 1..events.len() {
                if lanes[a] == lanes[b] {
                    let (sa, ea) = span(&events[a]);
                    let (sb, eb) = span(&events[b]);
                    assert!(
                        ea <= sb || eb <= sa,
                        "labels {a} and {b} overlap in lane {}",
                        lanes[a]
                    );
                }
            }
        }
    }
}
