//! Who votes against the quorum a certificate needs, and who is silent: the sentence that
//! explains a stall. Every figure comes from the node's status (its own count of the votes it
//! received per peer and round, and when each peer last sent anything), none is guessed here.

use bfte_shared::admin::Status;
use bfte_shared::peer::PeerId;

/// Below this much silence a peer that does not vote is "not voting" rather than "silent".
const SILENT_AFTER_MS: u64 = 2_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voting {
    pub voting: usize,
    pub members: usize,
    pub quorum: usize,
    /// Members not voting, with how long since their last message (`None`: not heard since
    /// the node started).
    pub absent: Vec<(PeerId, Option<u64>)>,
}

impl Voting {
    /// The voting members a status reports; `None` on a replica, which sees no votes.
    pub fn of(status: &Status) -> Option<Voting> {
        if status.replication.is_some() || status.peers.is_empty() {
            return None;
        }
        Some(Voting {
            voting: status.voting(),
            members: status.peers.len(),
            quorum: status.quorum as usize,
            absent: status
                .peers
                .iter()
                .filter(|p| !p.voting)
                .map(|p| (p.id, p.silent_ms))
                .collect(),
        })
    }

    pub fn has_quorum(&self) -> bool {
        self.voting >= self.quorum
    }

    /// "3 of 5 voting, 4 needed: peer2, peer3 silent for 40 s". The silence said is the
    /// shortest among them: each has been silent at least that long.
    pub fn sentence(&self, name_of: impl Fn(&PeerId) -> String) -> String {
        let head = format!(
            "{} of {} voting, {} needed",
            self.voting, self.members, self.quorum
        );
        if self.absent.is_empty() {
            return head;
        }
        // By name, not in the status's order of peer ids: the same peers read the same.
        let mut names: Vec<String> = self.absent.iter().map(|(id, _)| name_of(id)).collect();
        names.sort();
        let shortest = self.absent.iter().filter_map(|(_, ms)| *ms).min();
        let why = match shortest {
            None => "not heard since the node started".to_string(),
            Some(ms) if ms < SILENT_AFTER_MS => "not voting".to_string(),
            Some(ms) => format!("silent for {} s", ms / 1000),
        };
        format!("{head}: {} {why}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfte_shared::admin::PeerStatus;

    fn voting(silences: &[(bool, Option<u64>)]) -> Voting {
        Voting {
            voting: silences.iter().filter(|(v, _)| *v).count(),
            members: silences.len(),
            quorum: silences.len() - (silences.len() - 1) / 3,
            absent: silences
                .iter()
                .enumerate()
                .filter(|(_, (v, _))| !v)
                .map(|(i, (_, ms))| (PeerId([i as u8; 32]), *ms))
                .collect(),
        }
    }

    fn name(id: &PeerId) -> String {
        format!("peer{}", id.0[0])
    }

    #[test]
    fn the_sentence_names_the_silent_peers_and_the_shortest_silence() {
        let two_down = voting(&[
            (true, Some(10)),
            (true, Some(10)),
            (false, Some(41_500)),
            (false, Some(40_200)),
            (true, Some(10)),
        ]);
        assert!(!two_down.has_quorum());
        assert_eq!(
            two_down.sentence(name),
            "3 of 5 voting, 4 needed: peer2, peer3 silent for 40 s"
        );
        let reversed = Voting {
            absent: two_down.absent.iter().rev().copied().collect(),
            ..two_down.clone()
        };
        assert_eq!(reversed.sentence(name), two_down.sentence(name));
        let all = voting(&[
            (true, None),
            (true, Some(5)),
            (true, Some(5)),
            (true, Some(5)),
        ]);
        assert!(all.has_quorum());
        assert_eq!(all.sentence(name), "4 of 4 voting, 3 needed");
        let never = voting(&[
            (true, None),
            (false, None),
            (true, Some(5)),
            (true, Some(5)),
        ]);
        assert_eq!(
            never.sentence(name),
            "3 of 4 voting, 3 needed: peer1 not heard since the node started"
        );
        let talking = voting(&[
            (true, None),
            (false, Some(300)),
            (true, Some(5)),
            (true, Some(5)),
        ]);
        assert_eq!(
            talking.sentence(name),
            "3 of 4 voting, 3 needed: peer1 not voting"
        );
    }

    #[test]
    fn a_replica_has_no_voting_figures() {
        let mut status = crate::fixture::replica_app(10, 20, true, 0)
            .node
            .status
            .expect("status");
        assert_eq!(Voting::of(&status), None);
        status.replication = None;
        status.peers = vec![PeerStatus {
            id: PeerId([1; 32]),
            name: "a".into(),
            connected: true,
            voting: true,
            silent_ms: None,
        }];
        status.quorum = 1;
        assert!(Voting::of(&status).is_some_and(|v| v.has_quorum()));
    }
}
