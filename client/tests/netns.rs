//! Binding to an interface, for real: a "Pi" network namespace with two links (veth pairs to two
//! namespaces standing in for the wired and the wireless provider), and on the far side of each a
//! stand-in API at the same address (198.19.0.10), which records which link a request came over.
//! Test-only addresses (198.18.0.0/15, reserved for benchmarking), namespaces named per run and
//! deleted afterwards (their veths with them).
//!
//! Shows that `ddns update` publishes the wireless link's address whatever the default route
//! says, that the watchdog sees the wireless link die (up, but no transit) while the wired one
//! stays up, and that with the documented config (`ipv4_interface = "wl0"`) and the wireless link
//! down, a clip still goes up over the wire (the real local stack and moto run on the wired
//! provider's side for that one). Needs root (or CAP_SYS_ADMIN) for `ip netns add`, and python3 for the stand-in:
//! without them the tests skip, saying why.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const API: &str = "198.19.0.10";
const PI_WIRED: &str = "198.18.1.2";
const PI_WIRELESS: &str = "198.18.2.2";
const SECRET: &str = "netns-test-secret-0123456789";

const STANDIN: &str = r#"
import http.server, json, sys, time
link, log, ready = sys.argv[1], sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def record(self, body):
        with open(log, "a") as f:
            f.write(json.dumps({"link": link, "method": self.command, "path": self.path,
                                "source": self.client_address[0], "body": body}) + "\n")
    def reply(self, doc):
        data = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.record(None)
        self.reply({"ip": self.client_address[0], "time": int(time.time())})
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        self.record(body)
        req = json.loads(body)
        self.reply({"status": "updated", "hostname": req["hostname"], "ipv4": req.get("ipv4"),
                    "ipv6": None, "time": int(time.time())})
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H)
open(ready, "w").close()
server.serve_forever()
"#;

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn in_ns(ns: &str, args: &[&str]) {
    let mut all = vec!["netns", "exec", ns];
    all.extend_from_slice(args);
    let out = Command::new("ip").args(&all).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        all.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The three namespaces, the stand-ins and a temp dir; all removed on drop.
struct Lab {
    pi: String,
    wired: String,
    wireless: String,
    dir: tempfile::TempDir,
    standins: Vec<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.standins {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.pi, &self.wired, &self.wireless] {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

impl Lab {
    /// The lab, or why it cannot be built here.
    fn build() -> Result<Lab, String> {
        let tag = format!("fbt{:06x}", fastrand::u32(..0xff_ffff));
        let pi = format!("{tag}-pi");
        ip(&["netns", "add", &pi])?;
        let mut lab = Lab {
            wired: format!("{tag}-wired"),
            wireless: format!("{tag}-wl"),
            pi,
            dir: tempfile::tempdir().map_err(|e| e.to_string())?,
            standins: Vec::new(),
        };
        if Command::new("python3")
            .arg("-c")
            .arg("pass")
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
        {
            return Err("python3 (the stand-in API) is not installed".into());
        }
        ip(&["netns", "add", &lab.wired])?;
        ip(&["netns", "add", &lab.wireless])?;
        let script = lab.dir.path().join("standin.py");
        std::fs::write(&script, STANDIN).unwrap();
        for (far, pi_if, pi_addr, far_addr, metric, link) in [
            (
                lab.wired.clone(),
                "wired0",
                PI_WIRED,
                "198.18.1.1",
                "100",
                "wired",
            ),
            (
                lab.wireless.clone(),
                "wl0",
                PI_WIRELESS,
                "198.18.2.1",
                "700",
                "wireless",
            ),
        ] {
            ip(&[
                "link", "add", pi_if, "netns", &lab.pi, "type", "veth", "peer", "name", "up0",
                "netns", &far,
            ])?;
            in_ns(
                &lab.pi,
                &["ip", "addr", "add", &format!("{pi_addr}/24"), "dev", pi_if],
            );
            in_ns(&lab.pi, &["ip", "link", "set", pi_if, "up"]);
            in_ns(
                &far,
                &["ip", "addr", "add", &format!("{far_addr}/24"), "dev", "up0"],
            );
            in_ns(&far, &["ip", "link", "set", "up0", "up"]);
            in_ns(&far, &["ip", "link", "set", "lo", "up"]);
            in_ns(
                &far,
                &["ip", "addr", "add", &format!("{API}/32"), "dev", "lo"],
            );
            // Both links have a default route, as NetworkManager gives them; the metric picks one.
            in_ns(
                &lab.pi,
                &[
                    "ip", "route", "add", "default", "via", far_addr, "dev", pi_if, "metric",
                    metric,
                ],
            );
            let ready = lab.dir.path().join(format!("{link}.ready"));
            let child = Command::new("ip")
                .args(["netns", "exec", &far, "python3"])
                .arg(&script)
                .arg(link)
                .arg(lab.log())
                .arg(&ready)
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?;
            lab.standins.push(child);
            let start = Instant::now();
            while !ready.exists() {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "the {link} stand-in did not start"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        in_ns(&lab.pi, &["ip", "link", "set", "lo", "up"]);
        Ok(lab)
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("requests.jsonl")
    }

    /// What the stand-ins recorded, and forget it.
    fn take_requests(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let _ = std::fs::remove_file(self.log());
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Runs the client inside the Pi's namespace; its stderr (the log).
    fn failberry(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.pi, env!("CARGO_BIN_EXE_failberry")])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "failberry {args:?} failed: {stderr}");
        stderr
    }

    fn set_default(&self, via_wireless: bool) {
        let (wired, wireless) = if via_wireless {
            ("900", "100")
        } else {
            ("100", "700")
        };
        for (gw, dev, metric) in [
            ("198.18.1.1", "wired0", wired),
            ("198.18.2.1", "wl0", wireless),
        ] {
            in_ns(&self.pi, &["ip", "route", "del", "default", "dev", dev]);
            in_ns(
                &self.pi,
                &[
                    "ip", "route", "add", "default", "via", gw, "dev", dev, "metric", metric,
                ],
            );
        }
    }
}

fn lab_or_skip() -> Option<Lab> {
    match Lab::build() {
        Ok(lab) => Some(lab),
        Err(reason) => {
            eprintln!("SKIPPED: network namespaces cannot be made here ({reason}); run as root to test interface binding");
            None
        }
    }
}

fn ddns_update(lab: &Lab, interface: Option<&str>) -> Vec<Value> {
    let state = lab.dir.path().join("ddns-state.json");
    let mut args = vec![
        "--config",
        "/nonexistent/config.toml",
        "--api-url",
        "http://198.19.0.10:8080",
        "ddns",
        "update",
        "--force",
        "--hostname",
        "wireless.home.example.com",
        "--secret",
        SECRET,
        "--ipv4",
        "myip",
        "--state-file",
        state.to_str().unwrap(),
    ];
    if let Some(name) = interface {
        args.extend(["--ipv4-interface", name]);
    }
    lab.failberry(&args);
    lab.take_requests()
}

/// (link, method, published ipv4) of each request.
fn summary(requests: &[Value]) -> Vec<(String, String, Option<String>)> {
    requests
        .iter()
        .map(|r| {
            let ipv4 = r["body"]
                .as_str()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                .and_then(|b| b["ipv4"].as_str().map(str::to_string));
            (
                r["link"].as_str().unwrap().to_string(),
                r["method"].as_str().unwrap().to_string(),
                ipv4,
            )
        })
        .collect()
}

#[test]
fn ddns_publishes_the_wireless_address_whatever_the_default_route() {
    let Some(lab) = lab_or_skip() else { return };
    let wireless = vec![
        ("wireless".to_string(), "GET".to_string(), None),
        (
            "wireless".to_string(),
            "POST".to_string(),
            Some(PI_WIRELESS.to_string()),
        ),
    ];
    assert_eq!(
        summary(&ddns_update(&lab, Some("wl0"))),
        wireless,
        "default route via the wired link"
    );

    // The control: unbound, the default route decides (so the test can tell the links apart).
    let unbound = summary(&ddns_update(&lab, None));
    assert_eq!(
        unbound[1],
        (
            "wired".to_string(),
            "POST".to_string(),
            Some(PI_WIRED.to_string())
        )
    );

    lab.set_default(true);
    assert_eq!(
        summary(&ddns_update(&lab, Some("wl0"))),
        wireless,
        "default route via the wireless link"
    );
}

fn watchdog_config(dir: &Path) -> PathBuf {
    let path = dir.join("watchdog.toml");
    let text = format!(
        r#"
[watchdog]
interface = "wl0"
wired_interface = "wired0"
track_ip = ["{API}:8080", "http://{API}:8080/"]
reliability = 1
timeout_secs = 1
interval_secs = 1
down = 2
up = 1
startup_grace_secs = 0
report_interval_secs = 0
state_file = "{state}"
[[watchdog.recovery]]
name = "redial"
command = ["sh", "-c", "echo redial >> {recovery}"]
grace_secs = 600
"#,
        state = dir.join("watchdog-state.json").display(),
        recovery = dir.join("recovery.log").display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `link status changed` events in the JSON log: (link, status).
fn status_changes(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "link status changed")
        .map(|v| {
            let f = &v["fields"];
            (
                f["link"].as_str().unwrap_or("").to_string(),
                f["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn watchdog_sees_the_wireless_link_die_while_the_wired_one_stays_up() {
    let Some(lab) = lab_or_skip() else { return };
    let config = watchdog_config(lab.dir.path());
    let recovery = lab.dir.path().join("recovery.log");
    let run = |rounds: &str| {
        lab.failberry(&[
            "--config",
            config.to_str().unwrap(),
            "--log-format",
            "json",
            "watchdog",
            "--rounds",
            rounds,
        ])
    };

    // Both links carry traffic: nothing changes, nothing runs; both probes answered over each.
    let log = run("2");
    assert_eq!(status_changes(&log), vec![], "{log}");
    assert!(!recovery.exists());
    let links: Vec<String> = lab
        .take_requests()
        .iter()
        .map(|r| r["link"].as_str().unwrap().to_string())
        .collect();
    assert!(
        links.contains(&"wired".to_string()) && links.contains(&"wireless".to_string()),
        "{links:?}"
    );

    // The wireless provider loses transit: wl0 stays up, the API no longer answers through it.
    in_ns(
        &lab.wireless,
        &["ip", "addr", "del", &format!("{API}/32"), "dev", "lo"],
    );
    let log = run("3");
    assert_eq!(
        status_changes(&log),
        vec![("wireless".to_string(), "Down".to_string())],
        "only the wireless link goes down: {log}"
    );
    assert_eq!(
        std::fs::read_to_string(&recovery).unwrap(),
        "redial\n",
        "the first step ran once"
    );
    let after: Vec<String> = lab
        .take_requests()
        .iter()
        .map(|r| r["link"].as_str().unwrap().to_string())
        .collect();
    assert!(
        after.iter().all(|l| l == "wired") && !after.is_empty(),
        "{after:?}"
    );
}

/// Waits until something answers TCP on `addr` from inside `ns`.
fn wait_for_port(ns: &str, addr: &str, port: u16, what: &str) {
    let probe = format!("import socket; socket.create_connection(('{addr}', {port}), 1)");
    let start = Instant::now();
    loop {
        let ok = Command::new("ip")
            .args(["netns", "exec", ns, "python3", "-c", &probe])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} did not start listening on {addr}:{port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The camera path signs as the device but is not DDNS: its requests leave by the default route,
/// so a dead wireless link (here: `wl0` down, the very interface DDNS detection is bound to)
/// does not stop clips going up over the wire.
#[test]
fn a_clip_is_stored_over_the_wire_while_the_wireless_link_is_down() {
    let Some(mut lab) = lab_or_skip() else { return };
    let stack_bin = Path::new(env!("CARGO_BIN_EXE_failberry")).with_file_name("failberry-local");
    let moto_bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
    if !stack_bin.exists() || !moto_bin.exists() {
        eprintln!(
            "SKIPPED: {} or {} is missing (`make test` builds and installs both)",
            stack_bin.display(),
            moto_bin.display()
        );
        return;
    }
    // The real stack and its emulator, reachable only through the wired provider.
    let moto = Command::new("ip")
        .args(["netns", "exec", &lab.wired])
        .arg(&moto_bin)
        .args(["-H", API, "-p", "5000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    lab.standins.push(moto);
    wait_for_port(&lab.wired, API, 5000, "moto");
    let stack_log = std::fs::File::create(lab.dir.path().join("stack.log")).unwrap();
    let stack = Command::new("ip")
        .args(["netns", "exec", &lab.wired])
        .arg(&stack_bin)
        .args(["--moto-url", &format!("http://{API}:5000"), "serve"])
        .args(["--host", API, "--port", "8081"])
        .stdout(Stdio::null())
        .stderr(stack_log)
        .spawn()
        .unwrap();
    lab.standins.push(stack);
    wait_for_port(&lab.wired, API, 8081, "the local stack");

    let clips = lab.dir.path().join("clips");
    std::fs::create_dir_all(&clips).unwrap();
    let config = lab.dir.path().join("camera.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[api]
url = "http://{API}:8081"
[ddns]
hostname = "wireless.home.example.com"
secret = "demo-secret-change-me-0123456789"
ipv4 = "myip"
ipv4_interface = "wl0"
[camera]
queue_dir = "{queue}"
retry_secs = 1
result_poll_secs = 1
[[camera.folder]]
path = "{clips}"
camera = "porch"
mode = "poll"
stable_secs = 1
poll_secs = 1
"#,
            queue = lab.dir.path().join("queue").display(),
            clips = clips.display(),
        ),
    )
    .unwrap();
    in_ns(&lab.pi, &["ip", "link", "set", "wl0", "down"]);
    std::fs::write(clips.join("porch-1.mp4"), vec![7u8; 300_000]).unwrap();

    let log_path = lab.dir.path().join("camera.log");
    let mut connector = Command::new("ip")
        .args(["netns", "exec", &lab.pi, env!("CARGO_BIN_EXE_failberry")])
        .args(["--config", config.to_str().unwrap(), "--log-format", "json"])
        .args(["camera", "watch"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let stored = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let stored: Vec<Value> = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["fields"]["message"] == "clip stored")
            .collect();
        if !stored.is_empty() || start.elapsed() > Duration::from_secs(60) {
            break stored;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let _ = connector.kill();
    let _ = connector.wait();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert_eq!(
        stored.len(),
        1,
        "the clip was not stored over the wire: {log}"
    );
    let key = stored[0]["fields"]["key"].as_str().unwrap_or_default();
    assert!(
        key.contains("incoming/wireless.home.example.com/porch/") && key.contains("porch-1.mp4"),
        "{key}"
    );
}
