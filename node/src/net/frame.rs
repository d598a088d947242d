//! Framing on a consensus stream: after the stream's lane tag, a u32 big-endian length, then that
//! many bytes of one encoded message. Nothing else is on the stream, so a reader that loses its
//! place cannot find it again and the connection is closed instead.

use bfte_shared::message::MAX_MESSAGE_BYTES;
use iroh::endpoint::{ReadError, ReadExactError, RecvStream, SendStream, VarInt, WriteError};

const LENGTH_BYTES: usize = 4;

/// Why a stream stopped making sense. The connection it came on is closed with `close_code`.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {len} bytes announced, the limit is {limit}")]
    TooLarge { len: u64, limit: usize },
    #[error("stream ended inside a frame ({got} of {expected} bytes)")]
    Truncated { expected: usize, got: usize },
    #[error("stream failed: {0}")]
    Read(#[from] ReadError),
}

impl FrameError {
    pub(super) fn close_code(&self) -> VarInt {
        match self {
            FrameError::TooLarge { .. } => super::CLOSE_FRAME_TOO_LARGE,
            FrameError::Truncated { .. } => super::CLOSE_TRUNCATED_FRAME,
            FrameError::Read(_) => super::CLOSE_STREAM_FAILED,
        }
    }
}

/// Reads the next frame; `None` when the stream finished cleanly between frames.
pub(super) async fn read_frame(stream: &mut RecvStream) -> Result<Option<Vec<u8>>, FrameError> {
    read_frame_within(stream, MAX_MESSAGE_BYTES).await
}

/// Reads the next frame of at most `limit` bytes; `None` when the stream finished cleanly
/// between frames.
pub(crate) async fn read_frame_within(
    stream: &mut RecvStream,
    limit: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; LENGTH_BYTES];
    match stream.read_exact(&mut prefix).await {
        Ok(()) => {}
        Err(ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(ReadExactError::FinishedEarly(got)) => {
            return Err(FrameError::Truncated {
                expected: LENGTH_BYTES,
                got,
            });
        }
        Err(ReadExactError::ReadError(error)) => return Err(FrameError::Read(error)),
    }
    let len = u32::from_be_bytes(prefix);
    let len = usize::try_from(len)
        .ok()
        .filter(|len| *len <= limit)
        .ok_or(FrameError::TooLarge {
            len: len.into(),
            limit,
        })?;
    let mut bytes = vec![0u8; len];
    match stream.read_exact(&mut bytes).await {
        Ok(()) => Ok(Some(bytes)),
        Err(ReadExactError::FinishedEarly(got)) => {
            Err(FrameError::Truncated { expected: len, got })
        }
        Err(ReadExactError::ReadError(error)) => Err(FrameError::Read(error)),
    }
}

/// Writes one frame (callers keep frames under 4 GiB). Returns once QUIC has buffered it, not
/// when the peer has it.
pub(crate) async fn write_frame(stream: &mut SendStream, frame: &[u8]) -> Result<(), WriteError> {
    // `send` refuses longer frames, so this conversion cannot truncate.
    let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    stream.write_all(&len.to_be_bytes()).await?;
    stream.write_all(frame).await
}
