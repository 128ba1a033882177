//! How one instance of a `proxy = true` process is run: with PORT set to its
//! private port, and its health probes sent there rather than to the port
//! devloop holds (which would answer from the instance already serving).
//! DEVLOOP_INSTANCE (0 or 1) differs between two instances running at once,
//! for servers that lock a build directory (Next.js 16 locks its `distDir`).

use crate::config::{Health, Probe, ProcessConfig};
use std::time::Duration;

/// The configuration of an instance on `private`.
pub fn on_port(config: &ProcessConfig, private: u16, slot: u8) -> ProcessConfig {
    let mut instance = config.clone();
    // Last, so it wins over a PORT in `env`: the proxy forwards there.
    instance.env.push(("PORT".into(), private.to_string()));
    instance
        .env
        .push(("DEVLOOP_INSTANCE".into(), slot.to_string()));
    let public = config.port;
    instance.health = Some(match &config.health {
        Some(health) => Health {
            probe: rewrite(&health.probe, public, private),
            ..health.clone()
        },
        // Without a probe, ready means its port accepts.
        None => Health {
            probe: Probe::Tcp(private),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            retries: 3,
        },
    });
    instance
}

/// A probe of the public port, aimed at the private one instead.
fn rewrite(probe: &Probe, public: Option<u16>, private: u16) -> Probe {
    match probe {
        Probe::Tcp(port) if Some(*port) == public => Probe::Tcp(private),
        Probe::Http(url) => Probe::Http(rewrite_url(url, public, private)),
        other => other.clone(),
    }
}

fn rewrite_url(url: &str, public: Option<u16>, private: u16) -> String {
    let Ok((_, port, _)) = super::health::parse_http_url(url) else {
        return url.to_string();
    };
    if Some(port) != public {
        return url.to_string();
    }
    let rest = &url["http://".len()..];
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => host,
        _ => authority,
    };
    format!("http://{host}:{private}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_of_the_public_port_go_to_the_private_one() {
        let to = |url: &str| rewrite_url(url, Some(3000), 41234);
        assert_eq!(
            to("http://127.0.0.1:3000/h?x"),
            "http://127.0.0.1:41234/h?x"
        );
        assert_eq!(to("http://[::1]:3000"), "http://[::1]:41234");
        assert_eq!(to("http://localhost:3001/h"), "http://localhost:3001/h");
        assert_eq!(to("http://localhost/h"), "http://localhost/h");
        assert_eq!(rewrite(&Probe::Tcp(3000), Some(3000), 5), Probe::Tcp(5));
        assert_eq!(rewrite(&Probe::Tcp(3001), Some(3000), 5), Probe::Tcp(3001));
        let exec = Probe::Exec("curl localhost:$PORT".into());
        assert_eq!(rewrite(&exec, Some(3000), 5), exec);
    }
}
