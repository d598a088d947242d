//! The node process's main loop: start the store, the ledger, the core, the network and the
//! admin sockets, then feed the driver (`driver.rs`) batches of inputs until asked to stop.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bfte_shared::crypto::Ed25519Verifier;
use tokio::sync::{mpsc, watch};

use super::admin::{self, Access, AdminCall};
use super::clock::NodeClock;
use super::driver::{Driver, NodeHost, SERVE_LIMIT};
use super::epochs::dial_list;
use super::events::{EventHub, Observer};
use super::files::{DataDir, GenesisFile};
use super::finality::FinalityWatch;
use crate::driver::{Step, start_core};
use crate::ledger::Ledger;
use crate::metrics::{self, MetricsRecorder, NodeMetrics};
use crate::net::{Inbound, Net, NetConfig, RelayChoice};
use crate::replica::{self, SegmentBlobs};
use crate::store::Store;
use bfte_consensus::CoreConfig;

/// Most inputs joined to one batch after the one that woke the loop: bounds the time before
/// a batch's messages leave.
const MAX_BATCH: usize = 256;

/// How `run` reaches peers and when it stops besides Ctrl-C.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub relay: RelayChoice,
    pub stop_on_stdin_close: bool,
    /// Where to serve Prometheus metrics (`GET /metrics`); none when absent.
    pub metrics: Option<SocketAddr>,
}

