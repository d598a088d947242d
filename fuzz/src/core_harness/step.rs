//! One step of the driver the fuzzer plays: a message from another peer (correctly signed with
//! its key, about rounds and blocks the fuzzer picks), a timer, a client, the clock or a
//! restart. Small integers index into what the harness knows (peers, blocks, armed timers),
//! so most steps are meaningful to the core.

use arbitrary::Arbitrary;

#[derive(Arbitrary, Debug, Clone)]
pub enum Step {
    Vote {
        from: u8,
        round: u8,
        kind: Kind,
    },
    Certificate {
        from: u8,
        certificate: CertificateSpec,
    },
    /// The round's leader proposes a child of a known block (skipped if the leader is the core
    /// under test: the fuzzer has no business signing with its key).
    Propose {
        round: u8,
        parent: u8,
        item: Option<ItemSpec>,
        delay_ms: u8,
    },
    Item(ItemSpec),
    Catchup {
        from: u8,
        certificates: Vec<CertificateSpec>,
        blocks: Vec<u8>,
    },
    /// Known blocks and a finalization certificate of the last one.
    Finalized {
        from: u8,
        blocks: Vec<u8>,
        round: u8,
        signers: u8,
    },
    Pull {
        from: u8,
        round: u8,
        height: u8,
    },
    /// Bytes off the wire: whatever decodes as a message is delivered.
    Raw {
        from: u8,
        bytes: Vec<u8>,
    },
    Submit(Vec<u8>),
    PeerConnected(u8),
    /// Fires one of the timers the core armed, at its time.
    FireTimer(u8),
    Wait(u16),
    /// The process restarts from what it persisted.
    Restart,
    /// The process restarts from a database whose ledger lost its last finalized blocks (how
    /// many, modulo the chain's length) but kept every vote, certificate and block the core
    /// persisted: a damaged or hand-restored database the core must start from, not hang on.
    RestartLosingFinalized(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Kind {
    Notarize(u8),
    Dummy,
    Finalize(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct CertificateSpec {
    pub round: u8,
    pub kind: Kind,
    /// A bitmap over the peers; the core's own bit only counts for a vote it did sign.
    pub signers: u8,
}

#[derive(Arbitrary, Debug, Clone)]
pub struct ItemSpec {
    pub from: u8,
    pub nonce: u8,
    pub data: Vec<u8>,
}
