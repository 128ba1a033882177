//! Health probes: an HTTP/1.1 GET (2xx is healthy), a TCP connect, or a
//! command (exit 0 is healthy), each bounded by the probe's timeout; and the
//! loop that checks one run of a process at every interval.

use crate::child::group::{shell, signal_group, spawn};
use crate::config::{Health, Probe};
use rustix::process::Signal;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Where exec probes run: the process's workspace and directory, with its
/// `env` (and, with `proxy`, the instance's PORT).
#[derive(Debug, Clone)]
pub struct ProbeDir {
    pub root: PathBuf,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
}

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("timed out")]
    TimedOut,
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no HTTP status line in the answer")]
    NoStatusLine,
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("exit code {0}")]
    Exit(i32),
    #[error("killed by a signal")]
    Killed,
}

/// An http health URL that devloop cannot probe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("`{0}` is not an http:// URL")]
    NotHttp(String),
    #[error("bad port in `{0}`")]
    BadPort(String),
    #[error("no host in `{0}`")]
    NoHost(String),
}

/// How often a process that has not passed yet is probed: a server is
/// usually up within a fraction of a second, and "ready" should say so.
const STARTING_INTERVAL: Duration = Duration::from_millis(100);

/// Probes now, then every `interval` (more often until the first pass),
/// sending each result, until the receiver is gone (the run ended).
pub async fn watch(health: Health, dir: ProbeDir, results: mpsc::Sender<bool>) {
    let mut passed = false;
    loop {
        let healthy = check(&health.probe, health.timeout, &dir).await.is_ok();
        if results.send(healthy).await.is_err() {
            return;
        }
        passed |= healthy;
        let wait = if passed {
            health.interval
        } else {
            health.interval.min(STARTING_INTERVAL)
        };
        tokio::time::sleep(wait).await;
    }
}

/// One probe within `limit`.
pub async fn check(probe: &Probe, limit: Duration, dir: &ProbeDir) -> Result<(), ProbeError> {
    let attempt = async {
        match probe {
            Probe::Http(url) => http(url).await,
            Probe::Tcp(port) => tcp(*port).await,
            Probe::Exec(command) => exec(command, dir).await,
        }
    };
    timeout(limit, attempt)
        .await
        .unwrap_or(Err(ProbeError::TimedOut))
}

async fn tcp(port: u16) -> Result<(), ProbeError> {
    // A server may listen on IPv4 or IPv6 loopback only.
    match TcpStream::connect(("127.0.0.1", port)).await {
        Ok(_) => Ok(()),
        Err(first) => TcpStream::connect(("::1", port))
            .await
            .map(drop)
            .map_err(|_| first.into()),
    }
}

async fn http(url: &str) -> Result<(), ProbeError> {
    let (host, port, path) = parse_http_url(url)?;
    let mut stream = TcpStream::connect((host.as_str(), port)).await?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    // Only the status line matters; it fits in the first reads.
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let status = status_code(&head).ok_or(ProbeError::NoStatusLine)?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(ProbeError::Status(status))
    }
}

/// `http://host[:port][/path]` into its parts (port 80 by default).
pub fn parse_http_url(url: &str) -> Result<(String, u16, String), UrlError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| UrlError::NotHttp(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => {
            let port = port
                .parse()
                .map_err(|_| UrlError::BadPort(url.to_string()))?;
            (host, port)
        }
        _ => (authority, 80),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(UrlError::NoHost(url.to_string()));
    }
    Ok((host.to_string(), port, path.to_string()))
}

fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut words = text.split_whitespace();
    words.next().filter(|v| v.starts_with("HTTP/"))?;
    words.next()?.parse().ok()
}

/// Kills the probe's group if the probe is dropped half-way (timeout, or the
/// run it checks ended), so no probe outlives its check.
struct GroupGuard(u32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        signal_group(self.0, Signal::KILL);
    }
}

async fn exec(command: &str, dir: &ProbeDir) -> Result<(), ProbeError> {
    let mut cmd = shell(command, &dir.root, &dir.root.join(&dir.cwd));
    cmd.envs(dir.env.iter().map(|(k, v)| (k, v)));
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = spawn(&mut cmd).map_err(|source| ProbeError::Spawn {
        command: command.to_string(),
        source,
    })?;
    let _guard = GroupGuard(child.id().unwrap_or(0));
    let status = child.wait().await?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(ProbeError::Exit(code)),
        None => Err(ProbeError::Killed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let parts = |url| parse_http_url(url).unwrap();
        assert_eq!(
            parts("http://127.0.0.1:3000/api/health"),
            ("127.0.0.1".into(), 3000, "/api/health".into())
        );
        assert_eq!(
            parts("http://localhost"),
            ("localhost".into(), 80, "/".into())
        );
        assert_eq!(
            parts("http://[::1]:8080/x?y"),
            ("::1".into(), 8080, "/x?y".into())
        );
        assert!(parse_http_url("http://:80/").is_err());
        assert!(parse_http_url("http://host:99999/").is_err());
        assert!(parse_http_url("https://host/").is_err());
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(status_code(b"HTTP/1.0 500 Oops\r\nX: y\r\n"), Some(500));
        assert_eq!(status_code(b"SSH-2.0\r\n"), None);
        assert_eq!(status_code(b""), None);
    }

    #[tokio::test]
    async fn exec_and_tcp_probes() {
        let dir = ProbeDir {
            root: std::env::temp_dir(),
            cwd: PathBuf::new(),
            env: vec![("CODE".into(), "3".into())],
        };
        let second = Duration::from_secs(5);
        assert!(
            check(&Probe::Exec("true".into()), second, &dir)
                .await
                .is_ok()
        );
        let failed = check(&Probe::Exec("exit $CODE".into()), second, &dir).await;
        assert!(matches!(failed, Err(ProbeError::Exit(3))), "{failed:?}");
        let slow = Probe::Exec("sleep 5".into());
        let limit = Duration::from_millis(100);
        let slow = check(&slow, limit, &dir).await;
        assert!(matches!(slow, Err(ProbeError::TimedOut)), "{slow:?}");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(check(&Probe::Tcp(port), second, &dir).await.is_ok());
        drop(listener);
        assert!(check(&Probe::Tcp(port), second, &dir).await.is_err());
    }
}