/// Runs a node until Ctrl-C (or standard input closing, if asked) or a fatal error (a database
/// that cannot be written: continuing would send votes that are not durable).
pub async fn run(dir: DataDir, options: RunOptions) -> anyhow::Result<()> {
    let RunOptions {
        relay,
        stop_on_stdin_close,
        metrics,
    } = options;
    let metrics = match metrics {
        Some(addr) => {
            let recorded = NodeMetrics::new();
            let bound = metrics::serve(addr, recorded.clone()).await?;
            tracing::info!(%bound, "serving metrics at /metrics");
            Some(MetricsRecorder::new(recorded))
        }
        None => None,
    };
    let secret = dir.secret()?;
    let settings = dir.settings()?;
    let genesis_file = GenesisFile::load(&dir.genesis_path())?;
    let genesis = genesis_file.genesis()?;
    // Before the database: a node refused for a broken file leaves the database untouched.
    let blobs_path = dir.blobs_path();
    let blobs = SegmentBlobs::open(&blobs_path).await.with_context(|| {
        format!(
            "cannot open the blob store in {}: move it out of the way (the node rebuilds it \
             from its database)",
            blobs_path.display()
        )
    })?;
    let db_path = dir.database_path();
    let store = Arc::new(if db_path.exists() {
        Store::open(&db_path)?
    } else {
        Store::create(&db_path, &genesis)?
    });
    if store.genesis() != &genesis {
        anyhow::bail!(
            "{} belongs to another federation than {}: use the genesis file it was created with",
            db_path.display(),
            dir.genesis_path().display()
        );
    }
    let me = secret.peer_id();
    let ledger = Ledger::new(&genesis);
    let epoch = ledger
        .epoch(store.database())
        .context("cannot read the epoch from the ledger")?;
    let config = NetConfig {
        bind: settings.listen,
        relay,
    };
    let (history_tip, tip) = watch::channel(store.finalized_height()?);
    let history = replica::start(store.clone(), blobs.clone(), tip)
        .await
        .context("cannot index the finalized history for serving")?;
    let (net, mut inbound, mut joins) = Net::bind_serving(&secret, config, Some(&history))
        .await
        .with_context(|| format!("cannot start networking on {}", settings.listen))?;
    let founder_addrs: HashMap<_, _> = genesis_file
        .peers
        .iter()
        .map(|p| (p.id, p.addrs.clone()))
        .collect();
    net.set_peers(dial_list(&epoch, &founder_addrs, &me));
    #[cfg(feature = "chaos")]
    crate::chaos::node_hooks::install(&dir, &genesis, &secret);
    let mut host = NodeHost {
        net,
        clock: NodeClock::start(),
        observer: Observer::new(EventHub::default()),
        founder_addrs,
        names: genesis_file
            .peers
            .iter()
            .map(|p| (p.id, p.name.clone()))
            .collect(),
        connected: HashMap::new(),
        finality: FinalityWatch::default(),
        history_tip,
        metrics,
    };
    let genesis_config = CoreConfig::new(&genesis, Arc::new(secret), Arc::new(Ed25519Verifier));
    let mut restored_from_backup = store.restored_from_backup()?;
    let genesis_config = if restored_from_backup {
        tracing::warn!(
            "this database was restored from a backup: the node follows without signing until \
             its peers' answers show a round above every round it may have voted in since the backup"
        );
        // Fresh for this start: answers to an earlier process's asks must not count.
        let nonce = getrandom::u64()
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("cannot draw the nonce a restored node asks its peers with")?;
        genesis_config.sitting_out(nonce)
    } else {
        genesis_config
    };
    let (step, _) = Step::start(
        genesis_config,
        start_core(),
        store,
        ledger,
        SERVE_LIMIT,
        &mut host,
    )?;
    let mut driver = Driver {
        step,
        host,
        federation_name: genesis.name.clone(),
        seen_votes: Vec::new(),
        replies: Vec::new(),
        submissions: Default::default(),
        submitted_at: None,
    };
    super::log_tap::forward_logs_to(driver.host.observer.hub());
    let (calls_tx, mut calls) = mpsc::channel::<AdminCall>(64);
    for (path, access) in [
        (dir.admin_socket_path(), Access::Full),
        (dir.admin_read_only_socket_path(), Access::ReadOnly),
    ] {
        let listener = admin::bind(&path).await?;
        let server = admin::Server {
            data_dir: dir.path().to_path_buf(),
            calls: calls_tx.clone(),
            events: driver.host.observer.hub().clone(),
            access,
        };
        tokio::spawn(admin::serve(listener, server));
    }
    tracing::info!(peer = %me, name = %settings.name, listen = %settings.listen, "node running");
    let mut connection_check = tokio::time::interval(Duration::from_millis(250));
    let supervisor_gone = stdin_closed(stop_on_stdin_close);
    tokio::pin!(supervisor_gone);
    // Made once: a listener made anew each turn would miss a Ctrl-C that came during a batch.
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        let sleep = driver.next_timer();
        tokio::select! {
            Some(Inbound { from, bytes }) = inbound.recv() => {
                driver.begin_batch();
                driver.on_frame(from, &bytes);
            }
            Some((request, reply)) = calls.recv() => {
                driver.begin_batch();
                driver.on_admin(request, reply);
            }
            Some(call) = joins.recv() => {
                driver.begin_batch();
                driver.on_join(call);
            }
            () = tokio::time::sleep_until(sleep) => {
                driver.begin_batch();
                driver.fire_timers();
            }
            _ = connection_check.tick() => {
                driver.begin_batch();
                driver.check_connections();
                driver.flush_seen_votes();
                driver.sample_metrics();
            }
            _ = &mut interrupted => break,
            () = &mut supervisor_gone => {
                tracing::info!("standard input closed: the supervisor is gone");
                break;
            }
        }
        // Whatever else is already waiting joins this batch: one commit for all of it.
        for _ in 0..MAX_BATCH {
            if let Some(Inbound { from, bytes }) = inbound.try_recv() {
                driver.on_frame(from, &bytes);
            } else if let Ok((request, reply)) = calls.try_recv() {
                driver.on_admin(request, reply);
            } else {
                break;
            }
        }
        if driver.send_early() {
            tokio::task::yield_now().await;
        }
        driver.send_batch()?;
        while !driver.is_settled() {
            // The batch's messages leave before the ledger's work: the writer tasks run now.
            tokio::task::yield_now().await;
            driver.settle()?;
        }
        if restored_from_backup && past_restore_floor(&driver) {
            driver.step.store().clear_restored_from_backup()?;
            driver.step.stop_sitting_out();
            restored_from_backup = false;
            tracing::info!("every round this node may have voted in before its restore is final");
        }
    }
    tracing::info!("stopping");
    driver.flush_seen_votes();
    if let Err(error) = driver.step.store().checkpoint() {
        tracing::warn!(%error, "cannot checkpoint the database; its journal is replayed at the next start");
    }
    // The segmenter ends with the tip's sender, before the router (whose blob protocol stops
    // the blob store) and the store itself: nothing is left half added.
    drop(driver.host.history_tip);
    history.stop().await;
    driver.host.net.shutdown().await;
    blobs.shutdown().await;
    let _ = std::fs::remove_file(dir.admin_socket_path());
    let _ = std::fs::remove_file(dir.admin_read_only_socket_path());
    Ok(())
}

/// SPEC rule 15: once the finalized tip is above the floor, every round this node may have
/// signed in before its restore is final, so the restored-from-backup mark can go.
fn past_restore_floor(driver: &Driver) -> bool {
    let core = driver.step.core();
    core.signs_only_above()
        .is_none_or(|floor| core.finalized_tip().1.round > floor)
}

/// Resolves once standard input reaches its end, if `watch`; never otherwise.
pub(super) async fn stdin_closed(watch: bool) {
    if !watch {
        return std::future::pending().await;
    }
    // A thread of its own, not tokio's `stdin`: the runtime waits for its blocking reads when
    // it shuts down, so a node stopped by Ctrl-C lived on until its supervisor closed the pipe.
    let (closed, on_closed) = tokio::sync::oneshot::channel();
    let watcher = std::thread::Builder::new()
        .name("stdin-watch".into())
        .spawn(move || {
            let mut buffer = [0u8; 64];
            let mut stdin = std::io::stdin().lock();
            while std::io::Read::read(&mut stdin, &mut buffer).is_ok_and(|read| read > 0) {}
            let _ = closed.send(());
        });
    match watcher {
        Ok(_) => {
            let _ = on_closed.await;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot watch standard input; stop the node with Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}
