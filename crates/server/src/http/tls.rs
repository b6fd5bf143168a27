//! TLS in the binary (`jiandu-server serve --tls-cert FILE --tls-key FILE`): rustls
//! (ring) over the same router, HTTP/1.1. The certificate and key are read again on
//! SIGHUP (a renewed certificate without a restart); a file that does not load
//! keeps the previous one and logs why. Each request carries `ConnectInfo` (the
//! peer) and the [`Tls`](super::Tls) marker (the console cookie is `Secure`).

use super::Tls;
use crate::service::Platform;
use axum::extract::ConnectInfo;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tower::ServiceExt;

/// Where the certificate chain and its private key are (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Reads the certificate chain and key into a server configuration.
pub fn load(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", files.cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", files.cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("{}: {e}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn reload_on_hangup(files: TlsFiles, current: Arc<RwLock<Arc<rustls::ServerConfig>>>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            match load(&files) {
                Ok(config) => {
                    *current.write().unwrap_or_else(|e| e.into_inner()) = config;
                    tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                }
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificate not reloaded; keeping the previous one")
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (files, current);
}

/// Serves `state` over TLS until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Platform,
    max_body_bytes: usize,
    files: TlsFiles,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let first = load(&files).map_err(std::io::Error::other)?;
    let current = Arc::new(RwLock::new(first));
    reload_on_hangup(files, current.clone());
    let app = super::router(state, max_body_bytes).layer(axum::Extension(Tls));
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        let config = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let app = app.clone();
        tokio::spawn(async move {
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            let tls = match tokio::time::timeout(
                std::time::Duration::from_secs(30),
                acceptor.accept(tcp),
            )
            .await
            {
                Ok(Ok(tls)) => tls,
                _ => return,
            };
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(req.map(axum::body::Body::new))
                },
            );
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
