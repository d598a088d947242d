//! The admin socket both ways: requests the node reads from a client, answers (and event
//! frames) a client or the console reads from the node, and the length-prefixed framing the
//! CLI reads them with. The first byte picks the decoder.

#![no_main]

use bfte_fuzz::canonical::round_trip;
use bfte_fuzz::pick::{self, admin};
use bfte_shared::admin::{AdminRequest, AdminResponse, FrameError, MAX_ADMIN_FRAME, read_frame};
use bfte_shared::codec;
use libfuzzer_sys::fuzz_target;

/// Larger declared lengths are accepted by the framing but would make every execution zero
/// megabytes of buffer before failing on the short input; the limit check itself is covered
/// by the admin module's unit tests.
const MAX_FUZZED_LENGTH: u32 = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let Some((choice, bytes)) = pick::split(data, admin::CHOICES) else {
        return;
    };
    match choice {
        admin::REQUEST => {
            round_trip::<AdminRequest>(bytes, MAX_ADMIN_FRAME);
        }
        admin::RESPONSE => {
            round_trip::<AdminResponse>(bytes, MAX_ADMIN_FRAME);
        }
        admin::FRAMED_REQUEST => framed::<AdminRequest>(bytes),
        // admin::FRAMED_RESPONSE
        _ => framed::<AdminResponse>(bytes),
    }
});

/// `read_frame` on the bytes as they would come off the socket: a frame decodes only to what
/// its body alone decodes to, and a short read is an I/O error, never a panic.
fn framed<T: serde::Serialize + serde::de::DeserializeOwned>(bytes: &[u8]) {
    let Some(prefix) = bytes.get(..4) else {
        assert!(matches!(read_frame::<T>(bytes), Err(FrameError::Io(_))));
        return;
    };
    let declared = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    if declared > MAX_FUZZED_LENGTH {
        return;
    }
    let body = &bytes[4..];
    match read_frame::<T>(bytes) {
        Ok(value) => {
            let used = &body[..declared as usize];
            assert!(
                codec::decode::<T>(used, MAX_ADMIN_FRAME)
                    .is_ok_and(|alone| codec::encode(&alone) == codec::encode(&value)),
                "a frame decoded to something its body does not"
            );
        }
        Err(FrameError::Io(_)) => {
            assert!(body.len() < declared as usize, "read error on a full frame")
        }
        Err(FrameError::Decode(_)) => {
            assert!(codec::decode::<T>(&body[..declared as usize], MAX_ADMIN_FRAME).is_err());
        }
        Err(FrameError::TooLarge(len)) => panic!("a frame of {len} bytes refused as too large"),
    }
}
