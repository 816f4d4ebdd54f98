//! Turns the bytes of a `.bpmn` file into text, on the server: every encoding the WHATWG
//! Encoding Standard names (`encoding_rs`), the way browsers and bpmn-js's tools read
//! them. `shared` only ever sees a `&str`, so the encoding tables stay out of the wasm
//! bundle. Used by every place the server receives a BPMN file: `lwams bpmn check`,
//! `lwams flow run`, and the deploy / import API.
//!
//! The encoding is, in order: a byte order mark; UTF-16 recognised from `<?` without a
//! mark; the XML declaration's `encoding`; UTF-8. A declaration that is wrong does not
//! refuse the file: when the bytes are not valid in the declared encoding (or the label
//! names none), they are read as UTF-8 if they are valid UTF-8, else as windows-1252
//! (which reads every byte: Latin-1 and its Windows superset), with a warning naming
//! the line. A file declaring a single-byte encoding whose non-ASCII bytes are valid
//! UTF-8 was saved as UTF-8 and is read as such, also with a warning. The text handed
//! on says `encoding="UTF-8"` in its declaration, so what is stored and served again
//! says what it is.

use encoding_rs::{DecoderResult, Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};
use std::ops::Range;

/// Largest file read (the XML reader's own limit).
pub const MAX_INPUT_BYTES: usize = shared::bpmn::xml::MAX_INPUT_BYTES;

/// A file's text and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    /// The encoding the text was read in (its WHATWG name, e.g. `windows-1252`).
    pub encoding: &'static str,
    /// The declared encoding was wrong or unknown (the file still reads).
    pub warnings: Vec<DecodeWarning>,
}

/// Something the reader had to guess, with the line it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DecodeWarning {
    pub line: u32,
    pub message: String,
}

/// Why the bytes could not be read as text at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the file is larger than {} MB", MAX_INPUT_BYTES / 1024 / 1024)]
    TooLarge,
    /// UTF-16 (marked by a byte order mark or recognised from `<?`) with a broken
    /// surrogate or an odd byte at the end: there is nothing to fall back to.
    #[error("line {line}: the file is {encoding} (by its first bytes) but is not valid {encoding} from here on")]
    Malformed { encoding: &'static str, line: u32 },
}

/// The encoding declaration of an XML prolog: its label and where the label stands.
struct Declared {
    label: String,
    range: Range<usize>,
}

/// Finds `encoding="…"` in the XML declaration at the start of `text` (after a BOM).
fn declaration(text: &str) -> Option<Declared> {
    let skip_ws = |s: &str| {
        s.len()
            - s.trim_start_matches(|c: char| c.is_ascii_whitespace())
                .len()
    };
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let rest = &text[start..];
    if !rest.starts_with("<?xml") || !rest[5..].starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let decl = &text[..start + rest.find("?>")?];
    let mut at = start + 5;
    while let Some(i) = decl[at..].find("encoding") {
        let name_at = at + i;
        at = name_at + "encoding".len();
        if !decl[..name_at].ends_with(|c: char| c.is_ascii_whitespace()) {
            continue;
        }
        let mut p = at + skip_ws(&decl[at..]);
        if !decl[p..].starts_with('=') {
            continue;
        }
        p += 1;
        p += skip_ws(&decl[p..]);
        let quote = decl[p..]
            .chars()
            .next()
            .filter(|q| *q == '"' || *q == '\'')?;
        p += 1;
        let close = decl[p..].find(quote)?;
        return Some(Declared {
            label: decl[p..p + close].trim().to_string(),
            range: p..p + close,
        });
    }
    None
}

/// 1-based line of byte `pos` in an ASCII-compatible encoding.
fn line_of(bytes: &[u8], pos: usize) -> u32 {
    bytes[..pos.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u32
        + 1
}

/// Decodes strictly: the text, or the position of the first malformed sequence.
fn strict(encoding: &'static Encoding, bytes: &[u8]) -> Result<String, usize> {
    if encoding == UTF_8 {
        return std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|e| e.valid_up_to());
    }
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::InputEmpty => Ok(out),
        DecoderResult::Malformed(bad, extra) => {
            Err(read.saturating_sub(bad as usize + extra as usize))
        }
        // The buffer was sized for the worst case; treat the impossible as malformed.
        DecoderResult::OutputFull => Err(read),
    }
}

fn byte_at(bytes: &[u8], pos: usize) -> String {
    bytes
        .get(pos)
        .map(|b| format!("byte 0x{b:02X}"))
        .unwrap_or_else(|| "the end of the file".into())
}

