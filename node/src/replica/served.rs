//! Who this node serves its history to, for `bfte status` and the console: one entry per asker
//! (a replica, usually) while it holds a connection open to the history protocol or the blob
//! store. Both servers report by connection (iroh's stable id), so a replica's history and blob
//! connections add up to one entry.
//!
//! An entry goes when the asker's last connection closes: the list answers "whom do I serve
//! now", and a replica that comes back shows as new, with its own start. The total of bytes out
//! never goes down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bfte_shared::admin::ServedReplica;
use bfte_shared::peer::PeerId;
use bfte_shared::round::Height;
use iroh::endpoint::Connection;

use crate::daemon::wall_ms;
use crate::net::{PathInfo, peer_id};

/// The registry, shared by the history server, the blob server and the status calls.
#[derive(Debug, Clone, Default)]
pub struct Served {
    inner: Arc<Mutex<Registry>>,
}

#[derive(Debug, Default)]
struct Registry {
    askers: HashMap<PeerId, Asker>,
    /// Which asker each open connection belongs to.
    owners: HashMap<u64, PeerId>,
    bytes_out: u64,
}

#[derive(Debug)]
struct Asker {
    connections: Vec<Open>,
    height: Height,
    bytes_out: u64,
    since_ms: u64,
}

#[derive(Debug)]
struct Open {
    id: u64,
    /// Kept to read the path it travels now; `None` only in tests.
    link: Option<Connection>,
    /// `Follow` streams open on it.
    follows: usize,
}

impl Served {
    /// Counts `connection` until the returned guard drops: hold it while serving it.
    pub fn open(&self, connection: &Connection) -> Opened {
        self.open_as(
            peer_id(&connection.remote_id()),
            connection.stable_id() as u64,
            Some(connection.clone()),
        )
    }

    fn open_as(&self, peer: PeerId, id: u64, link: Option<Connection>) -> Opened {
        let mut registry = self.lock();
        registry.owners.insert(id, peer);
        let asker = registry.askers.entry(peer).or_insert_with(|| Asker {
            connections: Vec::new(),
            height: Height(0),
            bytes_out: 0,
            since_ms: wall_ms(),
        });
        asker.connections.push(Open {
            id,
            link,
            follows: 0,
        });
        Opened {
            served: self.clone(),
            id,
        }
    }

    /// The asker on connection `id` asked from `height`, or was sent blocks up to it.
    pub fn reached(&self, id: u64, height: Height) {
        let mut registry = self.lock();
        if let Some(asker) = registry.asker_mut(id) {
            asker.height = asker.height.max(height);
        }
    }

    /// `bytes` were written to connection `id`. Counted in the total even once it closed.
    pub fn sent(&self, id: u64, bytes: u64) {
        let mut registry = self.lock();
        registry.bytes_out = registry.bytes_out.saturating_add(bytes);
        if let Some(asker) = registry.asker_mut(id) {
            asker.bytes_out = asker.bytes_out.saturating_add(bytes);
        }
    }

    /// Marks connection `id` as following until the returned guard drops.
    pub fn following(&self, id: u64) -> Following {
        if let Some(open) = self.lock().open_mut(id) {
            open.follows += 1;
        }
        Following {
            served: self.clone(),
            id,
        }
    }

    /// Bytes of history served to everyone since the node started.
    pub fn bytes_out(&self) -> u64 {
        self.lock().bytes_out
    }

    /// Everyone served now, oldest first.
    pub fn replicas(&self) -> Vec<ServedReplica> {
        let registry = self.lock();
        let mut replicas: Vec<ServedReplica> = registry
            .askers
            .iter()
            .map(|(peer, asker)| {
                // The newest connection's path: an older one may be gone (a replica that
                // restarted) without iroh having timed it out yet.
                let path = asker
                    .connections
                    .iter()
                    .rev()
                    .find_map(|open| open.link.as_ref().and_then(PathInfo::of));
                ServedReplica {
                    peer_id: *peer,
                    path: path.as_ref().map(PathInfo::kind),
                    rtt_us: path.as_ref().map(PathInfo::rtt_us),
                    remote: path.map(|p| p.remote),
                    following: asker.connections.iter().any(|open| open.follows > 0),
                    height: asker.height,
                    bytes_out: asker.bytes_out,
                    since_ms: asker.since_ms,
                }
            })
            .collect();
        replicas.sort_by_key(|replica| (replica.since_ms, replica.peer_id));
        replicas
    }

