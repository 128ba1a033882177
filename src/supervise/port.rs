//! Who holds a TCP port: the platform's listening sockets and their
//! holder; where the platform cannot tell, a bind attempt says whether the
//! port is taken.

use crate::platform;
use std::collections::BTreeSet;

/// The sockets listening on a port, by inode; empty when it is free.
pub type Sockets = BTreeSet<u64>;

/// What holds a taken port, as far as it can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub name: Option<String>,
}

/// The sockets listening on `port`. Where they cannot be listed, a port
/// that cannot be bound counts as taken by an unknown socket (inode 0).
pub fn listening(port: u16) -> Sockets {
    match platform::listening_sockets(port) {
        Some(sockets) => sockets.into_iter().collect(),
        None if std::net::TcpListener::bind(("0.0.0.0", port)).is_err() => Sockets::from([0]),
        None => Sockets::new(),
    }
}

/// The process with one of `sockets` open. Slow (may read every process's
/// descriptors), so called only when the sockets change.
pub fn holder(sockets: &Sockets) -> Holder {
    let inodes: Vec<u64> = sockets.iter().copied().filter(|&i| i != 0).collect();
    let pid = (!inodes.is_empty())
        .then(|| platform::socket_holder(&inodes))
        .flatten();
    Holder {
        pid,
        name: pid.and_then(platform::program_name),
    }
}

/// The `process_blocked` reason.
pub fn describe(port: u16, holder: &Holder) -> String {
    match (holder.pid, &holder.name) {
        (Some(pid), Some(name)) => {
            format!("port {port} is in use by pid {pid} ({name}); waiting for it to be free")
        }
        (Some(pid), None) => {
            format!("port {port} is in use by pid {pid}; waiting for it to be free")
        }
        _ => format!(
            "port {port} is in use by a program whose pid cannot be read (another user's, or outside this container?); waiting for it to be free"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn names_this_process_as_holder() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sockets = listening(port);
        assert!(!sockets.is_empty());
        let holder = holder(&sockets);
        assert_eq!(holder.pid, Some(std::process::id()));
        assert!(describe(port, &holder).contains(&std::process::id().to_string()));
        drop(listener);
        assert!(listening(port).is_empty());
    }

    #[test]
    fn unknown_holder_says_so() {
        let unknown = Holder {
            pid: None,
            name: None,
        };
        assert!(describe(80, &unknown).contains("cannot be read"));
    }
}
