//! The Raspberry Pi of the stories: the real `failberry` client binary, run as the Pi runs it.
//! `Pi` is its `ddns update` with a config file written for the stack (its mobile address read
//! from a file, as a modem script fills it on a real Pi); `Endpoint` is one `health serve`
//! process standing for one link.
//!
//! On loopback every request comes from 127.0.0.1, so the Pi reads its address from that file
//! instead of asking `/v1/myip`; everything after detection is the real path.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::seed;

/// The Pi's `ddns update`, configured for the stack.
pub struct Pi {
    client: PathBuf,
    config: PathBuf,
    ip_file: PathBuf,
}

impl Pi {
    /// Writes the Pi's config, secret and (empty) state under `workdir` for the API at `api`.
    pub fn set_up(client: &Path, workdir: &Path, api: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(workdir)?;
        let ip_file = workdir.join("modem-ip");
        let config = workdir.join("config.toml");
        std::fs::write(workdir.join("secret"), seed::SECRET)?;
        std::fs::write(
            &config,
            format!(
                "[api]\nurl = \"{api}\"\n\n[ddns]\nhostname = \"{host}\"\nsecret_file = \"{secret}\"\nipv4 = \"file\"\nipv4_file = \"{ip}\"\nstate_file = \"{state}\"\n",
                host = seed::HOSTNAME,
                secret = workdir.join("secret").display(),
                ip = ip_file.display(),
                state = workdir.join("ddns-state.json").display(),
            ),
        )?;
        Ok(Self {
            client: client.to_path_buf(),
            config,
            ip_file,
        })
    }

    pub fn client(&self) -> &Path {
        &self.client
    }

    /// The carrier hands the modem `ip`.
    pub fn modem_gets(&self, ip: &str) -> anyhow::Result<()> {
        std::fs::write(&self.ip_file, format!("{ip}\n"))
            .with_context(|| format!("writing {}", self.ip_file.display()))
    }

    /// Runs `failberry ddns update` once; whether it exited 0. Its log goes beside the config,
    /// under a `--- step` line.
    pub async fn update(&self, step: &str) -> anyhow::Result<bool> {
        let out = tokio::process::Command::new(&self.client)
            .arg("--config")
            .arg(&self.config)
            .args(["ddns", "update"])
            .env_remove("FAILBERRY_API_URL")
            .output()
            .await
            .with_context(|| format!("running {}", self.client.display()))?;
        let log = self.config.with_file_name("client.log");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        writeln!(file, "--- {step}")?;
        file.write_all(&out.stderr)?;
        Ok(out.status.success())
    }
}

/// A `failberry health serve` process standing for one link.
pub struct Endpoint {
    child: Option<tokio::process::Child>,
    listen: String,
}

impl Endpoint {
    /// Starts an endpoint on a free port of `ip` (a loopback address of its own).
    pub async fn start(client: &Path, ip: &str) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind((ip, 0))?.local_addr()?.port();
        let mut e = Endpoint {
            child: None,
            listen: format!("{ip}:{port}"),
        };
        e.restart(client).await?;
        Ok(e)
    }

    pub fn listen(&self) -> &str {
        &self.listen
    }

    pub async fn restart(&mut self, client: &Path) -> anyhow::Result<()> {
        let child = tokio::process::Command::new(client)
            .args([
                "--config",
                "/nonexistent/failberry.toml",
                "health",
                "serve",
                "--listen",
                &self.listen,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting `failberry health serve`")?;
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(&self.listen).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!("the health endpoint on {} did not come up", self.listen)
    }

    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}
