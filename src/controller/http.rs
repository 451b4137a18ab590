//! The operator's small HTTP endpoint: `/healthz`, `/readyz` and Prometheus `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::metrics::Metrics;

/// Shared health state.
#[derive(Clone, Default)]
pub struct Health {
    ready: Arc<AtomicBool>,
}

impl Health {
    /// Mark the operator ready (caches synced, or standing by as a non-leader).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

/// The response to a request line's path: status code, content type, body.
pub fn respond(path: &str, health: &Health, metrics: &Metrics) -> (u16, &'static str, String) {
    match path.split('?').next().unwrap_or_default() {
        "/healthz" | "/livez" => (200, "text/plain", "ok\n".into()),
        "/readyz" if health.is_ready() => (200, "text/plain", "ok\n".into()),
        "/readyz" => (503, "text/plain", "not ready\n".into()),
        "/metrics" => (
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        _ => (404, "text/plain", "not found\n".into()),
    }
}

/// Bind `addr`; returns the listener (its local address tells the port when `addr` used 0).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serve until the task is dropped.
pub async fn serve(listener: TcpListener, health: Health, metrics: Metrics) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let health = health.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut len = 0;
            // Read until the end of the request head (or the buffer is full).
            while len < buf.len() {
                match tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    stream.read(&mut buf[len..]),
                )
                .await
                {
                    Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => {
                        len += n;
                        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                }
            }
            let head = String::from_utf8_lossy(&buf[..len]);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let (code, content_type, body) = respond(path, &health, &metrics);
            let reason = match code {
                200 => "OK",
                503 => "Service Unavailable",
                _ => "Not Found",
            };
            let response = format!(
                "HTTP/1.1 {code} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let h = Health::default();
        let m = Metrics::default();
        assert_eq!(respond("/healthz", &h, &m).0, 200);
        assert_eq!(respond("/readyz", &h, &m).0, 503);
        h.set_ready(true);
        assert_eq!(respond("/readyz", &h, &m).0, 200);
        assert_eq!(respond("/metrics", &h, &m).0, 200);
        assert_eq!(respond("/nope", &h, &m).0, 404);
    }
}
