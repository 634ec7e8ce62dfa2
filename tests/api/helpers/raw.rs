//! Requests over a plain socket, for what an HTTP client library cannot send politely.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::Value;

use super::{Resp, TestApp};

impl TestApp {
    /// Sends a request announcing a `len`-byte body over a plain socket, as the first admin, and
    /// reads the answer before sending the body (a server refuses an oversize body without
    /// reading it, and may close the connection while a client is still writing).
    pub async fn send_oversize(&self, method: &str, path: &str, content_type: &str, len: usize) -> Resp {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let what = format!("{method} {path} ({len} bytes)");
        let addr = self.base.trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n",
            self.token
        );
        stream.write_all(head.as_bytes()).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        // The answer to the head alone, or, if the server reads on, to the whole body.
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut chunk)).await {
            buf.extend_from_slice(&chunk[..n]);
        } else {
            let body = vec![b'x'; len];
            let _ = stream.write_all(&body).await;
        }
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk)).await {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{what}: no HTTP answer: {text:?}"));
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or_default();
        let code: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{what}: {status_line:?}"));
        let mut headers = HeaderMap::new();
        for line in lines {
            let Some((k, v)) = line.split_once(':') else { continue };
            if let (Ok(k), Ok(v)) =
                (header::HeaderName::from_bytes(k.trim().as_bytes()), header::HeaderValue::from_str(v.trim()))
            {
                headers.append(k, v);
            }
        }
        let chunked = headers.get("transfer-encoding").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
        let body = if chunked { dechunk(body) } else { body.to_string() };
        Resp {
            what,
            status: StatusCode::from_u16(code).expect("status"),
            headers,
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
            bytes: body.into_bytes(),
        }
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
