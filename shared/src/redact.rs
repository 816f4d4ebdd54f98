//! Masking secrets in what is shown or recorded: node inputs and outputs, the host's
//! recent tasks, the Sub Manager's journal, logs. One rule set, used everywhere:
//!
//! - **known secret values** (a terminal account's password or key, a data source's
//!   password, later global variables marked secret) wherever they occur, also in the
//!   forms a step quotes them (shell, `cmd`, JSON) and, for multi-line values such as
//!   private keys, line by line;
//! - **URL credentials**: the password of `scheme://user:password@host`;
//! - **secret-named parameters**: the value of `name=value` (query parameters,
//!   `--password=…`, `PGPASSWORD=…`, `PWD=…;` of connection strings) and of JSON
//!   `"name": "value"` when the name says password, secret, token, key, …;
//! - **secret headers**: the value of `Authorization`, `Cookie`, `Set-Cookie`,
//!   `X-Api-Key`… in a header list or in text (`-H 'Authorization: Bearer …'`).
//!
//! Every masked value becomes [`MASK`]. Masking is **best effort**: a step can
//! transform a value (encode, split, reverse) and print it; what is masked is what is
//! recognisable.

use serde_json::Value;

/// What a secret is replaced with.
pub const MASK: &str = "•••";

/// Known values shorter than this are not masked by value: they would mask ordinary
/// text (a one-letter password would blank every such letter). Patterns still apply.
pub const MIN_SECRET_LEN: usize = 4;

/// Lines of a multi-line secret (a private key) at least this long are masked one by one.
const MIN_LINE_LEN: usize = 16;

/// Header names whose values are secrets (never shown or recorded).
pub fn is_secret_header(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "password",
        "api-key",
        "apikey",
        "x-auth",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Parameter, variable or field names whose values are secrets: they say password,
/// secret, token, credential, signature, cookie, or end in `key` (`apiKey`,
/// `access_key`, `key`).
pub fn is_secret_name(name: &str) -> bool {
    let n = name.trim().trim_start_matches('-').to_ascii_lowercase();
    if n.is_empty() {
        return false;
    }
    [
        "password",
        "passwd",
        "secret",
        "token",
        "credential",
        "signature",
        "cookie",
        "authorization",
        "apikey",
        "api_key",
        "api-key",
        "private_key",
        "privatekey",
        "passphrase",
    ]
    .iter()
    .any(|s| n.contains(s))
        || n.ends_with("key")
        || matches!(n.as_str(), "pwd" | "pass" | "sig" | "auth" | "x-auth")
}

/// Masks secrets: the known values given, and the patterns of the module's rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Masker {
    /// Longest first, so that a value containing another is masked whole.
    values: Vec<String>,
}

impl Masker {
    /// A masker that knows no values (patterns only).
    pub fn new() -> Masker {
        Masker::default()
    }

    /// A masker that knows these secret values (empty and very short ones ignored).
    pub fn with_secrets<I, S>(secrets: I) -> Masker
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut m = Masker::new();
        for s in secrets {
            m.add(s.as_ref());
        }
        m
    }

    /// Adds a secret value, with the forms it takes once quoted for a shell, for
    /// `cmd`, inside JSON, URL-encoded, and its long lines.
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let mut forms = vec![
            secret.to_string(),
            crate::vars::sh_quote(secret),
            crate::vars::cmd_quote(secret),
            url_encode(secret),
        ];
        if let Ok(json) = serde_json::to_string(secret) {
            // Without the quotes: the escaped body as it appears inside a document.
            if let Some(body) = json.get(1..json.len().saturating_sub(1)) {
                forms.push(body.to_string());
            }
        }
        if secret.contains('\n') {
            forms.extend(
                secret
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.len() >= MIN_LINE_LEN)
                    .map(str::to_string),
            );
        }
        for f in forms {
            if f.chars().count() >= MIN_SECRET_LEN && !self.values.contains(&f) {
                self.values.push(f);
            }
        }
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// Whether it knows any value.
    pub fn knows_values(&self) -> bool {
        !self.values.is_empty()
    }

    /// The text with every secret masked.
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        let out = url_credentials(&out);
        let out = named_values(&out);
        let out = header_values(&out);
        json_values(&out)
    }

    /// A JSON value with every secret masked: strings as [`Masker::text`], and the
    /// whole value of a field whose name is secret ([`is_secret_name`],
    /// [`is_secret_header`]) when it is a string or a number.
    pub fn json(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.json(i)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let secret_field = (is_secret_name(k) || is_secret_header(k))
                            && matches!(v, Value::String(_) | Value::Number(_))
                            && v.as_str().is_none_or(|s| !s.is_empty());
                        let v = if secret_field {
                            Value::String(MASK.into())
                        } else {
                            self.json(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Headers with the values of secret headers masked, the others as [`Masker::text`].
    pub fn headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(k, v)| {
                let v = if is_secret_header(k) {
                    MASK.to_string()
                } else {
                    self.text(v)
                };
                (k.clone(), v)
            })
            .collect()
    }
}

