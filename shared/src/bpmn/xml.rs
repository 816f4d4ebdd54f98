//! A small XML tree for BPMN files, read with quick-xml's streaming reader and written
//! back out. It keeps what BPMN tools care about — every element, attribute (in order,
//! with its prefix), text, CDATA and comment — so elements LWAMS does not execute
//! survive a load/save unchanged.
//!
//! Hostile input is refused early: DTDs (and with them entity expansion and external
//! entities) are not allowed, nesting is limited, and so are input and attribute sizes.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Limits applied while reading.
pub const MAX_INPUT_BYTES: usize = 20 * 1024 * 1024;
pub const MAX_DEPTH: usize = 256;
pub const MAX_ATTR_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
    CData(String),
    Comment(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The qualified name as written (`bpmn:task`, `task`).
    pub name: String,
    /// Attributes in document order, names as written (`xmlns:bpmn`, `lwams:host`).
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    /// 1-based line of the start tag (not part of equality comparisons' meaning; see
    /// `Element::same_content`).
    pub line: u32,
}

/// A reading error with the line it happened on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct XmlError {
    pub line: u32,
    pub message: String,
}

impl Element {
    /// The local part of the name (`task` for `bpmn:task`).
    pub fn local(&self) -> &str {
        local_name(&self.name)
    }

    /// The prefix of the name, if any.
    pub fn prefix(&self) -> Option<&str> {
        self.name.split_once(':').map(|(p, _)| p)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// Text content of the element (text and CDATA children, concatenated).
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            match n {
                Node::Text(t) | Node::CData(t) => s.push_str(t),
                _ => {}
            }
        }
        s
    }

    /// Equality of names, attributes and content, ignoring line numbers and
    /// whitespace-only text between elements.
    pub fn same_content(&self, other: &Element) -> bool {
        if self.name != other.name || self.attrs != other.attrs {
            return false;
        }
        let a: Vec<_> = self.children.iter().filter(|n| !is_blank(n)).collect();
        let b: Vec<_> = other.children.iter().filter(|n| !is_blank(n)).collect();
        a.len() == b.len()
            && a.iter().zip(b.iter()).all(|(x, y)| match (x, y) {
                (Node::Element(x), Node::Element(y)) => x.same_content(y),
                (x, y) => x == y,
            })
    }
}

fn is_blank(n: &Node) -> bool {
    matches!(n, Node::Text(t) if t.trim().is_empty())
}

pub fn local_name(qname: &str) -> &str {
    qname.rsplit_once(':').map(|(_, l)| l).unwrap_or(qname)
}

/// Line numbers for increasing byte positions, counted incrementally.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    line: u32,
}

impl LineCounter {
    fn at(&mut self, input: &str, pos: usize) -> u32 {
        let pos = pos.min(input.len());
        if pos < self.pos {
            return line_at(input, pos);
        }
        self.line += input.as_bytes()[self.pos..pos]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u32;
        self.pos = pos;
        self.line + 1
    }
}

fn line_at(input: &str, pos: usize) -> u32 {
    let pos = pos.min(input.len());
    input.as_bytes()[..pos]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u32
        + 1
}

/// Decodes the bytes of a UTF-8 file (with or without BOM). Files in other encodings
/// are decoded on the server (`server::bpmn_decode`: every WHATWG encoding, fallbacks
/// for wrong declarations), which keeps the encoding tables out of the wasm bundle.
pub fn decode(bytes: &[u8]) -> Result<String, XmlError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8(bytes.to_vec()).map_err(|e| XmlError {
        line: line_at(
            &String::from_utf8_lossy(bytes),
            e.utf8_error().valid_up_to(),
        ),
        message: "the file is not valid UTF-8".into(),
    })
}

/// Reads a document into its root element.
pub fn parse(input: &str) -> Result<Element, XmlError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(XmlError {
            line: 1,
            message: format!(
                "the file is larger than {} MB",
                MAX_INPUT_BYTES / 1024 / 1024
            ),
        });
    }
    let mut reader = Reader::from_str(input);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut lines = LineCounter::default();
    loop {
        let pos = reader.buffer_position() as usize;
        let line = lines.at(input, pos);
        let err = |message: String| XmlError { line, message };
        let event = reader.read_event().map_err(|e| XmlError {
            line: line_at(input, reader.error_position() as usize),
            message: e.to_string(),
        })?;
        match event {
            Event::Start(s) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(format!(
                        "elements are nested deeper than {MAX_DEPTH} levels"
                    )));
                }
                stack.push(start_element(&s, line).map_err(err)?);
            }
            Event::Empty(s) => {
                let e = start_element(&s, line).map_err(err)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(e)),
                    None if root.is_none() => root = Some(e),
                    None => return Err(err("more than one root element".into())),
                }
            }
            Event::End(_) => {
                let e = stack
                    .pop()
                    .ok_or_else(|| err("unexpected end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(e)),
                    None if root.is_none() => root = Some(e),
                    None => return Err(err("more than one root element".into())),
                }
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| err(e.to_string()))?.into_owned();
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::Text(text));
                } else if !text.trim().is_empty() {
                    return Err(err("text outside the root element".into()));
                }
            }
            Event::CData(c) => {
                let text = String::from_utf8(c.into_inner().into_owned())
                    .map_err(|e| err(e.to_string()))?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::CData(text));
                }
            }
            Event::Comment(c) => {
                let text = String::from_utf8(c.into_inner().into_owned())
                    .map_err(|e| err(e.to_string()))?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::Comment(text));
                }
            }
            Event::DocType(_) => {
                return Err(err(
                    "DOCTYPE declarations are not allowed in BPMN files (no DTDs, no entities)"
                        .into(),
                ))
            }
            Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(XmlError {
            line: open.line,
            message: format!("element <{}> is never closed", open.name),
        });
    }
    root.ok_or(XmlError {
        line: 1,
        message: "the file has no root element".into(),
    })
}

