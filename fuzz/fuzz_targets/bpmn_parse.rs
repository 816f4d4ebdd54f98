//! Fuzzes the BPMN reader: any input must parse or fail cleanly, never panic or hang,
//! and whatever parses must validate and survive the round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::bpmn::{round_trip, validate, Document};

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = Document::parse_bytes(data) {
        let _ = validate(&doc);
        let _ = round_trip(&doc);
    }
});
