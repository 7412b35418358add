//! IPv4 read from the first line of a file, e.g. one a modem script writes on connect.

use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::{DetectFuture, Detection, Detector};

pub struct FileV4 {
    path: PathBuf,
}

impl FileV4 {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }
}

impl Detector<Ipv4Addr> for FileV4 {
    fn source(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn detect(&self) -> DetectFuture<'_, Ipv4Addr> {
        Box::pin(async move {
            match tokio::fs::read_to_string(&self.path).await {
                Ok(text) => first_line_address(&text),
                // Not written yet: the link is down or the modem script has not run.
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    Detection::Unknown(format!("{} does not exist", self.path.display()))
                }
                Err(e) => Detection::Unknown(format!("reading {}: {e}", self.path.display())),
            }
        })
    }
}

/// The address on the first line; a blank first line (or empty file) means no address.
pub fn first_line_address(text: &str) -> Detection<Ipv4Addr> {
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Detection::Empty;
    }
    match line.parse() {
        Ok(ip) => Detection::Found(ip),
        Err(_) => Detection::Unknown(format!(
            "first line {:?} is not an IPv4 address",
            line.chars().take(60).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_lines() {
        let ip = Ipv4Addr::new(81, 2, 69, 142);
        let cases = [
            ("plain", "81.2.69.142", Detection::Found(ip)),
            (
                "newline and spaces",
                "  81.2.69.142 \nsomething else\n",
                Detection::Found(ip),
            ),
            ("crlf", "81.2.69.142\r\n", Detection::Found(ip)),
            ("empty", "", Detection::Empty),
            ("blank first line", "\n81.2.69.142\n", Detection::Empty),
            (
                "garbage",
                "connecting...",
                Detection::Unknown("first line \"connecting...\" is not an IPv4 address".into()),
            ),
            (
                "ipv6",
                "2001:db8::1",
                Detection::Unknown("first line \"2001:db8::1\" is not an IPv4 address".into()),
            ),
        ];
        for (name, text, want) in cases {
            assert_eq!(first_line_address(text), want, "{name}");
        }
    }

    #[tokio::test]
    async fn missing_file_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let detector = FileV4::new(&dir.path().join("ip"));
        assert!(matches!(detector.detect().await, Detection::Unknown(_)));
        std::fs::write(dir.path().join("ip"), "81.2.69.142\n").unwrap();
        assert_eq!(
            detector.detect().await,
            Detection::Found(Ipv4Addr::new(81, 2, 69, 142))
        );
    }
}