fn start_element(s: &BytesStart<'_>, line: u32) -> Result<Element, String> {
    let name = String::from_utf8(s.name().as_ref().to_vec()).map_err(|e| e.to_string())?;
    let mut attrs = Vec::new();
    for a in s.attributes() {
        let a = a.map_err(|e| format!("<{name}>: {e}"))?;
        let key = String::from_utf8(a.key.as_ref().to_vec()).map_err(|e| e.to_string())?;
        if a.value.len() > MAX_ATTR_BYTES {
            return Err(format!(
                "<{name}> attribute {key} is longer than {} KB",
                MAX_ATTR_BYTES / 1024
            ));
        }
        let value = a
            .unescape_value()
            .map_err(|e| format!("<{name}> attribute {key}: {e}"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        line,
    })
}

/// Writes a document (UTF-8, with an XML declaration).
pub fn write(root: &Element) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    write_element(root, &mut out);
    out.push('\n');
    out
}

fn write_element(e: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        escape_into(v, true, out);
        out.push('"');
    }
    if e.children.is_empty() {
        out.push_str(" />");
        return;
    }
    out.push('>');
    for n in &e.children {
        match n {
            Node::Element(c) => write_element(c, out),
            Node::Text(t) => escape_into(t, false, out),
            Node::CData(t) => {
                out.push_str("<![CDATA[");
                out.push_str(&t.replace("]]>", "]]]]><![CDATA[>"));
                out.push_str("]]>");
            }
            Node::Comment(t) => {
                out.push_str("<!--");
                out.push_str(t);
                out.push_str("-->");
            }
        }
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

fn escape_into(s: &str, attr: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_back_the_same_content() {
        let src = "<?xml version=\"1.0\"?>\n<a:root xmlns:a=\"urn:a\" x=\"1 &amp; 2\">\n  <a:child y='&lt;&quot;'>text &gt; more</a:child>\n  <!-- note --><![CDATA[raw <b>]]><empty/>\n</a:root>";
        let root = parse(src).unwrap();
        assert_eq!(root.local(), "root");
        assert_eq!(root.prefix(), Some("a"));
        assert_eq!(root.attr("x"), Some("1 & 2"));
        let child = root.elements().next().unwrap();
        assert_eq!(child.line, 3);
        assert_eq!(child.attr("y"), Some("<\""));
        assert_eq!(child.text(), "text > more");
        let again = parse(&write(&root)).unwrap();
        assert!(root.same_content(&again));
        assert_eq!(again, parse(&write(&again)).unwrap(), "writing is stable");
    }

    #[test]
    fn attribute_newlines_survive() {
        let root = parse("<r cmd=\"a&#10;b\"/>").unwrap();
        assert_eq!(root.attr("cmd"), Some("a\nb"));
        assert_eq!(parse(&write(&root)).unwrap().attr("cmd"), Some("a\nb"));
    }

    #[test]
    fn hostile_documents_are_refused_with_a_line() {
        let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>\n<r>&lol2;</r>";
        let e = parse(laughs).unwrap_err();
        assert!(e.message.contains("DOCTYPE"), "{e}");
        assert_eq!(e.line, 2);
        let xxe = "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
        assert!(parse(xxe).is_err());
        assert!(parse("<r>&undefined;</r>").is_err());
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
        let e = parse("<a>\n<b>\n</a>").unwrap_err();
        assert!(e.line >= 2, "{e}");
        assert!(parse("<a></a><b/>").is_err());
        assert!(parse("").is_err());
        let huge = format!("<a v=\"{}\"/>", "x".repeat(MAX_ATTR_BYTES + 1));
        assert!(parse(&huge).unwrap_err().message.contains("longer"));
    }

    #[test]
    fn utf8_files_are_decoded_and_others_refused_naming_the_line() {
        assert_eq!(
            decode("\u{feff}<r n=\"é\"/>".as_bytes()).unwrap(),
            "<r n=\"é\"/>"
        );
        let e = decode(b"<r>\n<n>caf\xe9</n></r>").unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "the file is not valid UTF-8")
        );
    }
}