/// [`Masker::text`] with no known values: the patterns only.
pub fn text(s: &str) -> String {
    Masker::new().text(s)
}

/// [`Masker::headers`] with no known values.
pub fn headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    Masker::new().headers(headers)
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a value written after `=` or `:` ends: at white space, a quote, or a
/// separator of parameters.
fn value_end(s: &str, from: usize, stops: &[char]) -> usize {
    s[from..]
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || stops.contains(c))
        .map(|(i, _)| from + i)
        .unwrap_or(s.len())
}

/// `scheme://user:password@host` → `scheme://user:•••@host`.
fn url_credentials(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("://") {
        let authority_start = at + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        let end = value_end(after, 0, &['/', '?', '#', '"', '\'', '<', '>', '`']);
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, password)) if !password.is_empty() && password != MASK => {
                        out.push_str(user);
                        out.push(':');
                        out.push_str(MASK);
                    }
                    _ => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The name written just before byte `end` (letters, digits, `_-.`).
fn name_before(s: &str, end: usize) -> &str {
    let start = s[..end]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name_char(*c))
        .last()
        .map(|(i, _)| i)
        .unwrap_or(end);
    &s[start..end]
}

/// The end of a value starting at `from`: a quoted value up to its closing quote
/// (exclusive), else up to white space or a separator. Returns (value start, value end).
fn value_at(s: &str, from: usize, stops: &[char]) -> (usize, usize) {
    match s[from..].chars().next() {
        Some(q @ ('\'' | '"')) => {
            let start = from + 1;
            let end = s[start..].find(q).map(|i| start + i).unwrap_or(s.len());
            (start, end)
        }
        _ => (from, value_end(s, from, stops)),
    }
}

/// `password=…`, `token=…`, `--password=…`, `PGPASSWORD=…`, `PWD=…;`: the value masked.
fn named_values(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while let Some(eq) = s[i..].find('=').map(|p| i + p) {
        i = eq + 1;
        if s[eq + 1..].starts_with('=') {
            // `==`: a comparison, not an assignment.
            i = eq + 2;
            continue;
        }
        let name = name_before(s, eq);
        if !is_secret_name(name) || eq < copied {
            continue;
        }
        let (start, end) = value_at(
            s,
            eq + 1,
            &['&', ';', ',', '#', '"', '\'', ')', '<', '>', '`'],
        );
        if end <= start || &s[start..end] == MASK {
            continue;
        }
        out.push_str(&s[copied..start]);
        out.push_str(MASK);
        copied = end;
        i = end.max(i);
    }
    out.push_str(&s[copied..]);
    out
}

/// `Authorization: Bearer …`, `Cookie: …` in text: the value masked to the end of the
/// line (or of the quoted string it is in).
fn header_values(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while let Some(colon) = s[i..].find(':').map(|p| i + p) {
        i = colon + 1;
        let name = name_before(s, colon);
        if name.is_empty() || !is_secret_header(name) || colon < copied {
            continue;
        }
        // Not a URL (`https://`), nor JSON (handled by `json_values`).
        if s[colon + 1..].starts_with("//") {
            continue;
        }
        let start =
            colon + 1 + s[colon + 1..].len() - s[colon + 1..].trim_start_matches([' ', '\t']).len();
        let end = s[start..]
            .find(['\n', '\r', '"', '\''])
            .map(|p| start + p)
            .unwrap_or(s.len());
        let value = s[start..end].trim_end();
        if value.is_empty() || value == MASK {
            continue;
        }
        out.push_str(&s[copied..start]);
        out.push_str(MASK);
        copied = start + value.len();
        i = copied.max(i);
    }
    out.push_str(&s[copied..]);
    out
}

