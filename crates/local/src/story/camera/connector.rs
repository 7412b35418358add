//! The `failberry camera watch` process of the camera story: its config file (the Pi's API and
//! secret, the watched folder, the fake Frigate, the `on_result` hook) and the running process.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::fake_nvr::FakeFrigate;
use crate::seed;

/// The `failberry camera watch` process, killed when dropped.
pub struct Connector {
    child: tokio::process::Child,
}

impl Connector {
    pub fn start(client: &Path, config: &Path, log: &Path) -> anyhow::Result<Connector> {
        let log =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = tokio::process::Command::new(client)
            .arg("--config")
            .arg(config)
            .args(["camera", "watch"])
            .env_remove("FAILBERRY_API_URL")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting `failberry camera watch`")?;
        Ok(Connector { child })
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

pub struct Places {
    pub folder: PathBuf,
    pub marks: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
}

/// The connector's config: the Pi's API and secret, a watched folder, Frigate, and an
/// `on_result` hook that keeps each result JSON under `marks/` (what a script for any other NVR
/// would get on stdin).
pub fn write_config(workdir: &Path, api: &str, frigate: &FakeFrigate) -> anyhow::Result<Places> {
    let places = Places {
        folder: workdir.join("nvr-folder"),
        marks: workdir.join("marks"),
        config: workdir.join("camera.toml"),
        log: workdir.join("camera.log"),
    };
    std::fs::create_dir_all(&places.folder)?;
    std::fs::create_dir_all(&places.marks)?;
    let text = format!(
        "[api]\nurl = \"{api}\"\n\n[ddns]\nhostname = \"{host}\"\nsecret_file = \"{secret}\"\n\n\
         [camera]\nqueue_dir = \"{queue}\"\nretry_secs = 1\nresult_poll_secs = 1\n\
         on_result = [\"sh\", \"-c\", \"cat > '{marks}'/\\\"$(basename \\\"$FAILBERRY_CLIP_KEY\\\")\\\".json\"]\n\n\
         [[camera.folder]]\npath = \"{folder}\"\ncamera = \"garden\"\n\n\
         [[camera.frigate]]\nurl = \"{frigate}\"\nuser = \"{user}\"\npassword = \"{password}\"\npoll_secs = 1\n",
        host = seed::HOSTNAME,
        secret = workdir.join("secret").display(),
        queue = workdir.join("camera-queue").display(),
        marks = places.marks.display(),
        folder = places.folder.display(),
        frigate = frigate.nvr.url,
        user = FakeFrigate::USER,
        password = FakeFrigate::PASSWORD,
    );
    std::fs::write(&places.config, text)?;
    Ok(places)
}
