//! The end of the commit journal: the page the last write ended in, and the records appended
//! since, which the next sync writes. A record that does not sync waits here for the next one
//! that does (or for a checkpoint, which makes the journal's records redundant): a crash loses
//! it either way, and a sync costs one write, from the page the last one ended in.
//!
//! A write covers whole pages at a page-aligned offset, from a page-aligned buffer, as a file
//! opened for direct I/O requires; the bytes after the last record are zeros.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The unit of direct I/O on every disk this runs on (4 KiB sectors, or 512-byte ones).
pub(super) const PAGE: u64 = 4096;

#[derive(Debug)]
pub(super) struct Tail {
    /// Where the tail's first page starts in the file.
    start: u64,
    /// The file's bytes from `start` to the end of the last record.
    bytes: Vec<u8>,
}

impl Tail {
    /// The tail of a journal whose records end at `end`, given the file's bytes from its start
    /// (at least up to `end`).
    pub(super) fn of(file: &[u8], end: u64) -> Tail {
        let start = end / PAGE * PAGE;
        Tail {
            start,
            bytes: file[start as usize..end as usize].to_vec(),
        }
    }

    /// Where the next record goes.
    pub(super) fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    pub(super) fn push(&mut self, record: &[u8]) {
        self.bytes.extend_from_slice(record);
    }

    /// Writes the tail's pages, zeros after its last record, then keeps only the last page.
    pub(super) fn write(&mut self, file: &File) -> io::Result<()> {
        let page = PAGE as usize;
        let padded = self.bytes.len().div_ceil(page) * page;
        let mut buffer = vec![0u8; padded + page];
        let skip = buffer.as_ptr().align_offset(page);
        let Some(pages) = buffer.get_mut(skip..skip + padded) else {
            return Err(io::Error::other(
                "no page-aligned buffer for the journal's write",
            ));
        };
        pages[..self.bytes.len()].copy_from_slice(&self.bytes);
        file.write_all_at(pages, self.start)?;
        let whole = self.bytes.len() / page * page;
        self.bytes.drain(..whole);
        self.start += whole as u64;
        Ok(())
    }
}
