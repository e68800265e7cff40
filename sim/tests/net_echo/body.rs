// An echo server and its clients, written against tokio's API. `net_echo.rs` includes
// this file twice: once after `use tokio::net::...; use tokio::spawn;` (real tokio, on
// loopback) and once after `use sim::net::...; use sim::spawn;` (the simulator): only
// the `use` lines differ.

/// Accepts connections forever; each gets a task that echoes until EOF.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (mut socket, _) = listener.accept().await?;
        spawn(async move {
            let mut buf = vec![0; 1024];
            loop {
                let n = match socket.read(&mut buf).await {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(_) => return,
                };
                if socket.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Sends `rounds` messages and checks each comes back whole (reading exactly its
/// length: bytes may arrive in pieces).
pub async fn client(addr: std::net::SocketAddr, id: usize, rounds: usize) -> std::io::Result<usize> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut total = 0;
    for round in 0..rounds {
        let msg = format!("client {id} round {round}");
        stream.write_all(msg.as_bytes()).await?;
        let mut back = vec![0; msg.len()];
        stream.read_exact(&mut back).await?;
        assert_eq!(back, msg.as_bytes());
        total += back.len();
    }
    stream.shutdown().await?;
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await?;
    assert!(rest.is_empty());
    Ok(total)
}

/// A server on 127.0.0.1 and `clients` clients, in one process.
pub async fn echo(clients: usize, rounds: usize) -> usize {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    spawn(serve(listener));
    let mut handles = Vec::new();
    for id in 0..clients {
        handles.push(spawn(client(addr, id, rounds)));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap().unwrap();
    }
    total
}