/// Reads the bytes of a BPMN file as text (see the module documentation).
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(DecodeError::TooLarge);
    }
    let mut warnings = Vec::new();
    // 1. A byte order mark, or UTF-16 recognised from `<?` (XML 1.0 appendix F).
    let marked = Encoding::for_bom(bytes).or_else(|| match bytes {
        [0x3C, 0x00, 0x3F, 0x00, ..] => Some((UTF_16LE, 0)),
        [0x00, 0x3C, 0x00, 0x3F, ..] => Some((UTF_16BE, 0)),
        _ => None,
    });
    if let Some((encoding, skip)) = marked {
        let body = &bytes[skip..];
        let text = strict(encoding, body).map_err(|pos| {
            let lossy = encoding.decode_without_bom_handling(&body[..pos]).0;
            DecodeError::Malformed {
                encoding: encoding.name(),
                line: lossy.matches('\n').count() as u32 + 1,
            }
        })?;
        if let Some(d) = declaration(&text) {
            let named = Encoding::for_label(d.label.as_bytes());
            let agrees = named.is_some_and(|n| {
                n == encoding || (n == UTF_16LE && encoding == UTF_16BE) // "UTF-16" names both
            });
            if !agrees {
                warnings.push(DecodeWarning {
                    line: 1,
                    message: format!(
                        "the file declares encoding {:?} but starts with the marks of {}; read as {}",
                        d.label,
                        encoding.name(),
                        encoding.name()
                    ),
                });
            }
        }
        return Ok(finish(text, encoding, warnings));
    }

    // 2. The declaration (ASCII in every encoding that can be declared without a mark).
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]);
    let label = declaration(&head).map(|d| d.label);
    let declared = match &label {
        None => UTF_8,
        Some(l) => match Encoding::for_label_no_replacement(l.as_bytes()) {
            // A UTF-16 label on a file whose declaration reads as ASCII is wrong.
            Some(e) if e == UTF_16LE || e == UTF_16BE => {
                warnings.push(DecodeWarning {
                    line: 1,
                    message: format!(
                        "the file declares encoding {l:?} but its bytes are not UTF-16 (no byte order mark, `<?xml` in single bytes)"
                    ),
                });
                return Ok(fallback(bytes, warnings));
            }
            Some(e) => e,
            None => {
                warnings.push(DecodeWarning {
                    line: 1,
                    message: format!(
                        "encoding {l:?} is not one the WHATWG Encoding Standard can decode"
                    ),
                });
                return Ok(fallback(bytes, warnings));
            }
        },
    };
    let says = match &label {
        Some(l) => format!("declares encoding {l:?}"),
        None => "has no encoding declaration (so UTF-8)".to_string(),
    };

    // 3. A single-byte encoding declared over bytes that are UTF-8: saved as UTF-8.
    if declared.is_single_byte() && !bytes.is_ascii() {
        if let Ok(text) = std::str::from_utf8(bytes) {
            let first = bytes.iter().position(|b| !b.is_ascii()).unwrap_or(0);
            warnings.push(DecodeWarning {
                line: line_of(bytes, first),
                message: format!(
                    "the file {says} but its bytes are UTF-8 (from here on); read as UTF-8"
                ),
            });
            return Ok(finish(text.to_string(), UTF_8, warnings));
        }
    }

    // 4. The declared encoding, strictly; else the fallback.
    match strict(declared, bytes) {
        Ok(text) => Ok(finish(text, declared, warnings)),
        Err(pos) => {
            warnings.push(DecodeWarning {
                line: line_of(bytes, pos),
                message: format!(
                    "the file {says} but {} is not {}",
                    byte_at(bytes, pos),
                    declared.name()
                ),
            });
            Ok(fallback(bytes, warnings))
        }
    }
}

/// UTF-8 if the bytes are valid UTF-8, else windows-1252 (reads every byte).
fn fallback(bytes: &[u8], mut warnings: Vec<DecodeWarning>) -> Decoded {
    let (text, encoding) = match std::str::from_utf8(bytes) {
        Ok(t) => (t.to_string(), UTF_8),
        Err(_) => (
            WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
            WINDOWS_1252,
        ),
    };
    if let Some(last) = warnings.last_mut() {
        last.message
            .push_str(&format!("; read as {}", encoding.name()));
        if encoding == WINDOWS_1252 {
            last.message.push_str(" (Latin-1)");
        }
    }
    finish(text, encoding, warnings)
}

/// The declaration rewritten to say UTF-8 (the text is Unicode from now on).
fn finish(mut text: String, encoding: &'static Encoding, warnings: Vec<DecodeWarning>) -> Decoded {
    if let Some(d) = declaration(&text) {
        if d.label != "UTF-8" {
            text.replace_range(d.range, "UTF-8");
        }
    }
    Decoded {
        text,
        encoding: encoding.name(),
        warnings,
    }
}

