//! `make demo`: the stories told on the local stack, one module each (`ddns`, `failover`,
//! `camera`), all through one [`Story`] that numbers the steps, prints the checks and counts
//! them. `pi` drives the real `failberry` client binary the stories use.

mod camera;
mod ddns;
mod failover;
mod pi;
mod picture;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::stack::{Stack, StackOptions};

/// The story's output and its tally: steps are numbered in the order told, every check is printed
/// with ✓ or ✗ and counted.
pub struct Story<'o> {
    out: &'o mut dyn Write,
    steps: usize,
    passed: usize,
    failed: usize,
}

impl<'o> Story<'o> {
    pub fn new(out: &'o mut dyn Write) -> Self {
        Self {
            out,
            steps: 0,
            passed: 0,
            failed: 0,
        }
    }

    /// A line of narration.
    pub fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    /// The next numbered step; `text` may run over several lines.
    pub fn step(&mut self, text: &str) {
        self.steps += 1;
        let _ = writeln!(self.out, "\n{}. {text}", self.steps);
    }

    /// A check of the current step.
    pub fn check(&mut self, ok: bool, what: &str) {
        if ok {
            self.passed += 1;
            self.say(&format!("   ✓ {what}"));
        } else {
            self.failed += 1;
            self.say(&format!("   ✗ {what}  <-- NOT AS EXPECTED"));
        }
    }

    /// Whether every check so far behaved.
    pub fn all_behaved(&self) -> bool {
        self.failed == 0
    }

    /// The closing tally: `N of M checks behaved.` and `N passed, F failed`.
    fn tally(&mut self, where_logs_are: &str) {
        let (passed, failed) = (self.passed, self.failed);
        self.say(&format!(
            "\n{passed} of {} checks behaved. {where_logs_are}",
            passed + failed
        ));
        self.say(&format!("{passed} passed, {failed} failed"));
    }
}

/// The file, in the demo's working directory, that holds the functions' own log lines.
pub const FUNCTION_LOG: &str = "functions.log";

pub struct DemoPaths {
    /// The `failberry` client binary the stories drive.
    pub client: PathBuf,
    /// Where the client's config, state and logs and the failover picture go.
    pub workdir: PathBuf,
}

/// Starts a stack on the emulator at `moto_url` and tells every story on it; `Ok(true)` when
/// every step behaved.
pub async fn run(moto_url: &str, paths: &DemoPaths, out: &mut dyn Write) -> anyhow::Result<bool> {
    let wire = ddns::Wire::new();
    let stack = Stack::start(
        moto_url,
        StackOptions {
            bucket: format!("failberry-demo-{:08x}", fastrand::u32(..)),
            config_max_age: Duration::from_secs(2),
            tap: Some(wire.tap()),
            ..StackOptions::default()
        },
    )
    .await?;
    let pi = pi::Pi::set_up(&paths.client, &paths.workdir, &stack.api)?;
    let mut story = Story::new(out);
    ddns::tell(&mut story, &stack, moto_url, &pi, &wire).await?;
    let svg = failover::tell(&mut story, &stack, &pi, &paths.workdir).await?;
    story.say(&format!(
        "\nA picture of the failover story: {}",
        svg.display()
    ));
    camera::tell(&mut story, &stack, &pi, &paths.workdir).await?;
    stack.stop().await;
    story.tally(&format!(
        "The functions' log lines are in {}; the client's logs and config are beside them.",
        paths.workdir.join(FUNCTION_LOG).display()
    ));
    Ok(story.all_behaved())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_numbered_and_checks_counted() {
        let mut out = Vec::new();
        let mut story = Story::new(&mut out);
        story.step("first");
        story.check(true, "fine");
        story.step("second\n   on two lines");
        story.check(false, "broken");
        assert!(!story.all_behaved());
        story.tally("logs: nowhere.");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "\n1. first\n   ✓ fine\n\n2. second\n   on two lines\n   ✗ broken  <-- NOT AS EXPECTED\n\n\
             1 of 2 checks behaved. logs: nowhere.\n1 passed, 1 failed\n"
        );
    }
}
