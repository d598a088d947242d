//! The fixed federation the core target runs in, and signing and verification that remember
//! their answers. Ed25519 is deterministic, so a remembered signature is the signature; the
//! verifier remembers real verdicts. Without the memory the target would spend nearly all its
//! time on curve arithmetic for the same few hundred votes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use bfte_consensus::{Core, CoreConfig, Output, Restored};
use bfte_shared::block::Block;
use bfte_shared::crypto::{Ed25519Verifier, SignedBytes, Signer, Verifier};
use bfte_shared::federation::{ConsensusParams, Genesis, PeerSet};
use bfte_shared::peer::{PeerId, PeerSecret, Signature};

/// Peers in the federation: the core under test and three whose keys the fuzzer signs with.
pub const PEERS: usize = 4;
/// Remembered answers beyond this are dropped wholesale, bounding memory over a long run.
const MEMORY_LIMIT: usize = 1 << 18;

#[derive(Debug)]
pub struct Fixture {
    pub genesis_block: Block,
    /// Each peer's core started from genesis, with what it said on starting, by index: every
    /// run forks one, as starting a core is most of a short run's time.
    pub started: Vec<(Core, Output)>,
    /// Each peer's configuration, for restarts: building one hashes the genesis again.
    pub configs: Vec<CoreConfig>,
    /// Sorted by peer id, so index `i` is the peer set's index `i`.
    pub signers: Vec<Arc<CachedSigner>>,
}

/// The one fixture of the process, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut secrets: Vec<PeerSecret> = (1..=PEERS as u8)
            .map(|i| PeerSecret::from_seed([i; 32]))
            .collect();
        secrets.sort_by_key(PeerSecret::peer_id);
        let peers = PeerSet::new(secrets.iter().map(PeerSecret::peer_id).collect())
            .unwrap_or_else(|e| panic!("the fixed keys form no peer set: {e}"));
        let genesis = Genesis {
            name: "fuzz".into(),
            peers,
            params: ConsensusParams::default(),
            timestamp_ms: 0,
        };
        let signers: Vec<Arc<CachedSigner>> = secrets
            .into_iter()
            .map(|secret| {
                Arc::new(CachedSigner {
                    id: secret.peer_id(),
                    secret,
                    memory: Mutex::default(),
                })
            })
            .collect();
        let verifier = Arc::new(CachedVerifier::default());
        let configs: Vec<CoreConfig> = signers
            .iter()
            .map(|signer| CoreConfig::new(&genesis, signer.clone(), verifier.clone()))
            .collect();
        let started = configs
            .iter()
            .map(|config| start(config.clone(), Restored::genesis(&genesis), 0))
            .collect();
        Fixture {
            genesis_block: Block::genesis(&genesis),
            started,
            configs,
            signers,
        }
    })
}

/// A core of the fixed federation, started from what it persisted.
pub fn start(config: CoreConfig, restored: Restored, now: u64) -> (Core, Output) {
    Core::start(config, restored, now)
        .unwrap_or_else(|e| panic!("the core refused to start from what it persisted: {e}"))
}

#[derive(Debug)]
pub struct CachedSigner {
    id: PeerId,
    secret: PeerSecret,
    memory: Mutex<HashMap<Vec<u8>, Signature>>,
}

impl CachedSigner {
    pub fn id(&self) -> PeerId {
        self.id
    }
}

impl Signer for CachedSigner {
    fn peer_id(&self) -> PeerId {
        self.id
    }

    fn sign(&self, message: &[u8]) -> Signature {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(signature) = memory.get(message) {
            return *signature;
        }
        if memory.len() >= MEMORY_LIMIT {
            memory.clear();
        }
        let signature = self.secret.sign(message);
        memory.insert(message.to_vec(), signature);
        signature
    }
}

/// Verdicts by signer, signature and signed bytes.
type Verdicts = HashMap<(PeerId, Signature, Vec<u8>), bool>;

#[derive(Debug, Default)]
pub struct CachedVerifier {
    memory: Mutex<Verdicts>,
}

impl Verifier for CachedVerifier {
    fn verify_batch(&self, batch: &[SignedBytes<'_>]) -> bool {
        batch.iter().all(|one| {
            let key = (*one.signer, *one.signature, one.message.to_vec());
            let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(verdict) = memory.get(&key) {
                return *verdict;
            }
            if memory.len() >= MEMORY_LIMIT {
                memory.clear();
            }
            let verdict = Ed25519Verifier.verify(*one);
            memory.insert(key, verdict);
            verdict
        })
    }
}
