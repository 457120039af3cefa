//! Transcripts: what a decode produced, written out byte for byte, so that `sse_decode` can
//! compare two decodes exactly without building owned records.
//!
//! They replace a 64-bit digest of the same items. Equal transcripts mean equal records, so no
//! collision can hide a difference, and two transcripts are compared by the C library's
//! `memcmp`. They are not cheaper to write under comparison tracing: each `Vec` write checks
//! its length and capacity, and those checks are traced as a hasher's length checks were
//! (fuzz/README.md, "Speed of the codec targets").
//!
//! Encoding: a tag byte, then each variable-length field's length (8 bytes, little-endian), then
//! the fields' bytes in the same order. The tag fixes the number of fields and the lengths fix
//! where each ends, so the encoding is injective: two sequences of records (or raw items) have
//! equal transcripts exactly when they are equal.

use crate::sse::{EventRef, RawItem, RecordRef};

/// Appends `record`.
pub(super) fn push_record(out: &mut Vec<u8>, record: RecordRef<'_>) {
    match record {
        RecordRef::Event(EventRef {
            event_type,
            data,
            last_event_id,
        }) => push_fields(
            out,
            b'E',
            [
                event_type.as_bytes(),
                data.as_bytes(),
                last_event_id.as_bytes(),
            ],
        ),
        RecordRef::Retry(millis) => push_fields(out, b'R', [&millis.to_le_bytes()]),
    }
}

/// Appends `item`.
pub(super) fn push_raw_item(out: &mut Vec<u8>, item: RawItem<'_>) {
    match item {
        RawItem::Comment(text) => push_fields(out, b'C', [text]),
        RawItem::Field { name, value } => push_fields(out, b'F', [name, value]),
        RawItem::End => out.push(b'.'),
    }
}

/// Appends the tag and the `N` fields' lengths in one write, then each field.
fn push_fields<const N: usize>(out: &mut Vec<u8>, tag: u8, fields: [&[u8]; N]) {
    let mut header = [[0; 8]; N];
    for (length, field) in header.iter_mut().zip(fields) {
        *length = (field.len() as u64).to_le_bytes();
    }
    out.push(tag);
    out.extend_from_slice(header.as_flattened());
    for field in fields {
        out.extend_from_slice(field);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn event<'a>(event_type: &'a str, data: &'a str, id: &'a str) -> RecordRef<'a> {
        RecordRef::Event(EventRef {
            event_type,
            data,
            last_event_id: id,
        })
    }

    fn records(records: &[RecordRef<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for &record in records {
            push_record(&mut out, record);
        }
        out
    }

    fn raw(items: &[RawItem<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for &item in items {
            push_raw_item(&mut out, item);
        }
        out
    }

    #[test]
    fn moving_bytes_between_fields_or_records_changes_the_transcript() {
        assert_ne!(
            records(&[event("ab", "c", "")]),
            records(&[event("a", "bc", "")])
        );
        assert_ne!(
            records(&[event("a", "", "")]),
            records(&[event("", "", "a")])
        );
        assert_ne!(
            records(&[event("m", "x", ""), event("m", "y", "")]),
            records(&[event("m", "x\nm", ""), event("", "y", "")])
        );
        assert_ne!(
            records(&[RecordRef::Retry(1)]),
            records(&[RecordRef::Retry(256)])
        );
        let field = |name, value| RawItem::Field { name, value };
        assert_ne!(raw(&[field(b"a", b"")]), raw(&[RawItem::Comment(b"a")]));
        assert_ne!(raw(&[field(b"ab", b"")]), raw(&[field(b"a", b"b")]));
        assert_ne!(raw(&[RawItem::End]), raw(&[]));
    }

    proptest! {
        /// Transcripts are equal exactly when the sequences of records are: the encoding loses
        /// nothing and adds no ambiguity.
        #[test]
        fn transcripts_are_equal_exactly_when_records_are(
            a in proptest::collection::vec(("[ab]{0,2}", "[ab\n]{0,3}", "[a]{0,1}", 0..3u64), 0..4),
            b in proptest::collection::vec(("[ab]{0,2}", "[ab\n]{0,3}", "[a]{0,1}", 0..3u64), 0..4),
        ) {
            let as_records = |list: &[(String, String, String, u64)]| -> Vec<u8> {
                let mut out = Vec::new();
                for (event_type, data, id, retry) in list {
                    push_record(&mut out, event(event_type, data, id));
                    if *retry > 0 {
                        push_record(&mut out, RecordRef::Retry(*retry));
                    }
                }
                out
            };
            prop_assert_eq!(as_records(&a) == as_records(&b), a == b);
        }
    }
}