/// A file that arrives as text (a JSON body): already Unicode, whatever its declaration
/// says, which is rewritten to UTF-8. A declaration of another encoding over text
/// holding U+FFFD replacement characters means it was read in the wrong encoding before
/// it was sent: that is warned, naming the line.
pub fn from_text(text: String) -> Decoded {
    let text = match text.strip_prefix('\u{feff}') {
        Some(t) => t.to_string(),
        None => text,
    };
    let mut warnings = Vec::new();
    if let Some(d) = declaration(&text) {
        let utf8 = Encoding::for_label(d.label.as_bytes()) == Some(UTF_8);
        if let (false, Some(pos)) = (utf8, text.find('\u{fffd}')) {
            warnings.push(DecodeWarning {
                line: line_of(text.as_bytes(), pos),
                message: format!(
                    "the file declares encoding {:?} but was read as UTF-8 before it was sent (it holds U+FFFD replacement characters): send its bytes to be decoded on the server",
                    d.label
                ),
            });
        }
    }
    finish(text, UTF_8, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(encoding: &str, body: &[u8]) -> Vec<u8> {
        let mut b = format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n<r>\n").into_bytes();
        b.extend_from_slice(body);
        b.extend_from_slice(b"\n</r>");
        b
    }

    #[test]
    fn every_whatwg_encoding_is_decoded_and_the_declaration_says_utf8_after() {
        let cases: &[(&str, &[u8], &str, &str)] = &[
            (
                "windows-1252",
                b"caf\xe9 \x80 \x93ok\x94",
                "café € “ok”",
                "windows-1252",
            ),
            ("ISO-8859-1", b"caf\xe9", "café", "windows-1252"),
            ("latin1", b"na\xefve", "naïve", "windows-1252"),
            ("ISO-8859-2", b"\xb3\xf3d\xbc", "łódź", "ISO-8859-2"),
            (
                "windows-1251",
                b"\xcf\xf0\xe8\xe2\xe5\xf2",
                "Привет",
                "windows-1251",
            ),
            ("KOI8-R", b"\xf0\xd2\xc9\xd7\xc5\xd4", "Привет", "KOI8-R"),
            ("Shift_JIS", b"\x93\xfa\x96\x7b", "日本", "Shift_JIS"),
            ("GBK", b"\xc9\xf3\xc5\xfa", "审批", "GBK"),
            ("GB2312", b"\xc9\xf3\xc5\xfa", "审批", "GBK"),
            ("Big5", b"\xa4\xa4\xa4\xe5", "中文", "Big5"),
            ("EUC-KR", b"\xc7\xd1\xb1\xb9", "한국", "EUC-KR"),
            ("utf-8", "grüße".as_bytes(), "grüße", "UTF-8"),
        ];
        for (label, body, expected, name) in cases {
            let d = decode(&file(label, body)).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(d.text.contains(expected), "{label}: {:?}", d.text);
            assert_eq!(d.encoding, *name, "{label}");
            assert!(d.warnings.is_empty(), "{label}: {:?}", d.warnings);
            assert!(
                d.text
                    .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r>"),
                "{label}: {:?}",
                d.text
            );
            let root = shared::bpmn::xml::parse(&d.text).unwrap();
            assert!(root.text().contains(expected), "{label}");
        }
    }

    #[test]
    fn utf16_is_read_by_its_byte_order_mark_or_its_first_characters() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<r>中文 é</r>";
        let le: Vec<u8> = xml.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = xml.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (bytes, name) in [
            ([&[0xFF, 0xFE][..], &le].concat(), "UTF-16LE"),
            ([&[0xFE, 0xFF][..], &be].concat(), "UTF-16BE"),
            (le.clone(), "UTF-16LE"),
            (be.clone(), "UTF-16BE"),
        ] {
            let d = decode(&bytes).unwrap();
            assert_eq!(d.encoding, name);
            assert!(d.warnings.is_empty(), "{:?}", d.warnings);
            assert_eq!(
                d.text,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r>中文 é</r>"
            );
        }
        let mut broken = [&[0xFF, 0xFE][..], &le].concat();
        broken.extend_from_slice(&[0x00, 0xD8, b'x', 0]); // a lone high surrogate
        let e = decode(&broken).unwrap_err();
        assert!(matches!(e, DecodeError::Malformed { line: 2, .. }), "{e:?}");
    }

    #[test]
    fn a_utf8_bom_wins_over_a_wrong_declaration_with_a_warning() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(file("windows-1252", "é".as_bytes()));
        let d = decode(&bytes).unwrap();
        assert_eq!(d.encoding, "UTF-8");
        assert!(d.text.contains("<r>\né") && !d.text.starts_with('\u{feff}'));
        assert!(
            d.warnings[0].message.contains("windows-1252"),
            "{:?}",
            d.warnings
        );
    }

    #[test]
    fn declared_utf8_with_latin1_bytes_falls_back_to_windows_1252_naming_the_line() {
        let d = decode(&file("UTF-8", b"ok\ncaf\xe9")).unwrap();
        assert_eq!(d.encoding, "windows-1252");
        assert!(d.text.contains("café"));
        assert_eq!(d.warnings.len(), 1);
        let w = &d.warnings[0];
        assert_eq!(w.line, 4, "{w}");
        assert!(
            w.message.contains("\"UTF-8\"")
                && w.message.contains("0xE9")
                && w.message.contains("read as windows-1252"),
            "{w}"
        );
        // No declaration at all means UTF-8: the same fallback.
        let d = decode(b"<r>caf\xe9</r>").unwrap();
        assert_eq!(
            (d.text.as_str(), d.encoding),
            ("<r>café</r>", "windows-1252")
        );
        assert!(d.warnings[0].message.contains("no encoding declaration"));
    }

    #[test]
    fn a_single_byte_declaration_over_utf8_bytes_is_read_as_utf8_with_a_warning() {
        let d = decode(&file("ISO-8859-1", "x\ncafé".as_bytes())).unwrap();
        assert_eq!(d.encoding, "UTF-8");
        assert!(d.text.contains("café"), "{}", d.text);
        assert_eq!(d.warnings[0].line, 4);
        assert!(d.warnings[0].message.contains("bytes are UTF-8"));
        // ASCII only: nothing to say.
        assert!(decode(&file("ISO-8859-1", b"plain"))
            .unwrap()
            .warnings
            .is_empty());
    }

    #[test]
    fn a_multi_byte_declaration_that_does_not_fit_falls_back() {
        // Not Shift_JIS (0x81 then 0x20 is no character), not UTF-8: windows-1252.
        let d = decode(&file("Shift_JIS", b"\x81 x")).unwrap();
        assert_eq!(d.encoding, "windows-1252");
        assert!(d.warnings[0].message.contains("0x81"), "{:?}", d.warnings);
        // Declared GBK, written in UTF-8 with an odd number of bytes: read as UTF-8.
        let d = decode(&file("GBK", "审".as_bytes())).unwrap();
        assert_eq!(d.encoding, "UTF-8");
        assert!(d.text.contains('审'));
        assert!(d.warnings[0].message.contains("read as UTF-8"));
    }

    #[test]
    fn unknown_and_undecodable_labels_fall_back_with_a_warning() {
        for label in ["EBCDIC-cp-us", "ISO-2022-KR", "UTF-16"] {
            let d = decode(&file(label, "é".as_bytes())).unwrap();
            assert_eq!(d.encoding, "UTF-8", "{label}");
            assert!(d.text.contains('é'));
            assert!(d.warnings[0].message.contains(label), "{:?}", d.warnings);
            assert!(d.text.contains("encoding=\"UTF-8\""));
        }
        let d = decode(&file("x-unknown", b"\xe9")).unwrap();
        assert_eq!(d.encoding, "windows-1252");
    }

    #[test]
    fn lines_are_kept_when_the_declaration_is_rewritten() {
        let bytes =
            b"<?xml version='1.0'\n   encoding = 'latin1' standalone='yes' ?>\n<r a='\xe9'/>";
        let d = decode(bytes).unwrap();
        assert_eq!(
            d.text,
            "<?xml version='1.0'\n   encoding = 'UTF-8' standalone='yes' ?>\n<r a='é'/>"
        );
        let root = shared::bpmn::xml::parse(&d.text).unwrap();
        assert_eq!((root.line, root.attr("a")), (3, Some("é")));
    }

    #[test]
    fn text_from_json_gets_its_declaration_rewritten_and_replacement_characters_warned() {
        let d = from_text("<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<r>café</r>".into());
        assert!(d.warnings.is_empty());
        assert!(d.text.contains("encoding=\"UTF-8\"") && d.text.contains("café"));
        let d = from_text(
            "\u{feff}<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<r>caf\u{fffd}</r>".into(),
        );
        assert_eq!(d.warnings[0].line, 2);
        assert!(d.warnings[0].message.contains("U+FFFD"));
        assert!(d.text.starts_with("<?xml"));
    }

    #[test]
    fn oversized_files_are_refused() {
        let big = vec![b' '; MAX_INPUT_BYTES + 1];
        assert_eq!(decode(&big), Err(DecodeError::TooLarge));
    }
}
