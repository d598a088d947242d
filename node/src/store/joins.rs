//! Join requests this node holds as pending for its admins (`daemon/joins.rs`): not consensus
//! state, only this node's inbox, so other peers may hold other requests. A request leaves when
//! an admin rejects it here or once its peer became a member.

use bfte_shared::join::JoinRequest;
use bfte_shared::peer::PeerId;
use redb::{Durability, ReadOnlyTable, ReadableTable, ReadableTableMetadata, TableError};
use serde::{Deserialize, Serialize};

use super::Store;
use super::codec;
use super::error::StoreError;
use super::tables::{PENDING_JOINS, name};

/// A join request as received, with when (this node's clock, ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    pub request: JoinRequest,
    pub received_ms: u64,
}

impl Store {
    /// Keeps a join request as pending, replacing the peer's earlier one.
    pub fn put_pending_join(&self, pending: &PendingRequest) -> Result<(), StoreError> {
        let bytes = codec::encode(&self.path, name::PENDING_JOINS, pending)?;
        self.write_pending_joins(|table| {
            table
                .insert(pending.request.member.id.as_bytes(), bytes.as_slice())
                .map(|_| ())
        })
    }

    /// Drops the pending requests of `peers`; says how many there were.
    pub fn remove_pending_joins(&self, peers: &[PeerId]) -> Result<usize, StoreError> {
        let mut removed = 0;
        self.write_pending_joins(|table| {
            for peer in peers {
                if table.remove(peer.as_bytes())?.is_some() {
                    removed += 1;
                }
            }
            Ok(())
        })?;
        Ok(removed)
    }

    /// Every pending request, ordered by peer id.
    pub fn pending_joins(&self) -> Result<Vec<PendingRequest>, StoreError> {
        self.read_pending_joins(Vec::new(), |table| {
            let mut pending = Vec::new();
            for entry in table
                .iter()
                .map_err(self.failed("reading table `pending_joins`"))?
            {
                let (_, value) = entry.map_err(self.failed("reading table `pending_joins`"))?;
                pending.push(codec::decode(
                    &self.path,
                    name::PENDING_JOINS,
                    value.value(),
                )?);
            }
            Ok(pending)
        })
    }

    /// The pending request of one peer.
    pub fn pending_join(&self, peer: &PeerId) -> Result<Option<PendingRequest>, StoreError> {
        self.read_pending_joins(None, |table| {
            let value = table
                .get(peer.as_bytes())
                .map_err(self.failed("reading table `pending_joins`"))?;
            value
                .map(|v| codec::decode(&self.path, name::PENDING_JOINS, v.value()))
                .transpose()
        })
    }

    /// How many requests are pending.
    pub fn pending_join_count(&self) -> Result<u64, StoreError> {
        self.read_pending_joins(0, |table| {
            table
                .len()
                .map_err(self.failed("reading table `pending_joins`"))
        })
    }

    /// `read` on the table in a read transaction, or `empty` if no request was ever stored.
    fn read_pending_joins<T>(
        &self,
        empty: T,
        read: impl FnOnce(&ReadOnlyTable<&'static [u8; 32], &'static [u8]>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.begin_read()?;
        match txn.open_table(PENDING_JOINS) {
            Ok(table) => read(&table),
            Err(TableError::TableDoesNotExist(_)) => Ok(empty),
            Err(error) => Err(self.failed("opening table `pending_joins`")(error)),
        }
    }

    /// One durable write transaction on the table (join requests are rare: a sync each is
    /// cheap, and an admin who was told a request is pending finds it after a crash).
    fn write_pending_joins(
        &self,
        write: impl FnOnce(
            &mut redb::Table<'_, &'static [u8; 32], &'static [u8]>,
        ) -> Result<(), redb::StorageError>,
    ) -> Result<(), StoreError> {
        let mut txn = self
            .db
            .begin_write()
            .map_err(self.failed("starting a write transaction"))?;
        txn.set_durability(Durability::Immediate)
            .map_err(self.failed("requesting immediate durability"))?;
        {
            let mut table = txn
                .open_table(PENDING_JOINS)
                .map_err(self.failed("opening table `pending_joins`"))?;
            write(&mut table).map_err(self.failed("writing table `pending_joins`"))?;
        }
        txn.commit()
            .map_err(self.failed("committing table `pending_joins`"))
    }
}

#[cfg(test)]
mod tests {
    use bfte_shared::join::Invite;
    use bfte_shared::modules::ctrl::Member;
    use bfte_shared::peer::PeerSecret;

    use super::*;
    use crate::store::fixtures;

    fn request(seed: u8, name: &str) -> PendingRequest {
        let secret = PeerSecret::from_seed([seed; 32]);
        let invite = Invite {
            federation: fixtures::federation(4).genesis.federation_id(),
            pin_height: bfte_shared::round::Height(0),
            pin_block: bfte_shared::hash::Hash::ZERO,
            peers: Vec::new(),
            relay: None,
        };
        let member = Member {
            id: secret.peer_id(),
            name: name.into(),
            addrs: vec!["127.0.0.1:4000".into()],
        };
        PendingRequest {
            request: JoinRequest::new(&invite, member, 5, &secret),
            received_ms: 7,
        }
    }

    #[test]
    fn pending_joins_are_kept_replaced_and_removed() {
        let temp = tempfile::tempdir().expect("tempdir");
        let store = Store::create(temp.path().join("db"), &fixtures::federation(4).genesis)
            .expect("create store");
        assert_eq!(store.pending_joins().expect("read"), Vec::new());
        let (alice, bob) = (request(1, "alice"), request(2, "bob"));
        store.put_pending_join(&alice).expect("put");
        store.put_pending_join(&bob).expect("put");
        let renamed = request(1, "alice2");
        store.put_pending_join(&renamed).expect("replace");
        assert_eq!(store.pending_join_count().expect("count"), 2);
        let id = renamed.request.member.id;
        assert_eq!(store.pending_join(&id).expect("get"), Some(renamed));
        let both = [id, bob.request.member.id];
        assert_eq!(store.remove_pending_joins(&both).expect("remove"), 2);
        assert_eq!(store.remove_pending_joins(&both).expect("again"), 0);
        assert_eq!(store.pending_join(&id).expect("get"), None);
    }
}
