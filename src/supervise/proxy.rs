//! The port proxy of a `proxy = true` process: devloop listens on the
//! process's port itself and forwards each connection, bytes untouched, to
//! the instance serving on its private port. The process task switches the
//! backend when a new instance is ready, so a restart refuses nothing:
//! connections that come while no instance is ready wait for one.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout, timeout_at};

/// How soon a refused connection to the backend is tried again.
const RETRY: Duration = Duration::from_millis(20);

/// Where new connections go. A process that is down has no proxy at all,
/// so its port refuses connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// No instance is ready: connections wait for one.
    Starting,
    /// The instance listening on this private port serves.
    Serving(u16),
}

/// The listeners of one process; dropping it closes them.
#[derive(Debug)]
pub struct Proxy {
    backend: watch::Sender<Backend>,
    listeners: Vec<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on `port` at 127.0.0.1 and ::1. Connections wait for a backend
    /// at most `budget`, retrying one that refuses for a moment.
    pub async fn bind(port: u16, budget: Duration) -> io::Result<Proxy> {
        let (backend, _) = watch::channel(Backend::Starting);
        let mut bound = vec![TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?];
        // A host without IPv6 has no ::1; IPv4 alone still serves.
        if let Ok(v6) = TcpListener::bind((Ipv6Addr::LOCALHOST, port)).await {
            bound.push(v6);
        }
        let listeners = bound
            .into_iter()
            .map(|listener| tokio::spawn(accept(listener, backend.subscribe(), budget)))
            .collect();
        Ok(Proxy { backend, listeners })
    }

    pub fn set(&self, backend: Backend) {
        self.backend.send_replace(backend);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        for listener in &self.listeners {
            listener.abort();
        }
    }
}

/// A free port on loopback for the next instance. Another program may take it
/// before the instance binds it; the instance then fails like any start.
pub fn private_port() -> io::Result<u16> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

async fn accept(listener: TcpListener, backend: watch::Receiver<Backend>, budget: Duration) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                let _ = client.set_nodelay(true);
                tokio::spawn(forward(client, backend.clone(), budget));
            }
            // Out of file descriptors, most likely: let some close.
            Err(_) => sleep(RETRY).await,
        }
    }
}

/// Copies both ways until either side closes (8 KiB buffers each way).
async fn forward(mut client: TcpStream, mut backend: watch::Receiver<Backend>, budget: Duration) {
    let deadline = Instant::now() + budget;
    if let Some(mut server) = connect(&mut backend, deadline).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}

/// A connection to the serving instance: waits while none is ready, and
/// tries again while it refuses, until `deadline`. None: give up and close.
async fn connect(backend: &mut watch::Receiver<Backend>, deadline: Instant) -> Option<TcpStream> {
    loop {
        let port = {
            let ready = backend.wait_for(|b| *b != Backend::Starting);
            match *timeout_at(deadline, ready).await.ok()?.ok()? {
                Backend::Serving(port) => port,
                Backend::Starting => return None,
            }
        };
        match dial(port).await {
            Ok(server) => return Some(server),
            Err(_) if Instant::now() < deadline => {
                // Sooner when the backend is switched meanwhile.
                let _ = timeout(RETRY, backend.changed()).await;
            }
            Err(_) => return None,
        }
    }
}

/// A server may listen on IPv4 or IPv6 loopback only.
async fn dial(port: u16) -> io::Result<TcpStream> {
    let server = match TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await {
        Ok(server) => server,
        Err(first) => TcpStream::connect((Ipv6Addr::LOCALHOST, port))
            .await
            .map_err(|_| first)?,
    };
    let _ = server.set_nodelay(true);
    Ok(server)
}

#[cfg(test)]
mod tests;
