//! The commit journal: a file beside the database that makes a commit durable with one small
//! write, where redb's durable commit writes every page the commits since the last one
//! touched, then syncs (about 15 page writes a commit, and half a node's latency per round in
//! `bench net`).
//!
//! The store commits to redb unsynced and appends each commit (its `persist` entries and
//! finalized batches) here as one record; a commit that must be durable syncs the journal,
//! which makes it and every record before it durable, in order. Records that do not sync wait
//! in memory for the next one that does (`journal_tail`). A checkpoint (a durable redb commit)
//! covers everything journaled so far and empties the journal. On open the store writes every
//! whole record into redb again: finalized batches redb holds already are skipped and every
//! other write is idempotent, so a record that redb already holds changes nothing.
//!
//! The file is written full of zeros once, so a sync writes the record's pages and never the
//! file's size or extents. Where the file system allows it the file is written with direct,
//! synchronous I/O (`O_DIRECT | O_DSYNC`): a sync is then one write that reaches the disk,
//! without the page cache and a separate flush (86 instead of 123 µs on the benchmark
//! machine, and a third less CPU); elsewhere it is a buffered write and `fdatasync`.
//!
//! The file starts with a header: a magic, the genesis hash of the federation it belongs to (a
//! journal left beside another federation's database is refused, not replayed) and a
//! generation, which emptying the journal raises. Records follow, framed as `journal_frame`
//! says. A crash can tear the last record, or leave whole records after a torn one (written,
//! never synced): reading stops at the first record that is incomplete or fails its check,
//! and records of an earlier generation fail it.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use bfte_shared::hash::Hash;

use super::codec::MAX_VALUE_BYTES;
use super::error::StoreError;
use super::journal_frame::{frame, record_len, whole_records};
use super::journal_tail::{PAGE, Tail};

const MAGIC: &[u8; 8] = b"bfte-jn1";
const HEADER_BYTES: u64 = 8 + 32 + 8;

/// Most bytes a journal holds before the store checkpoints: replaying it on open stays quick.
pub(super) const CHECKPOINT_BYTES: u64 = 4 << 20;

/// The file's size, written once: room for a checkpoint's worth and the commit that passes it.
const PREPARED_BYTES: u64 = CHECKPOINT_BYTES + (1 << 20);

/// The journal's name in errors about what it holds.
pub(super) const TABLE: &str = "commit journal";

/// The open journal of one database.
#[derive(Debug)]
pub(super) struct Journal {
    path: PathBuf,
    /// Opened for direct, synchronous writes if `direct`.
    file: File,
    direct: bool,
    /// The last page written and the records held since.
    tail: Tail,
    genesis: Hash,
    generation: u64,
    /// Whether anything past the header may be a record of this generation.
    written: bool,
}

impl Journal {
    /// The journal's file beside the database at `database`.
    pub(super) fn path_beside(database: &Path) -> PathBuf {
        let mut name = database.as_os_str().to_owned();
        name.push(".journal");
        PathBuf::from(name)
    }

    /// Opens (or creates) the journal of the database at `database`, of the federation with
    /// genesis hash `genesis`; returns it with the payloads of its whole records, in order. A
    /// journal of another federation, or of another format, is refused. The caller writes the
    /// records into the database durably, then calls [`Journal::clear`].
    pub(super) fn open(
        database: &Path,
        genesis: Hash,
    ) -> Result<(Journal, Vec<Vec<u8>>), StoreError> {
        Journal::open_with(database, genesis, true)
    }

