//! Item gossip in batches: the `Item` messages of one output (or of a driver's whole batch of
//! outputs) to all peers leave as `Items` messages, so a burst of submissions costs the
//! receivers one message and one batch verification instead of one of each per item.

use bfte_shared::codec;
use bfte_shared::message::{MAX_MESSAGE_BYTES, Message};

use super::io::Destination;

/// An `Items` message stays well below the message limit, so it always decodes.
const MAX_ITEMS_MESSAGE_BYTES: usize = MAX_MESSAGE_BYTES / 4;

/// Merges the `Item` messages to all peers into `Items` messages, placed where the first of
/// them was; everything else keeps its order. A lone item stays an `Item`.
pub fn coalesce_items(sends: Vec<(Destination, Message)>) -> Vec<(Destination, Message)> {
    let broadcast_items = sends
        .iter()
        .filter(|(to, message)| *to == Destination::AllPeers && matches!(message, Message::Item(_)))
        .count();
    if broadcast_items < 2 {
        return sends;
    }
    let mut out = Vec::with_capacity(sends.len() - broadcast_items + 1);
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut current_bytes = 0;
    let mut slot = None;
    for (to, message) in sends {
        match message {
            Message::Item(item) if to == Destination::AllPeers => {
                let size = codec::encode(&item).len();
                if current_bytes + size > MAX_ITEMS_MESSAGE_BYTES && !current.is_empty() {
                    batches.push(std::mem::take(&mut current));
                    current_bytes = 0;
                }
                current_bytes += size;
                current.push(item);
                slot.get_or_insert(out.len());
            }
            message => out.push((to, message)),
        }
    }
    batches.push(current);
    let at = slot.unwrap_or(out.len());
    let merged = batches
        .into_iter()
        .map(|items| (Destination::AllPeers, Message::Items(items)));
    out.splice(at..at, merged);
    out
}
