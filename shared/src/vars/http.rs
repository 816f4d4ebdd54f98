//! Values in an HTTP request, encoded for where they stand: in a URL's path or query
//! percent-encoded (a value that is the whole start of the URL — `${base}/v1` — is
//! the base address and kept as it is; in the host part it may not hold `/ ? # @ \`);
//! in a header refused when it holds a line break (it would start another header); in
//! a JSON body (a JSON Content-Type, or a body that parses as JSON around its
//! placeholders) JSON-encoded. `${raw:…}` is inserted as written everywhere.

use super::{lookup_json, pieces, Piece, Root, VarError};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpValueError {
    #[error(transparent)]
    Var(#[from] VarError),
    #[error(
        "${{{path}}} is in the URL's host part and holds {found:?}, which would change where \
         the request goes"
    )]
    Host { path: String, found: char },
    #[error(
        "the value of header {header} holds a line break (CR or LF) or NUL, which would start \
         another header"
    )]
    HeaderBreak { header: String },
    #[error("line {line}: `Name: value`, not {text:?}")]
    HeaderLine { line: usize, text: String },
    #[error("{name:?} is not a header name")]
    HeaderName { name: String },
    #[error("not a JSON object: {0}")]
    HeadersJson(String),
}

/// Characters kept as they are in a URL component (RFC 3986's unreserved ones).
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `v` percent-encoded as one URL component (a path segment, a query name or value):
/// everything but the unreserved characters, `/ ? & = + #` and spaces included.
pub fn percent_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if unreserved(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where in a URL the text written so far ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlPart {
    Start,
    Host,
    Path,
    Query,
}

fn url_part(so_far: &str) -> UrlPart {
    if so_far.is_empty() {
        return UrlPart::Start;
    }
    if so_far.contains(['?', '#']) {
        return UrlPart::Query;
    }
    let after_scheme = match so_far.find("://") {
        Some(i) => &so_far[i + 3..],
        None => so_far,
    };
    if after_scheme.contains('/') {
        UrlPart::Path
    } else {
        UrlPart::Host
    }
}

/// The URL of `template`: values percent-encoded in the path, query and fragment; a
/// value at the very start kept as the base address; a value in the host part checked.
pub fn url(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, HttpValueError> {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece? {
            Piece::Text(t) => out.push_str(t),
            Piece::Var { path, raw, .. } => {
                let v = lookup(path).ok_or_else(|| VarError::Unknown(path.to_string()))?;
                match (raw, url_part(&out)) {
                    (true, _) | (false, UrlPart::Start) => out.push_str(&v),
                    (false, UrlPart::Host) => {
                        if let Some(found) = v.chars().find(|c| {
                            matches!(c, '/' | '?' | '#' | '@' | '\\')
                                || c.is_whitespace()
                                || c.is_control()
                        }) {
                            return Err(HttpValueError::Host {
                                path: path.to_string(),
                                found,
                            });
                        }
                        out.push_str(&v);
                    }
                    (false, UrlPart::Path | UrlPart::Query) => out.push_str(&percent_encode(&v)),
                }
            }
        }
    }
    Ok(out)
}

/// What a placeholder of a JSON text becomes when the text is tried as JSON.
fn json_stand_in(in_string: bool) -> &'static str {
    if in_string {
        ""
    } else {
        "0"
    }
}

/// Replaces the placeholders of a JSON template, knowing whether each sits inside a
/// JSON string: `inside(value)` / `outside(value)` give what to write (`path`, raw).
fn json_template(
    template: &str,
    mut put: impl FnMut(&str, bool, bool) -> Result<String, HttpValueError>,
) -> Result<String, HttpValueError> {
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    for piece in pieces(template) {
        match piece? {
            Piece::Text(t) => {
                for c in t.chars() {
                    if in_string {
                        if escaped {
                            escaped = false;
                        } else if c == '\\' {
                            escaped = true;
                        } else if c == '"' {
                            in_string = false;
                        }
                    } else if c == '"' {
                        in_string = true;
                    }
                    out.push(c);
                }
            }
            Piece::Var { path, raw, .. } => {
                escaped = false;
                out.push_str(&put(path, raw, in_string)?);
            }
        }
    }
    Ok(out)
}