    fn close(&self, id: u64) {
        let mut registry = self.lock();
        let Some(peer) = registry.owners.remove(&id) else {
            return;
        };
        if let Some(asker) = registry.askers.get_mut(&peer) {
            asker.connections.retain(|open| open.id != id);
            if asker.connections.is_empty() {
                registry.askers.remove(&peer);
            }
        }
    }

    fn unfollow(&self, id: u64) {
        if let Some(open) = self.lock().open_mut(id) {
            open.follows = open.follows.saturating_sub(1);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Registry {
    fn asker_mut(&mut self, id: u64) -> Option<&mut Asker> {
        let peer = self.owners.get(&id)?;
        self.askers.get_mut(peer)
    }

    fn open_mut(&mut self, id: u64) -> Option<&mut Open> {
        self.asker_mut(id)?
            .connections
            .iter_mut()
            .find(|open| open.id == id)
    }
}

/// A connection being served; dropping it takes the connection off the list.
#[derive(Debug)]
pub struct Opened {
    served: Served,
    id: u64,
}

impl Opened {
    /// The connection's id, as `Served::sent` and the others take it.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.served.close(self.id);
    }
}

/// An open `Follow` stream; dropping it ends it.
#[derive(Debug)]
pub struct Following {
    served: Served,
    id: u64,
}

impl Drop for Following {
    fn drop(&mut self) {
        self.served.unfollow(self.id);
    }
}

#[cfg(test)]
mod tests {
    use bfte_shared::peer::PeerSecret;

    use super::*;

    fn peer(seed: u8) -> PeerId {
        PeerSecret::from_seed([seed; 32]).peer_id()
    }

    #[test]
    fn a_follower_appears_follows_is_counted_and_goes_on_close() {
        let served = Served::default();
        assert!(served.replicas().is_empty());
        let history = served.open_as(peer(1), 10, None);
        let blobs = served.open_as(peer(1), 11, None);
        served.sent(blobs.id(), 5_000);
        served.reached(history.id(), Height(1_000));
        served.sent(history.id(), 300);
        let [replica] = served.replicas().try_into().expect("one asker");
        assert_eq!(replica.peer_id, peer(1));
        assert!(!replica.following, "catching up");
        assert_eq!((replica.height, replica.bytes_out), (Height(1_000), 5_300));

        let follow = served.following(history.id());
        served.reached(history.id(), Height(1_007));
        served.reached(history.id(), Height(900));
        let [replica] = served.replicas().try_into().expect("one asker");
        assert!(replica.following);
        assert_eq!(replica.height, Height(1_007), "the highest height stays");
        drop(follow);
        assert!(!served.replicas()[0].following);

        drop(history);
        assert_eq!(served.replicas().len(), 1, "its blob connection is open");
        drop(blobs);
        assert!(served.replicas().is_empty());
        served.sent(11, 100);
        assert_eq!(
            served.bytes_out(),
            5_400,
            "the total keeps what closed ones got"
        );
    }

    #[test]
    fn askers_are_listed_apart_and_a_closed_follow_leaves_the_others() {
        let served = Served::default();
        let first = served.open_as(peer(1), 1, None);
        let second = served.open_as(peer(2), 2, None);
        let _one = served.following(first.id());
        let two = served.following(first.id());
        served.sent(second.id(), 7);
        drop(two);
        let replicas = served.replicas();
        let by = |p: PeerId| replicas.iter().find(|r| r.peer_id == p).expect("listed");
        assert!(by(peer(1)).following, "one follow stream is still open");
        assert_eq!((by(peer(1)).bytes_out, by(peer(2)).bytes_out), (0, 7));
        assert!(!by(peer(2)).following);
        drop(first);
        assert_eq!(served.replicas().len(), 1);
        drop(second);
        // A late report for a closed connection changes no one's entry.
        served.reached(2, Height(5));
        drop(served.following(2));
        assert!(served.replicas().is_empty());
        assert_eq!(served.bytes_out(), 7);
    }
}
