//! What a person reads when the platform cannot be reached or answers with an error:
//! each failure class produced for real (a closed port, a name that does not
//! resolve, a server that never answers, one that hangs up, https to a plain-HTTP
//! server, a TLS server whose certificate this device does not trust, a gateway's
//! 502 page, 503, revoked and expired tokens, an answer that is not ours), and the
//! Chinese sentence the client turns it into: what happened and what to do, with
//! the technical cause kept apart for the log.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use jiandu_sync::{ApiClient, NetKind, SyncError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One pull through a client with a short timeout.
async fn pull(url: &str) -> SyncError {
    let client = ApiClient::new(url, Duration::from_millis(1500)).unwrap();
    client
        .pull("test-token", 0, 10)
        .await
        .expect_err("this server cannot give a pull page")
}

/// A server that reads each request's head and answers `response` (raw HTTP), or
/// closes without answering when `response` is empty. Bytes that are not HTTP (a
/// TLS handshake) get a 400 at once, as a plain-HTTP server answers them.
async fn raw_server(response: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                    if !head[0].is_ascii_uppercase() {
                        let bad = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                        let _ = conn.write_all(bad.as_bytes()).await;
                        let _ = conn.shutdown().await;
                        return;
                    }
                }
                if !response.is_empty() {
                    let _ = conn.write_all(response.as_bytes()).await;
                }
                let _ = conn.shutdown().await;
            });
        }
    });
    addr
}

fn http(status: &str, content_type: &str, body: &str) -> &'static str {
    Box::leak(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    )
}

/// The person reads Chinese, never the network library's English.
fn assert_readable(e: &SyncError) {
    let text = e.to_string();
    assert!(
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "not Chinese: {text}"
    );
    for english in [
        "error",
        "request",
        "connection",
        "tcp",
        "dns",
        "certificate",
    ] {
        assert!(
            !text.to_lowercase().contains(english),
            "library words reach the person: {text}"
        );
    }
}

fn net_kind(e: &SyncError) -> NetKind {
    match e {
        SyncError::Network(n) => n.kind,
        other => panic!("expected a network failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_failures_read_as_what_to_do() {
    // Nothing listens on a port just released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let e = pull(&url).await;
    assert_eq!(net_kind(&e), NetKind::Refused, "{}", e.detail());
    assert!(e.to_string().starts_with("服务器拒绝连接"), "{e}");
    assert!(e.to_string().contains("修改已保存在本机"), "{e}");
    assert!(e.is_transient() && e.code() == "network");
    assert_readable(&e);
    assert!(
        e.detail().to_lowercase().contains("refused"),
        "the log keeps the cause: {}",
        e.detail()
    );

    // .invalid never resolves (RFC 6761).
    let e = pull("http://jiandu-platform.invalid").await;
    assert_eq!(net_kind(&e), NetKind::NameNotResolved, "{}", e.detail());
    assert!(e.to_string().starts_with("找不到服务器"), "{e}");
    assert_readable(&e);

    // Accepts the connection and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let e = pull(&format!("http://{silent}")).await;
    assert_eq!(net_kind(&e), NetKind::Timeout, "{}", e.detail());
    assert!(e.to_string().contains("超时"), "{e}");
    assert_readable(&e);

    // Reads the request and hangs up.
    let e = pull(&format!("http://{}", raw_server("").await)).await;
    assert_eq!(net_kind(&e), NetKind::Cut, "{}", e.detail());
    assert!(e.to_string().starts_with("与服务器的连接中断"), "{e}");
    assert_readable(&e);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_failures_say_which_one() {
    // https:// to a plain-HTTP server.
    let plain = raw_server(http("200 OK", "application/json", "{}")).await;
    let e = pull(&format!("https://{plain}")).await;
    assert_eq!(net_kind(&e), NetKind::Tls, "{}", e.detail());
    assert!(e.to_string().contains("http:// 还是 https://"), "{e}");
    assert_readable(&e);

    // A TLS server with a self-signed certificate (tests/testdata, made with
    // openssl for 127.0.0.1): no trusted authority signed it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rustls::pki_types::CertificateDer::from(
        include_bytes!("testdata/untrusted-cert.der").to_vec(),
    );
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
        include_bytes!("testdata/untrusted-key.der").to_vec().into(),
    );
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // The handshake fails on the device's side; nothing more to do.
                let _ = acceptor.accept(conn).await;
            });
        }
    });
    let e = pull(&format!("https://{tls}")).await;
    assert_eq!(
        net_kind(&e),
        NetKind::UntrustedCertificate,
        "{}",
        e.detail()
    );
    assert!(e.to_string().starts_with("服务器证书不受信任"), "{e}");
    assert_readable(&e);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_read_by_status() {
    let cases: [(&'static str, &str, bool); 6] = [
        (
            http(
                "503 Service Unavailable",
                "application/json",
                r#"{"code":"unavailable","message":"服务暂时不可用，请稍后重试"}"#,
            ),
            "平台暂时不可用（HTTP 503）",
            true,
        ),
        (
            http(
                "502 Bad Gateway",
                "text/html",
                "<html><body>502 Bad Gateway</body></html>",
            ),
            "平台暂时无法访问（HTTP 502）",
            true,
        ),
        (
            http("500 Internal Server Error", "text/plain", "oops"),
            "平台内部出错（HTTP 500）",
            true,
        ),
        (
            http("404 Not Found", "text/html", "<h1>Not Found</h1>"),
            "服务器返回了无法识别的错误（HTTP 404）：请核对服务器地址是否为监督平台",
            false,
        ),
        (
            http(
                "401 Unauthorized",
                "application/json",
                r#"{"code":"unauthorized","message":"令牌无效"}"#,
            ),
            "平台不再认可本机的登记（登录已失效）：请退出登录后重新登录",
            false,
        ),
        (
            http(
                "200 OK",
                "text/html",
                "<html>captive portal: please log in</html>",
            ),
            "平台的答复无法识别",
            true,
        ),
    ];
    for (response, want, transient) in cases {
        let e = pull(&format!("http://{}", raw_server(response).await)).await;
        assert!(e.to_string().starts_with(want), "{want}: {e}");
        assert_eq!(e.is_transient(), transient, "{e}");
        assert_readable(&e);
    }

    // Revoked: the platform's own sentence, and sync stops for good.
    let revoked = http(
        "401 Unauthorized",
        "application/json",
        r#"{"code":"device_revoked","message":"该设备已被吊销，无法继续同步；本机数据仍可导出，请联系管理员"}"#,
    );
    let e = pull(&format!("http://{}", raw_server(revoked).await)).await;
    assert!(matches!(e, SyncError::Revoked(_)), "{e:?}");
    assert!(e.to_string().contains("本机数据仍可导出"), "{e}");

    // A refusal of ours (4xx with our JSON) keeps the platform's Chinese message.
    let ours = http(
        "409 Conflict",
        "application/json",
        r#"{"code":"stale","message":"该检查已被他人修改，请同步后重试"}"#,
    );
    let e = pull(&format!("http://{}", raw_server(ours).await)).await;
    assert_eq!(e.to_string(), "该检查已被他人修改，请同步后重试");
    assert_eq!(e.code(), "stale");
}