/// Whether `template` reads as JSON once its placeholders are put in.
pub fn looks_like_json(template: &str) -> bool {
    let trimmed = template.trim_start();
    if !trimmed.starts_with(['{', '[']) {
        return false;
    }
    json_template(template, |_, _, in_string| {
        Ok(json_stand_in(in_string).to_string())
    })
    .ok()
    .is_some_and(|t| serde_json::from_str::<Value>(&t).is_ok())
}

/// The body of a JSON template: a value inside a JSON string escaped for it, a value
/// outside strings written as a JSON value (a string quoted, a number or object as it
/// is), `${raw:…}` as written.
fn json_body(template: &str, root: Root<'_>) -> Result<String, HttpValueError> {
    json_template(template, |path, raw, in_string| {
        let v =
            super::lookup_value(root, path).ok_or_else(|| VarError::Unknown(path.to_string()))?;
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok(if raw {
            text
        } else if in_string {
            let quoted = serde_json::to_string(&text).unwrap_or_default();
            quoted
                .get(1..quoted.len().saturating_sub(1))
                .unwrap_or_default()
                .to_string()
        } else {
            serde_json::to_string(v).unwrap_or_default()
        })
    })
}

/// The body of a request: JSON-encoded values when the Content-Type says JSON or the
/// body reads as JSON around its placeholders, else the values as plain text.
pub fn body<'a>(
    template: &str,
    content_type: Option<&str>,
    root: impl Into<Root<'a>>,
) -> Result<String, HttpValueError> {
    let root = root.into();
    let json = content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json"))
        || looks_like_json(template);
    if json {
        return json_body(template, root);
    }
    Ok(super::resolve(
        template,
        |p| lookup_json(root, p),
        |v| v.to_string(),
    )?)
}

/// Whether `name` is an HTTP header name (RFC 9110's token).
fn header_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn header(name: String, value: String) -> Result<(String, String), HttpValueError> {
    if !header_name_ok(&name) {
        return Err(HttpValueError::HeaderName { name });
    }
    if value.contains(['\r', '\n', '\0']) {
        return Err(HttpValueError::HeaderBreak { header: name });
    }
    Ok((name, value))
}

/// The first `:` written in `line` (not one inside a placeholder).
fn first_colon(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"$${") {
            i += 3;
        } else if b[i..].starts_with(b"${") {
            i += line[i..].find('}')? + 1;
        } else if b[i] == b':' {
            return Some(i);
        } else {
            i += 1;
        }
    }
    None
}

