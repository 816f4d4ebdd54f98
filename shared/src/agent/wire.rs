//! Messages larger than a frame travel in parts. The gateway accepts frames of a few
//! MB; an RPA step's artefacts (up to 16 MB a file, base64 in JSON) or a large SQL result would
//! otherwise be refused and drop the whole line — interrupting every task of the host.
//! A sender turns a message whose JSON exceeds [`FRAME_LIMIT`] into `part` messages
//! (slices of that JSON, in order, the last one marked); the receiver puts them back
//! together ([`Reassembly`]) and reads the whole message, up to [`MESSAGE_LIMIT`].

use std::collections::HashMap;

/// JSON texts longer than this are sent in parts.
pub const FRAME_LIMIT: usize = 1 << 20;
/// The slice of JSON one part carries (escaped inside the part it grows at most six
/// times, still far below the gateway's frame limit).
pub const PART_SLICE: usize = 256 << 10;
/// The largest message put back together.
pub const MESSAGE_LIMIT: usize = 64 << 20;
/// Messages being put back together at once, at most.
const IN_FLIGHT: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WireError {
    #[error("a message in parts grew over {MESSAGE_LIMIT} bytes")]
    TooLarge,
    #[error("more than {IN_FLIGHT} messages in parts at once")]
    TooMany,
}

/// `text` in slices of at most [`PART_SLICE`] bytes, cut at character boundaries.
pub fn slices(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > PART_SLICE {
        let mut cut = PART_SLICE;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

/// The frames (JSON texts) that carry `message`: itself when it fits, else `part`
/// messages made by `part(message number, last, slice)`.
pub fn frames<T: serde::Serialize>(
    message: &T,
    number: u64,
    part: impl Fn(u64, bool, String) -> T,
) -> Result<Vec<String>, serde_json::Error> {
    let text = serde_json::to_string(message)?;
    if text.len() <= FRAME_LIMIT {
        return Ok(vec![text]);
    }
    let cut = slices(&text);
    let n = cut.len();
    cut.into_iter()
        .enumerate()
        .map(|(i, s)| serde_json::to_string(&part(number, i + 1 == n, s.to_string())))
        .collect()
}

/// Parts being put back together, by message number.
#[derive(Debug, Default)]
pub struct Reassembly {
    open: HashMap<u64, String>,
}

impl Reassembly {
    /// Adds a part; the whole message's JSON once its last part arrived. A message
    /// that grows too large is dropped (its later parts start a new, refused one).
    pub fn add(
        &mut self,
        message: u64,
        last: bool,
        text: &str,
    ) -> Result<Option<String>, WireError> {
        if !self.open.contains_key(&message) && self.open.len() >= IN_FLIGHT {
            return Err(WireError::TooMany);
        }
        let buf = self.open.entry(message).or_default();
        if buf.len() + text.len() > MESSAGE_LIMIT {
            self.open.remove(&message);
            return Err(WireError::TooLarge);
        }
        buf.push_str(text);
        if last {
            Ok(self.open.remove(&message))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_is_cut_at_character_boundaries_and_put_back_together() {
        let text: String = "日本語 and \"quotes\" ".repeat(60_000);
        assert!(text.len() > FRAME_LIMIT);
        let parts = slices(&text);
        assert!(parts.len() > 1 && parts.iter().all(|p| p.len() <= PART_SLICE));
        let mut r = Reassembly::default();
        let n = parts.len();
        let mut whole = None;
        for (i, p) in parts.iter().enumerate() {
            whole = r.add(7, i + 1 == n, p).unwrap();
            assert_eq!(whole.is_some(), i + 1 == n);
        }
        assert_eq!(whole.unwrap(), text);
        assert_eq!(slices("short"), ["short"]);
    }

    #[test]
    fn a_large_message_goes_as_parts_that_read_back_as_it() {
        use crate::agent::{FromAgent, Stream};
        let m = FromAgent::Output {
            task: 3,
            stream: Stream::Stdout,
            text: "line \"one\"\n".repeat(300_000),
        };
        let sent = frames(&m, 42, |message, last, text| FromAgent::Part {
            message,
            last,
            text,
        })
        .unwrap();
        assert!(sent.len() > 1);
        assert!(
            sent.iter().all(|f| f.len() < 4 << 20),
            "each fits the gateway"
        );
        let mut r = Reassembly::default();
        let mut whole = None;
        for f in &sent {
            match serde_json::from_str::<FromAgent>(f).unwrap() {
                FromAgent::Part {
                    message,
                    last,
                    text,
                } => whole = r.add(message, last, &text).unwrap(),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            serde_json::from_str::<FromAgent>(&whole.unwrap()).unwrap(),
            m
        );
        let small = FromAgent::Log {
            level: "info".into(),
            message: "hi".into(),
        };
        assert_eq!(
            frames(&small, 1, |message, last, text| FromAgent::Part {
                message,
                last,
                text
            })
            .unwrap()
            .len(),
            1
        );
    }

    #[test]
    fn a_message_over_the_limit_or_too_many_at_once_are_refused() {
        let mut r = Reassembly::default();
        let big = "x".repeat(PART_SLICE);
        let mut refused = None;
        for _ in 0..(MESSAGE_LIMIT / PART_SLICE + 2) {
            if let Err(e) = r.add(1, false, &big) {
                refused = Some(e);
                break;
            }
        }
        assert_eq!(refused, Some(WireError::TooLarge));
        for m in 0..IN_FLIGHT as u64 {
            r.add(100 + m, false, "a").unwrap();
        }
        assert_eq!(r.add(999, false, "a"), Err(WireError::TooMany));
    }
}