    /// [`Journal::open`], with direct I/O only if `direct` (and the file system allows it).
    pub(super) fn open_with(
        database: &Path,
        genesis: Hash,
        direct: bool,
    ) -> Result<(Journal, Vec<Vec<u8>>), StoreError> {
        let path = Journal::path_beside(database);
        let io = |action| {
            let path = path.clone();
            move |source| StoreError::Io {
                path,
                action,
                source,
            }
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("opening the commit journal"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(io("reading the commit journal"))?;
        let fresh = bytes.len() < HEADER_BYTES as usize || bytes[..8].iter().all(|b| *b == 0);
        if fresh {
            // New, or a crash came while it was first prepared: nothing in it was ever synced.
            file.write_all_at(&vec![0u8; PREPARED_BYTES as usize], 0)
                .and_then(|()| file.sync_all())
                .map_err(io("preparing the commit journal"))?;
            bytes = vec![0u8; HEADER_BYTES as usize];
        }
        let (file, direct) = open_writer(&path, &bytes, direct, file)
            .map_err(io("opening the commit journal for writing"))?;
        let mut journal = Journal {
            path,
            file,
            direct,
            tail: Tail::of(&bytes, HEADER_BYTES),
            genesis,
            generation: 0,
            written: true,
        };
        if fresh {
            journal.clear()?;
            return Ok((journal, Vec::new()));
        }
        if &bytes[..8] != MAGIC {
            return Err(journal.refused("it is not a bfte commit journal of this version"));
        }
        if bytes[8..40] != *genesis.as_bytes() {
            return Err(journal.refused("it belongs to another federation's database"));
        }
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&bytes[40..48]);
        journal.generation = u64::from_le_bytes(generation);
        let records = whole_records(
            &bytes[HEADER_BYTES as usize..],
            journal.generation,
            MAX_VALUE_BYTES,
        );
        let end = HEADER_BYTES + records.iter().map(|r| record_len(r) as u64).sum::<u64>();
        journal.tail = Tail::of(&bytes, end);
        Ok((journal, records.into_iter().map(<[u8]>::to_vec).collect()))
    }

    /// Appends one record after the last; with `sync`, it and every record before it are on
    /// disk when this returns `Ok`, and without, it waits for the next sync. After an error
    /// the journal must not be used again: the node stops.
    pub(super) fn append(&mut self, payload: &[u8], sync: bool) -> Result<(), StoreError> {
        let Some(record) = frame(self.generation, payload) else {
            return Err(StoreError::TooLarge {
                path: self.path.clone(),
                table: TABLE,
                len: payload.len(),
                limit: MAX_VALUE_BYTES,
            });
        };
        self.tail.push(&record);
        self.written = true;
        if sync {
            self.sync("writing to the commit journal")?;
        }
        Ok(())
    }

    /// Writes the tail and makes it durable.
    fn sync(&mut self, action: &'static str) -> Result<(), StoreError> {
        self.tail.write(&self.file).map_err(self.io(action))?;
        if !self.direct {
            self.file.sync_data().map_err(self.io(action))?;
        }
        Ok(())
    }

    /// Bytes of the header and the records.
    pub(super) fn len(&self) -> u64 {
        self.tail.end()
    }

    /// Empties the journal, synced: a new generation, whose header makes every record before it
    /// stale (nothing to do if nothing was written since the last time). Called once redb
    /// holds all of it durably.
    pub(super) fn clear(&mut self) -> Result<(), StoreError> {
        if !self.written {
            return Ok(());
        }
        self.generation = self.generation.wrapping_add(1);
        self.tail = Tail::of(&self.header(), HEADER_BYTES);
        self.sync("writing the commit journal's header")?;
        self.written = false;
        Ok(())
    }

    /// Whether writes go to the disk directly.
    #[cfg(test)]
    pub(super) fn is_direct(&self) -> bool {
        self.direct
    }

    fn header(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(HEADER_BYTES as usize);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(self.genesis.as_bytes());
        header.extend_from_slice(&self.generation.to_le_bytes());
        header
    }

    fn io(&self, action: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = self.path.clone();
        move |source| StoreError::Io {
            path,
            action,
            source,
        }
    }

    fn refused(&self, why: &str) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            action: "opening the commit journal",
            source: std::io::Error::new(
                ErrorKind::InvalidData,
                format!(
                    "{why}; move it away if the database beside it is the one you mean to open"
                ),
            ),
        }
    }
}

