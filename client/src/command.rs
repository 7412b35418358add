//! Running an owner's command (a watchdog recovery step, a data-cap threshold, the camera's
//! `on_result` hook) as a child process bounded in time, with one error type for what went wrong.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("empty command")]
    Empty,
    #[error("{program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} still running after {} s, killed", .after.as_secs())]
    TimedOut { program: String, after: Duration },
    #[error("{program} exited with {status}")]
    Failed {
        program: String,
        status: std::process::ExitStatus,
    },
}

/// Runs `argv` (with `env` added) to completion within `timeout`, `stdin` written to it (a
/// command that does not read it is fine). Killed when the time is up.
pub async fn run_bounded(
    argv: &[String],
    env: &[(&str, &std::ffi::OsStr)],
    stdin: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<(), CommandError> {
    let (program, args) = argv.split_first().ok_or(CommandError::Empty)?;
    let mut command = tokio::process::Command::new(program);
    command.args(args).kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = command.spawn().map_err(|source| CommandError::Spawn {
        program: program.clone(),
        source,
    })?;
    let input = child.stdin.take();
    let wait = async move {
        if let (Some(mut pipe), Some(body)) = (input, stdin) {
            // A broken pipe (the command did not read) is not a failure.
            let _ = pipe.write_all(&body).await;
        }
        child.wait().await
    };
    match tokio::time::timeout(timeout, wait).await {
        Err(_) => Err(CommandError::TimedOut {
            program: program.clone(),
            after: timeout,
        }),
        Ok(Err(source)) => Err(CommandError::Spawn {
            program: program.clone(),
            source,
        }),
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(CommandError::Failed {
            program: program.clone(),
            status,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[tokio::test]
    async fn outcomes() {
        let ms = Duration::from_millis;
        let ok = run_bounded(&argv(&["true"]), &[], None, ms(5000)).await;
        assert!(ok.is_ok(), "{ok:?}");
        let failed = run_bounded(&argv(&["sh", "-c", "exit 3"]), &[], None, ms(5000)).await;
        assert!(
            matches!(&failed, Err(CommandError::Failed { status, .. }) if status.code() == Some(3)),
            "{failed:?}"
        );
        let slow = run_bounded(&argv(&["sleep", "5"]), &[], None, ms(100)).await;
        assert!(
            matches!(slow, Err(CommandError::TimedOut { .. })),
            "{slow:?}"
        );
        let missing = run_bounded(&argv(&["/nonexistent/x"]), &[], None, ms(5000)).await;
        assert!(
            matches!(missing, Err(CommandError::Spawn { .. })),
            "{missing:?}"
        );
        let empty = run_bounded(&[], &[], None, ms(5000)).await;
        assert!(matches!(empty, Err(CommandError::Empty)), "{empty:?}");
    }

    #[tokio::test]
    async fn stdin_and_env_reach_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!(
            "cat > {}; echo \"$WHO\" >> {}",
            out.display(),
            out.display()
        );
        let who = std::ffi::OsStr::new("porch");
        run_bounded(
            &argv(&["sh", "-c", &script]),
            &[("WHO", who)],
            Some(b"result\n".to_vec()),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(std::fs::read_to_string(out).unwrap(), "result\nporch\n");
    }
}
