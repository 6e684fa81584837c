//! A loopback listener that counts every connection it receives: the address hostile documents
//! and listings point at, which the service and its card pages must never reach.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::wait;

/// Listens on `127.0.0.1:0` until dropped; each connection is counted and its request line
/// printed (shown with a failing test's output, to say who called).
pub struct CountingListener {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl CountingListener {
    pub async fn start() -> anyhow::Result<CountingListener> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 1024];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                eprintln!(
                    "counting listener got: {}",
                    request.lines().next().unwrap_or("")
                );
            }
        });
        Ok(CountingListener { addr, hits, task })
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The negative assertion: no connection has arrived, and none arrives for `quiet` more
    /// (stray requests can land after the work that made them returned); fails at the first one.
    pub async fn assert_untouched_for(&self, quiet: Duration) -> anyhow::Result<()> {
        wait::never(
            &format!("the counting listener at {} was reached", self.addr),
            quiet,
            async || Ok(self.hits() > 0),
        )
        .await
    }
}

impl Drop for CountingListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}
