//! Who holds a TCP port: its listening sockets in /proc/net/tcp and tcp6,
//! then the process that has one of those sockets open among /proc/*/fd.
//! Where /proc cannot tell, a bind attempt says whether the port is taken.

use std::collections::BTreeSet;

/// A listening socket's inode in /proc/net/tcp's `st` column.
const LISTEN: &str = "0A";

/// The sockets listening on a port, by inode; empty when it is free.
pub type Sockets = BTreeSet<u64>;

/// What holds a taken port, as far as it can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub name: Option<String>,
}

/// The sockets listening on `port`. Without /proc, a port that cannot be
/// bound counts as taken by an unknown socket (inode 0).
pub fn listening(port: u16) -> Sockets {
    let mut sockets = Sockets::new();
    let mut read_any = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            read_any = true;
            sockets.extend(parse_listening(&text, port));
        }
    }
    if !read_any && std::net::TcpListener::bind(("0.0.0.0", port)).is_err() {
        sockets.insert(0);
    }
    sockets
}

/// Inodes of the LISTEN sockets on `port` in a /proc/net/tcp table.
pub fn parse_listening(table: &str, port: u16) -> impl Iterator<Item = u64> + '_ {
    table.lines().skip(1).filter_map(move |line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local = fields.get(1)?;
        let local_port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
        if local_port != port || *fields.get(3)? != LISTEN {
            return None;
        }
        fields.get(9)?.parse().ok()
    })
}

/// The process with one of `sockets` open. Slow (reads every process's fds),
/// so called only when the sockets change.
pub fn holder(sockets: &Sockets) -> Holder {
    let links: Vec<String> = sockets.iter().map(|i| format!("socket:[{i}]")).collect();
    let found = std::fs::read_dir("/proc").ok().and_then(|procs| {
        procs.flatten().find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let fds = std::fs::read_dir(entry.path().join("fd")).ok()?;
            let holds = fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| links.iter().any(|l| target.as_os_str() == l.as_str()))
            });
            holds.then_some(pid)
        })
    });
    Holder {
        pid: found,
        name: found.and_then(program_name),
    }
}

fn program_name(pid: u32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim().to_string()).filter(|n| !n.is_empty())
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

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0
   1: 0100007F:0BB8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 5555 1 0 20 4 30 10 -1
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0 100 0 0 10 0
garbage
";

    #[test]
    fn finds_only_listening_sockets_on_the_port() {
        assert_eq!(parse_listening(TABLE, 3000).collect::<Vec<_>>(), [4242]);
        assert_eq!(parse_listening(TABLE, 8080).collect::<Vec<_>>(), [777]);
        assert_eq!(parse_listening(TABLE, 1).count(), 0);
    }

    #[test]
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
