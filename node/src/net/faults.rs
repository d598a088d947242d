//! Link faults for chaos runs, compiled only with the `chaos` feature, which release builds
//! never turn on. `bfte chaos` writes the faults of each link into a file in the node's data
//! directory ([`LINK_FAULTS_FILE`]); the node reloads it every [`RELOAD_EVERY`] and applies it
//! to its consensus frames: a cut link drops every frame both ways, a lossy one drops a share
//! of the frames it sends, a slow one delays each frame it sends (and those queued behind it).
//! The QUIC connection itself stays up, as it would on a path that only loses packets.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use bfte_shared::peer::PeerId;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// The file in a data directory that names the faulty links.
pub const LINK_FAULTS_FILE: &str = "chaos-links";
const RELOAD_EVERY: Duration = Duration::from_millis(100);

/// What is wrong with the link to one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkFault {
    pub cut: bool,
    pub delay: Duration,
    /// Share of sent frames dropped, in percent.
    pub loss_percent: u8,
}

/// What becomes of one outgoing frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    Send,
    Drop,
    After(Duration),
}

/// The file's text: one line per faulty link, `PEER cut` or `PEER delay=MS loss=PERCENT`.
pub fn render(faults: &BTreeMap<PeerId, LinkFault>) -> String {
    faults
        .iter()
        .map(|(peer, fault)| {
            if fault.cut {
                format!("{peer} cut\n")
            } else {
                format!(
                    "{peer} delay={} loss={}\n",
                    fault.delay.as_millis(),
                    fault.loss_percent
                )
            }
        })
        .collect()
}

pub fn parse(text: &str) -> Result<HashMap<PeerId, LinkFault>, String> {
    let mut faults = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let peer: PeerId = words
            .next()
            .unwrap_or_default()
            .parse()
            .map_err(|e| format!("`{line}`: not a peer id: {e}"))?;
        let mut fault = LinkFault::default();
        for word in words {
            match word.split_once('=') {
                None if word == "cut" => fault.cut = true,
                Some(("delay", ms)) => {
                    let ms = ms.parse().map_err(|e| format!("`{line}`: delay: {e}"))?;
                    fault.delay = Duration::from_millis(ms);
                }
                Some(("loss", percent)) => {
                    fault.loss_percent = percent
                        .parse::<u8>()
                        .map_err(|e| format!("`{line}`: loss: {e}"))?
                        .min(100);
                }
                _ => return Err(format!("`{line}`: unknown word `{word}`")),
            }
        }
        faults.insert(peer, fault);
    }
    Ok(faults)
}

/// The faults in force in this process: one node per process, so one set.
fn current() -> &'static RwLock<HashMap<PeerId, LinkFault>> {
    static CURRENT: OnceLock<RwLock<HashMap<PeerId, LinkFault>>> = OnceLock::new();
    CURRENT.get_or_init(Default::default)
}

/// Starts reloading `file` on the current tokio runtime; a missing file means no faults, an
/// unreadable one keeps the faults in force and is logged.
pub fn watch(file: PathBuf) {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if last.as_ref() != Some(&text) {
                match parse(&text) {
                    Ok(faults) => {
                        tracing::info!(links = faults.len(), "chaos: link faults reloaded");
                        *current().write().unwrap_or_else(PoisonError::into_inner) = faults;
                    }
                    Err(error) => {
                        tracing::error!(file = %file.display(), %error, "chaos: bad link faults")
                    }
                }
                last = Some(text);
            }
            tokio::time::sleep(RELOAD_EVERY).await;
        }
    });
}

fn fault(peer: &PeerId) -> Option<LinkFault> {
    current()
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(peer)
        .copied()
}

/// What becomes of a frame about to be written to `peer`.
pub(super) fn outbound(peer: &PeerId) -> Fate {
    static RNG: OnceLock<Mutex<ChaCha8Rng>> = OnceLock::new();
    let Some(fault) = fault(peer) else {
        return Fate::Send;
    };
    let rng =
        RNG.get_or_init(|| Mutex::new(ChaCha8Rng::seed_from_u64(getrandom::u64().unwrap_or(0))));
    let lost = fault.loss_percent > 0
        && rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .random_range(0..100u8)
            < fault.loss_percent;
    if fault.cut || lost {
        Fate::Drop
    } else if fault.delay > Duration::ZERO {
        Fate::After(fault.delay)
    } else {
        Fate::Send
    }
}

/// Whether frames from `peer` are dropped on arrival.
pub(super) fn inbound_cut(peer: &PeerId) -> bool {
    fault(peer).is_some_and(|f| f.cut)
}

#[cfg(test)]
mod tests {
    use bfte_shared::peer::PeerSecret;

    use super::*;

    #[test]
    fn rendered_faults_parse_back_and_bad_lines_are_refused() {
        let a = PeerSecret::from_seed([1; 32]).peer_id();
        let b = PeerSecret::from_seed([2; 32]).peer_id();
        let faults = BTreeMap::from([
            (
                a,
                LinkFault {
                    cut: true,
                    ..LinkFault::default()
                },
            ),
            (
                b,
                LinkFault {
                    cut: false,
                    delay: Duration::from_millis(40),
                    loss_percent: 10,
                },
            ),
        ]);
        let parsed = parse(&render(&faults)).expect("parses");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[&a], faults[&a]);
        assert_eq!(parsed[&b], faults[&b]);
        assert!(parse("nobody cut").is_err());
        assert!(parse(&format!("{a} slow")).is_err());
        assert!(parse("").expect("empty").is_empty());
    }
}