/// `lwams:headers`: one `Name: value` per line, or a JSON object; each name and value
/// resolved on its own (a value never adds a line), a value with CR, LF or NUL refused
/// naming its header.
pub fn headers<'a>(
    template: &str,
    root: impl Into<Root<'a>>,
) -> Result<Vec<(String, String)>, HttpValueError> {
    let root = root.into();
    let plain = |t: &str| super::resolve(t, |p| lookup_json(root, p), |v| v.to_string());
    if template.trim_start().starts_with('{') {
        let text = json_body(template, root)?;
        let m: Map<String, Value> =
            serde_json::from_str(&text).map_err(|e| HttpValueError::HeadersJson(e.to_string()))?;
        return m
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                header(k, v)
            })
            .collect();
    }
    let mut out = Vec::new();
    for (i, line) in template.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let colon = first_colon(line);
        let Some(colon) = colon.filter(|c| *c > 0) else {
            return Err(HttpValueError::HeaderLine {
                line: i + 1,
                text: line.to_string(),
            });
        };
        let name = plain(line[..colon].trim())?;
        let value = plain(line[colon + 1..].trim())?;
        out.push(header(name.trim().to_string(), value.trim().to_string())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Value {
        json!({
            "base": "https://api.example/v2",
            "id": "7/../admin?x=1#f",
            "q": "a b&c=d+e/ü",
            "host": "evil.example/x",
            "name": "node-1.local:8443",
            "n": 5,
            "obj": {"a": [1, "x"]},
            "text": "he said \"hi\"\n\\ ok",
            "crlf": "v\r\nX-Admin: true",
        })
    }

    fn look(root: &Value) -> impl Fn(&str) -> Option<String> + '_ {
        move |p| lookup_json(root, p)
    }

    #[test]
    fn vars_http_url_values_are_percent_encoded_in_path_and_query_not_as_the_base() {
        let v = vars();
        assert_eq!(
            url("${base}/items/${id}?q=${q}&raw=${raw:q}", look(&v)).unwrap(),
            "https://api.example/v2/items/7%2F..%2Fadmin%3Fx%3D1%23f?q=a%20b%26c%3Dd%2Be%2F%C3%BC&raw=a b&c=d+e/ü"
        );
        assert_eq!(
            url("https://${name}/x/${n}", look(&v)).unwrap(),
            "https://node-1.local:8443/x/5"
        );
        assert_eq!(
            url("https://h/p#${q}", look(&v)).unwrap(),
            "https://h/p#a%20b%26c%3Dd%2Be%2F%C3%BC"
        );
        let e = url("https://${host}/x", look(&v)).unwrap_err();
        assert_eq!(
            e,
            HttpValueError::Host {
                path: "host".into(),
                found: '/'
            }
        );
        assert!(matches!(
            url("https://h/${nope}", look(&v)),
            Err(HttpValueError::Var(VarError::Unknown(_)))
        ));
    }

    #[test]
    fn vars_http_header_values_cannot_add_a_line_and_the_error_names_the_header() {
        let v = vars();
        assert_eq!(
            headers(
                "Accept: application/json\n\nX-Trace: ${q}:${n}\n${raw:name}x: 1",
                &v
            )
            .unwrap_err(),
            HttpValueError::HeaderName {
                name: "node-1.local:8443x".into()
            },
            "a name is checked too"
        );
        assert_eq!(
            headers("Accept: application/json\n\nX-Trace: ${q}:${n}", &v).unwrap(),
            vec![
                ("Accept".to_string(), "application/json".to_string()),
                ("X-Trace".to_string(), "a b&c=d+e/ü:5".to_string())
            ]
        );
        let e = headers("Accept: */*\nX-User: ${crlf}", &v).unwrap_err();
        assert_eq!(
            e,
            HttpValueError::HeaderBreak {
                header: "X-User".into()
            }
        );
        assert!(e.to_string().contains("X-User"), "{e}");
        let e = headers(r#"{"X-User": "${crlf}", "X-N": ${n}}"#, &v).unwrap_err();
        assert_eq!(
            e,
            HttpValueError::HeaderBreak {
                header: "X-User".into()
            }
        );
        assert_eq!(
            headers(
                r#"{"X-N": ${n}, "X-T": "<${text}>"}"#,
                &json!({"n": 1, "text": "a\"b"})
            )
            .unwrap(),
            vec![
                ("X-N".to_string(), "1".to_string()),
                ("X-T".to_string(), "<a\"b>".to_string())
            ]
        );
        let e = headers("Accept application/json", &v).unwrap_err();
        assert!(e.to_string().starts_with("line 1"), "{e}");
    }

    #[test]
    fn vars_http_json_bodies_get_json_encoded_values_and_others_plain_text() {
        let v = vars();
        let template =
            r#"{"name": "${text}", "n": ${n}, "obj": ${obj}, "s": ${q}, "raw": ${raw:n}}"#;
        assert!(looks_like_json(template));
        let b = body(template, None, &v).unwrap();
        let parsed: Value = serde_json::from_str(&b).unwrap();
        assert_eq!(
            parsed,
            json!({"name": "he said \"hi\"\n\\ ok", "n": 5, "obj": {"a": [1, "x"]}, "s": "a b&c=d+e/ü", "raw": 5})
        );
        // A value that would break out of its string stays inside it.
        let evil = json!({"v": "\", \"admin\": true, \"x\": \""});
        let b = body(r#"{"user": "${v}"}"#, None, &evil).unwrap();
        let parsed: Value = serde_json::from_str(&b).unwrap();
        assert_eq!(parsed.as_object().unwrap().len(), 1, "{b}");
        assert_eq!(parsed["user"], evil["v"]);
        // The Content-Type decides for a body that is not JSON until filled in.
        let b = body(
            r#"["${text}", ${raw:obj}"#,
            Some("application/json; charset=utf-8"),
            &v,
        )
        .unwrap();
        assert!(b.starts_with(r#"["he said \"hi\"\n\\ ok", {"#), "{b}");
        assert_eq!(
            body("name=${text}", None, &v).unwrap(),
            "name=he said \"hi\"\n\\ ok",
            "not JSON: as written"
        );
    }
}
