//! A tiny HTTP/1.1 GET over loopback: enough to poll a dev server, and to
//! tell a refused or reset connection from a slow answer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub enum Got {
    Body(String),
    /// Refused, or reset before a whole answer: the server was not there.
    Refused,
}

pub fn get(port: u16, path: &str) -> Got {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return Got::Refused;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return Got::Refused;
    }
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) if !raw.is_empty() => Got::Body(String::from_utf8_lossy(&raw).into_owned()),
        _ => Got::Refused,
    }
}
