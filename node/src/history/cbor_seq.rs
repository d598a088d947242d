//! Reading a CBOR sequence (RFC 8742) one data item at a time. The item's bytes are found by
//! walking its headers, without decoding or recursing, and refused as soon as they pass the
//! limit, so an endless or hostile input costs at most `limit` bytes of memory. The typed
//! decode (`codec::decode`, with its own nesting limit) then runs on exactly those bytes.

use std::io::{BufRead, ErrorKind, Read};

use super::error::FormatError;

pub(super) struct SequenceReader<R> {
    input: R,
    /// Bytes consumed so far: where the next item starts.
    offset: u64,
}

impl<R: BufRead> SequenceReader<R> {
    pub(super) fn new(input: R) -> Self {
        SequenceReader { input, offset: 0 }
    }

    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    /// The next item's bytes, or `None` at a clean end of the input (between items).
    pub(super) fn next_item(&mut self, limit: usize) -> Result<Option<Vec<u8>>, FormatError> {
        if self.input.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let mut item = Vec::new();
        // Items still to read: arrays, maps and tags announce how many follow them.
        let mut pending: u64 = 1;
        while pending > 0 {
            pending -= 1;
            let initial = self.read_exact(&mut item, 1, limit)?[0];
            let (major, info) = (initial >> 5, initial & 0x1f);
            let argument = match info {
                0..=23 => u64::from(info),
                24..=27 => {
                    let bytes = self.read_exact(&mut item, 1 << (info - 24), limit)?;
                    bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
                }
                31 => return Err(FormatError::Indefinite),
                _ => return Err(FormatError::Reserved(initial)),
            };
            match major {
                // Byte and text strings: their content follows.
                2 | 3 => {
                    let len = usize::try_from(argument).unwrap_or(usize::MAX);
                    self.read_exact(&mut item, len, limit)?;
                }
                4 => pending = pending.saturating_add(argument),
                5 => pending = pending.saturating_add(argument.saturating_mul(2)),
                6 => pending += 1,
                // Integers, simple values and floats: the argument was all of it.
                _ => {}
            }
            // Every item still to come takes at least one byte.
            if pending.saturating_add(item.len() as u64) > limit as u64 {
                return Err(FormatError::TooLarge { limit });
            }
        }
        Ok(Some(item))
    }

    /// Appends exactly `len` bytes of the input to `item` and returns them.
    fn read_exact<'a>(
        &mut self,
        item: &'a mut Vec<u8>,
        len: usize,
        limit: usize,
    ) -> Result<&'a [u8], FormatError> {
        let start = item.len();
        if len > limit.saturating_sub(start) {
            return Err(FormatError::TooLarge { limit });
        }
        let read = (&mut self.input)
            .take(len as u64)
            .read_to_end(item)
            .map_err(|e| match e.kind() {
                ErrorKind::UnexpectedEof => FormatError::Truncated,
                _ => FormatError::Io(e),
            })?;
        self.offset += read as u64;
        if read < len {
            return Err(FormatError::Truncated);
        }
        Ok(&item[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(bytes: &[u8], limit: usize) -> Vec<Result<Vec<u8>, String>> {
        let mut reader = SequenceReader::new(bytes);
        let mut out = Vec::new();
        loop {
            match reader.next_item(limit) {
                Ok(Some(item)) => out.push(Ok(item)),
                Ok(None) => return out,
                Err(error) => {
                    out.push(Err(error.to_string()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn splits_a_sequence_into_its_items() {
        let first = bfte_shared::codec::encode(&(1u64, "two", vec![3u8; 30]));
        let second = bfte_shared::codec::encode(&Some(vec![(4u64, true)]));
        let bytes = [first.clone(), second.clone()].concat();
        assert_eq!(items(&bytes, 1024), vec![Ok(first), Ok(second)]);
        assert_eq!(items(&[], 1024), vec![]);
    }

    #[test]
    fn truncated_oversized_indefinite_and_reserved_items_are_errors() {
        let item = bfte_shared::codec::encode(&vec![7u64; 100]);
        let cut = &item[..item.len() - 1];
        assert_eq!(
            items(cut, 1024),
            vec![Err("the input ends inside it".into())]
        );
        let too_large = items(&item, 50);
        assert!(matches!(&too_large[..], [Err(e)] if e.contains("limit of 50")));
        // A byte string claiming 2^64 - 1 bytes is refused before any of it is read.
        let huge = [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(&items(&huge, 1 << 20)[..], [Err(e)] if e.contains("limit")));
        // So is an array announcing more items than the limit has bytes.
        let wide = [0x9b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(&items(&wide, 1 << 20)[..], [Err(e)] if e.contains("limit")));
        assert!(
            matches!(&items(&[0x9f, 0x01, 0xff], 64)[..], [Err(e)] if e.contains("indefinite"))
        );
        assert!(matches!(&items(&[0x1c], 64)[..], [Err(e)] if e.contains("reserved")));
    }
}
