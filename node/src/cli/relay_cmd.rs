//! `bfte relay`: an iroh relay server (the `iroh-relay` crate's) for a federation that would
//! rather not depend on n0's relays. Nodes and replicas behind NAT reach each other through it
//! by key, and with a TLS certificate it also tells them their public address (QUIC address
//! discovery), which hole punching needs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use iroh_relay::defaults::DEFAULT_RELAY_QUIC_PORT;
use iroh_relay::server::{QuicConfig, RelayConfig, Server, ServerConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, Args)]
#[command(
    about = "Run an iroh relay for the federation: nodes behind NAT reach each other through it",
    after_help = "Example:\n  \
        bfte relay --listen 0.0.0.0:3340 --tls-cert relay.pem --tls-key relay-key.pem\n  \
        bfte run --data-dir ./alice --relay http://relay.example.org:3340\n  \
        bfte invite --data-dir ./alice        (the invite names the relay)\n\n\
        Every node of the federation runs with `--relay URL`, and invites name the relay, so a\n\
        replica or a joining node behind NAT needs nothing but the invite. The relay forwards\n\
        iroh's end-to-end encrypted packets between nodes that cannot reach each other directly;\n\
        it sees which keys talk, never what they say.\n\n\
        Relay traffic is plain HTTP on --listen. With --tls-cert and --tls-key the relay also\n\
        answers QUIC address discovery on UDP port 7842 of the same address (the port iroh\n\
        clients ask): it tells each node the public address its NAT gives it, so two nodes\n\
        behind NAT can hole punch and move to a direct path. Without a certificate the relay\n\
        still forwards everything, but nodes behind NAT on both sides stay relayed. Nodes check\n\
        the certificate against the machine's trust store; for a certificate from a private CA,\n\
        point SSL_CERT_FILE at that CA on every node."
)]
pub struct RelayArgs {
    /// TCP address to serve relay traffic on; the URL to give nodes is printed at start.
    #[arg(long)]
    pub listen: SocketAddr,
    /// PEM certificate chain for QUIC address discovery, valid for the relay URL's host.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

pub fn relay(args: RelayArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: RelayArgs) -> anyhow::Result<()> {
    let mut config = ServerConfig::default();
    config.relay = Some(RelayConfig::new(args.listen));
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let mut quic = QuicConfig::new((args.listen.ip(), DEFAULT_RELAY_QUIC_PORT));
        quic.server_config = Some(tls_config(cert, key)?);
        config.quic = Some(quic);
    }
    let mut server = Server::spawn(config).await.with_context(|| {
        format!(
            "cannot listen on {} (TCP) or UDP port {DEFAULT_RELAY_QUIC_PORT} (is another relay \
             or program using them? choose another --listen address)",
            args.listen
        )
    })?;
    let addr = server.http_addr().unwrap_or(args.listen);
    announce(addr, server.quic_addr());
    let stopped = tokio::select! {
        ended = server.join() => Some(ended),
        () = shutdown_signal() => None,
    };
    match stopped {
        Some(Ok(Ok(()))) => anyhow::bail!("the relay server stopped by itself"),
        Some(Ok(Err(error))) => Err(error).context("the relay server failed"),
        Some(Err(error)) => Err(error).context("the relay server's task failed"),
        None => {
            tracing::info!("stopping");
            server
                .shutdown()
                .await
                .context("the relay did not stop cleanly")
        }
    }
}

/// Prints the URL nodes use, on stdout for scripts, and logs what is served.
fn announce(addr: SocketAddr, quic: Option<SocketAddr>) {
    if addr.ip().is_unspecified() {
        println!("http://HOST:{}", addr.port());
        tracing::info!(
            %addr,
            "relay listening on every address: give nodes http://HOST:{} with HOST a name or \
             address of this machine that they reach",
            addr.port()
        );
    } else {
        println!("http://{addr}");
        tracing::info!(%addr, "relay listening");
    }
    match quic {
        Some(quic) => tracing::info!(%quic, "QUIC address discovery on"),
        None => tracing::info!(
            "no --tls-cert: no QUIC address discovery, so nodes behind NAT on both sides stay \
             relayed"
        ),
    }
}

/// The TLS 1.3 configuration QUIC address discovery is served with.
fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read certificates from {}", cert.display()))?;
    anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read a private key from {}", key.display()))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("TLS 1.3 is not available")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the key do not make a TLS configuration (do they match?)")
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            // Without SIGTERM handling, Ctrl-C still stops the relay.
            Err(error) => {
                tracing::warn!(%error, "cannot watch for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
