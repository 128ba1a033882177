use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An echo server on a port of the kernel's choosing.
async fn echo() -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut read, mut write) = socket.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    (port, task)
}

async fn proxy(budget: Duration) -> (Proxy, u16) {
    let port = private_port().unwrap();
    (Proxy::bind(port, budget).await.unwrap(), port)
}

async fn round_trip(port: u16) -> io::Result<Vec<u8>> {
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
    client.write_all(b"ping").await?;
    let mut answer = vec![0; 4];
    client.read_exact(&mut answer).await?;
    Ok(answer)
}

#[tokio::test]
async fn a_connection_waits_for_the_first_instance() {
    let (proxy, port) = proxy(Duration::from_secs(10)).await;
    let client = tokio::spawn(round_trip(port));
    sleep(Duration::from_millis(100)).await;
    assert!(!client.is_finished(), "answered with no backend");
    let (backend, _server) = echo().await;
    proxy.set(Backend::Serving(backend));
    assert_eq!(client.await.unwrap().unwrap(), b"ping");
}

#[tokio::test]
async fn a_refusing_backend_is_tried_again_within_the_budget() {
    let (proxy, port) = proxy(Duration::from_secs(10)).await;
    let backend = private_port().unwrap();
    proxy.set(Backend::Serving(backend));
    let client = tokio::spawn(round_trip(port));
    sleep(Duration::from_millis(100)).await;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, backend))
        .await
        .unwrap();
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut ping = [0; 4];
    socket.read_exact(&mut ping).await.unwrap();
    socket.write_all(&ping).await.unwrap();
    assert_eq!(client.await.unwrap().unwrap(), b"ping");
}

#[tokio::test]
async fn switching_moves_new_connections_and_keeps_old_ones() {
    let (proxy, port) = proxy(Duration::from_secs(10)).await;
    let (first, _a) = echo().await;
    proxy.set(Backend::Serving(first));
    let mut old = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .unwrap();
    old.write_all(b"one").await.unwrap();
    let mut answer = [0; 3];
    old.read_exact(&mut answer).await.unwrap();
    let (second, _b) = echo().await;
    proxy.set(Backend::Serving(second));
    assert_eq!(round_trip(port).await.unwrap(), b"ping");
    old.write_all(b"two").await.unwrap();
    old.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"two", "a connection stays on its instance");
}

#[tokio::test]
async fn no_instance_within_the_budget_closes_the_connection() {
    let (_proxy, port) = proxy(Duration::from_millis(200)).await;
    assert!(round_trip(port).await.is_err());
}

#[tokio::test]
async fn dropping_the_proxy_closes_the_port() {
    let (proxy, port) = proxy(Duration::from_secs(1)).await;
    drop(proxy);
    // The abort lands at the listener task's next poll.
    let refused = async {
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .is_ok()
        {
            sleep(Duration::from_millis(10)).await;
        }
    };
    assert!(timeout(Duration::from_secs(5), refused).await.is_ok());
}

#[tokio::test]
async fn ipv6_loopback_is_served_too_when_the_host_has_it() {
    if std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_err() {
        eprintln!("no ::1 on this host: IPv4 alone is served");
        return;
    }
    let (proxy, port) = proxy(Duration::from_secs(10)).await;
    let (backend, _server) = echo().await;
    proxy.set(Backend::Serving(backend));
    let mut client = TcpStream::connect((Ipv6Addr::LOCALHOST, port))
        .await
        .unwrap();
    client.write_all(b"six").await.unwrap();
    let mut answer = [0; 3];
    client.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"six");
}