/// `"password": "…"` (JSON in text): the string value masked.
fn json_values(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while let Some(colon) = s[i..].find(':').map(|p| i + p) {
        i = colon + 1;
        let before = s[..colon].trim_end();
        let Some(key_body) = before.strip_suffix('"') else {
            continue;
        };
        let Some(open) = key_body.rfind('"') else {
            continue;
        };
        let key = &key_body[open + 1..];
        if !(is_secret_name(key) || is_secret_header(key)) || colon < copied {
            continue;
        }
        let after = &s[colon + 1..];
        let value_start = colon + 1 + after.len() - after.trim_start().len();
        if !s[value_start..].starts_with('"') {
            continue;
        }
        let start = value_start + 1;
        // The closing quote, skipping escaped characters.
        let mut end = None;
        let mut escaped = false;
        for (p, c) in s[start..].char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(start + p);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            continue;
        };
        if end == start || &s[start..end] == MASK {
            continue;
        }
        out.push_str(&s[copied..start]);
        out.push_str(MASK);
        copied = end;
        i = end.max(i);
    }
    out.push_str(&s[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_secret_values_are_masked_also_once_quoted_and_line_by_line() {
        let m = Masker::with_secrets(["hunter2!", "it's-secret", "ab"]);
        assert_eq!(
            m.text("echo hunter2! | sudo -S id"),
            "echo ••• | sudo -S id"
        );
        assert_eq!(
            m.text(&format!("login {}", crate::vars::sh_quote("it's-secret"))),
            "login •••"
        );
        assert_eq!(
            m.text("ab stays: too short to mask by value"),
            "ab stays: too short to mask by value"
        );
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAAC3NzaC1lZDI1NTE5AAAAIB\n-----END OPENSSH PRIVATE KEY-----";
        let m = Masker::with_secrets([key]);
        assert!(!m
            .text(&format!("cat id: {key}"))
            .contains("b3BlbnNzaC1rZXktdjEAAAAABG5vbmU"));
        // A CRLF copy is still caught line by line.
        let crlf = key.replace('\n', "\r\n");
        let shown = m.text(&crlf);
        assert!(
            !shown.contains("b3BlbnNzaC1rZXktdjEAAAAABG5vbmU"),
            "{shown}"
        );
        assert!(!shown.contains("AAAAC3NzaC1lZDI1NTE5AAAAIB"), "{shown}");
    }

    #[test]
    fn url_credentials_and_secret_named_parameters_are_masked() {
        assert_eq!(
            text("psql postgres://ops:s3cr3t@db:5432/app?sslmode=require"),
            "psql postgres://ops:•••@db:5432/app?sslmode=require"
        );
        assert_eq!(
            text("git clone https://git@host/x"),
            "git clone https://git@host/x"
        );
        assert_eq!(
            text("curl 'https://api/x?id=7&token=abc123&api_key=k-9&page=2'"),
            "curl 'https://api/x?id=7&token=•••&api_key=•••&page=2'"
        );
        assert_eq!(
            text("mysql --password=pw1 -u root; PGPASSWORD='a b' psql"),
            "mysql --password=••• -u root; PGPASSWORD='•••' psql"
        );
        assert_eq!(
            text("Server=db;UID=sa;PWD=x1y2;"),
            "Server=db;UID=sa;PWD=•••;"
        );
        assert_eq!(
            text("[ \"$token\" == \"x\" ] && echo keyboard=us"),
            "[ \"$token\" == \"x\" ] && echo keyboard=us"
        );
        assert_eq!(text("a=1 b=2"), "a=1 b=2");
    }

    #[test]
    fn secret_headers_are_masked_in_lists_and_in_text() {
        let shown = headers(&[
            ("Authorization".into(), "Bearer tok-123".into()),
            ("Set-Cookie".into(), "sid=abc; HttpOnly".into()),
            ("Accept".into(), "application/json".into()),
        ]);
        assert_eq!(shown[0].1, MASK);
        assert_eq!(shown[1].1, MASK);
        assert_eq!(shown[2].1, "application/json");
        assert_eq!(
            text("curl -H 'Authorization: Bearer tok-123' -H 'Accept: */*' https://x"),
            "curl -H 'Authorization: •••' -H 'Accept: */*' https://x"
        );
        assert_eq!(text("Cookie: a=1; b=2\nHost: x"), "Cookie: •••\nHost: x");
    }

    #[test]
    fn json_fields_named_as_secrets_are_masked_in_values_and_in_text() {
        let m = Masker::with_secrets(["db-pass-1"]);
        let v = json!({
            "command": "echo db-pass-1",
            "headers": {"Authorization": "Basic eDp5", "Accept": "*/*"},
            "body": "{\"user\": \"u\", \"password\": \"p\\\"w\"}",
            "rows": [{"name": "a", "api_key": "k1", "count": 3}],
            "password": "",
        });
        let shown = m.json(&v);
        assert_eq!(shown["command"], "echo •••");
        assert_eq!(shown["headers"]["Authorization"], MASK);
        assert_eq!(shown["headers"]["Accept"], "*/*");
        assert_eq!(shown["body"], "{\"user\": \"u\", \"password\": \"•••\"}");
        assert_eq!(shown["rows"][0]["api_key"], MASK);
        assert_eq!(shown["rows"][0]["count"], 3);
        assert_eq!(shown["password"], "", "nothing to hide");
    }
}