/// The handle records are written through: `buffered` itself, or, if `direct`, the file opened
/// again for direct, synchronous writes, once a write of its first page as `bytes` has it (a
/// file system without direct I/O refuses the open or the write).
fn open_writer(
    path: &Path,
    bytes: &[u8],
    direct: bool,
    buffered: File,
) -> std::io::Result<(File, bool)> {
    if !direct {
        return Ok((buffered, false));
    }
    let opened = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT | libc::O_DSYNC)
        .open(path);
    let file = match opened {
        Ok(file) => file,
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => return Ok((buffered, false)),
        Err(error) => return Err(error),
    };
    let first = &bytes[..bytes.len().min(PAGE as usize)];
    match Tail::of(first, first.len() as u64).write(&file) {
        Ok(()) => Ok((file, true)),
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => Ok((buffered, false)),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::super::journal_frame::RECORD_HEAD_BYTES;
    use super::*;

    fn genesis() -> Hash {
        Hash::tagged(b"test", b"genesis")
    }

    /// Records of sizes that cross pages, in both ways of writing: each sync brings back every
    /// record up to it, a record that did not sync waits for the next sync, and a clear
    /// empties the journal.
    fn round_trip(direct: bool) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("bfte.redb");
        let open = || Journal::open_with(&db, genesis(), direct).expect("open");
        let (mut journal, records) = open();
        assert!(records.is_empty());
        let payloads: Vec<Vec<u8>> = (0..40u8)
            .map(|i| vec![i; 97 * usize::from(i) + 1])
            .collect();
        for (i, payload) in payloads.iter().enumerate() {
            journal.append(payload, i % 3 == 2).expect("append");
            let synced = i / 3 * 3 + if i % 3 == 2 { 3 } else { 0 };
            let (_, records) = Journal::open_with(&db, genesis(), false).expect("read");
            assert_eq!(records, payloads[..synced], "after record {i}");
        }
        journal.append(b"last", true).expect("append");
        let len = journal.len();
        drop(journal);
        let (mut journal, records) = open();
        assert_eq!(records.len(), payloads.len() + 1);
        assert_eq!(journal.len(), len);
        journal.clear().expect("clear");
        drop(journal);
        let (_, records) = open();
        assert!(records.is_empty());
    }

    #[test]
    fn records_come_back_after_their_sync_with_direct_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (journal, _) = Journal::open(&dir.path().join("probe.redb"), genesis()).expect("open");
        // Direct I/O where the test's file system has it (ext4 and xfs do, tmpfs does not).
        if journal.is_direct() {
            round_trip(true);
        } else {
            eprintln!(
                "no direct I/O in {}: tested buffered only",
                dir.path().display()
            );
        }
    }

    #[test]
    fn records_come_back_after_their_sync_with_buffered_writes() {
        round_trip(false);
    }

    /// Offset of the payload of record `index` among records of these payload lengths.
    fn payload_at(lens: &[usize], index: usize) -> usize {
        HEADER_BYTES as usize
            + lens[..index]
                .iter()
                .map(|l| RECORD_HEAD_BYTES + l)
                .sum::<usize>()
            + RECORD_HEAD_BYTES
    }

    #[test]
    fn reading_stops_at_a_torn_or_damaged_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("bfte.redb");
        let (mut journal, _) = Journal::open(&db, genesis()).expect("open");
        for payload in [&b"one"[..], b"two", b"three"] {
            journal.append(payload, true).expect("append");
        }
        drop(journal);
        let lens = [3, 3, 5];
        let path = Journal::path_beside(&db);
        let whole = std::fs::read(&path).expect("read");
        let reopened = |bytes: &[u8]| {
            std::fs::write(&path, bytes).expect("write");
            Journal::open(&db, genesis()).expect("open").1
        };
        // Torn: the last record's last byte never reached the disk.
        let mut torn = whole.clone();
        torn[payload_at(&lens, 2) + 4] = 0;
        assert_eq!(reopened(&torn), vec![b"one".to_vec(), b"two".to_vec()]);
        // A flipped byte in the second record: the third, though whole, is after it.
        let mut damaged = whole.clone();
        damaged[payload_at(&lens, 1)] ^= 1;
        assert_eq!(reopened(&damaged), vec![b"one".to_vec()]);
        // A length past the end, as a torn length field may read.
        let mut long = whole.clone();
        let first = HEADER_BYTES as usize;
        long[first..first + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(reopened(&long).is_empty());
    }

    #[test]
    fn records_of_an_emptied_generation_never_come_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("bfte.redb");
        let (mut journal, _) = Journal::open(&db, genesis()).expect("open");
        journal.append(b"torn", false).expect("append");
        journal
            .append(b"whole, never synced", true)
            .expect("append");
        drop(journal);
        // The first record tears, the second reached the disk whole: reading stops at the first.
        let path = Journal::path_beside(&db);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[payload_at(&[4], 0)] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        let (mut journal, records) = Journal::open(&db, genesis()).expect("open");
        assert!(records.is_empty());
        // The store empties it after replaying; a new record of the torn one's length must not
        // make the old second record readable again.
        journal.clear().expect("clear");
        journal.append(b"next", true).expect("append");
        drop(journal);
        let (_, records) = Journal::open(&db, genesis()).expect("open");
        assert_eq!(records, vec![b"next".to_vec()]);
    }

    #[test]
    fn a_journal_of_another_federation_or_format_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("bfte.redb");
        let (journal, _) = Journal::open(&db, genesis()).expect("open");
        drop(journal);
        let other = Hash::tagged(b"test", b"another federation");
        let error = Journal::open(&db, other).expect_err("another federation");
        assert!(error.to_string().contains("another federation"), "{error}");
        std::fs::write(Journal::path_beside(&db), [b'x'; 64]).expect("write");
        let error = Journal::open(&db, genesis()).expect_err("not a journal");
        assert!(
            error.to_string().contains("not a bfte commit journal"),
            "{error}"
        );
    }
}
