//! Reading SQL text as the database would, far enough to know where each statement of a
//! script ends and what a position in it is: code, a string literal, a quoted name, a
//! comment or a PostgreSQL dollar-quoted body. Knows `'…'` (`''` inside; `\` escapes
//! in MySQL, and in PostgreSQL's `E'…'`), `"…"` (a string in MySQL, a name elsewhere),
//! `` `…` `` and SQLite's `[…]` names, `--` (MySQL: `-- ` followed by a space) and `#`
//! (MySQL) line comments, `/* */` (nested in PostgreSQL), `$$…$$` / `$tag$…$tag$`
//! (PostgreSQL), and `BEGIN … END` / `CASE … END` blocks whose `;` do not end the
//! statement (triggers, procedures, `BEGIN ATOMIC` bodies).

use crate::dto::data_source::DataSourceKind;
use std::ops::Range;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A keyword, a name or a number.
    Word,
    /// A string literal. `open` is the byte offset of its opening quote (`start` is
    /// earlier when a prefix is written before it: `E'…'`, `N'…'`, `_utf8mb4'…'`).
    Str {
        quote: u8,
        open: usize,
    },
    /// A quoted name: `"…"` (not MySQL), `` `…` ``, `[…]` (SQLite).
    QuotedName,
    Comment,
    /// A PostgreSQL dollar-quoted body, its delimiters included.
    Dollar,
    /// A parameter marker written in the SQL itself (`?`, `?1`, `$1`).
    Param,
    Semicolon,
    Space,
    /// Any other character (operators, punctuation).
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub start: usize,
    /// Exclusive.
    pub end: usize,
    /// `false`: the text ended inside it (an open quote or comment).
    pub closed: bool,
}

impl Token {
    /// Whether a position between two characters lies inside the token (a position at
    /// the end of an unclosed one too).
    pub fn contains(&self, at: usize) -> bool {
        self.start < at && (at < self.end || (!self.closed && at == self.end))
    }

    pub fn significant(&self) -> bool {
        !matches!(self.kind, Tok::Space | Tok::Comment)
    }
}

fn word_char(c: char, kind: DataSourceKind) -> bool {
    c.is_alphanumeric() || c == '_' || (c == '$' && kind != DataSourceKind::Sqlite)
}

/// Whether `c` can be part of a name or a number (for telling what a position touches).
pub(crate) fn name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// The tokens of `text`, covering it without gaps.
pub(crate) fn tokens(text: &str, kind: DataSourceKind) -> Vec<Token> {
    let b = text.as_bytes();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    let pg = kind == DataSourceKind::Postgres;
    let mysql = kind == DataSourceKind::Mysql;
    let sqlite = kind == DataSourceKind::Sqlite;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let push = |out: &mut Vec<Token>, kind: Tok, start: usize, end: usize, closed: bool| {
            out.push(Token {
                kind,
                start,
                end,
                closed,
            })
        };
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => {
                while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c) {
                    i += 1;
                }
                push(&mut out, Tok::Space, start, i, true);
            }
            b'\'' | b'"' if c == b'\'' || mysql => {
                // A prefix written right before the quote belongs to the literal.
                let mut lit_start = start;
                let mut backslash = mysql;
                if let Some(prev) = out.last() {
                    if prev.kind == Tok::Word && prev.end == start {
                        lit_start = prev.start;
                        let prefix = &text[prev.start..prev.end];
                        if pg && prefix.eq_ignore_ascii_case("e") {
                            backslash = true;
                        }
                        out.pop();
                    }
                }
                let (end, closed) = quoted(b, i, c, backslash);
                i = end;
                push(
                    &mut out,
                    Tok::Str {
                        quote: c,
                        open: start,
                    },
                    lit_start,
                    end,
                    closed,
                );
            }
            b'"' | b'`' => {
                let (end, closed) = quoted(b, i, c, false);
                i = end;
                push(&mut out, Tok::QuotedName, start, end, closed);
            }
            b'[' if sqlite => {
                let (end, closed) = match text[i + 1..].find(']') {
                    Some(j) => (i + 1 + j + 1, true),
                    None => (b.len(), false),
                };
                i = end;
                push(&mut out, Tok::QuotedName, start, end, closed);
            }
            b'-' if b.get(i + 1) == Some(&b'-')
                && (!mysql
                    || b.get(i + 2)
                        .is_none_or(|n| n.is_ascii_whitespace() || n.is_ascii_control())) =>
            {
                let (end, closed) = line_end(b, i);
                i = end;
                push(&mut out, Tok::Comment, start, end, closed);
            }
            b'#' if mysql => {
                let (end, closed) = line_end(b, i);
                i = end;
                push(&mut out, Tok::Comment, start, end, closed);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                let mut closed = false;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') && (depth == 0 || pg) {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            closed = true;
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                push(&mut out, Tok::Comment, start, i, closed);
            }
            b'$' if (pg || sqlite) && b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                push(&mut out, Tok::Param, start, i, true);
            }
            b'$' if pg
                && !out
                    .last()
                    .is_some_and(|t| t.kind == Tok::Word && t.end == i) =>
            {
                match dollar_tag(text, i) {
                    Some(tag) => {
                        let body = i + tag.len();
                        let (end, closed) = match text[body..].find(tag) {
                            Some(j) => (body + j + tag.len(), true),
                            None => (b.len(), false),
                        };
                        i = end;
                        push(&mut out, Tok::Dollar, start, end, closed);
                    }
                    None => {
                        i += 1;
                        push(&mut out, Tok::Other, start, i, true);
                    }
                }
            }
            b'?' if mysql || sqlite => {
                i += 1;
                if sqlite {
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                push(&mut out, Tok::Param, start, i, true);
            }
            b';' => {
                i += 1;
                push(&mut out, Tok::Semicolon, start, i, true);
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('\0');
                if word_char(ch, kind) && ch != '$' {
                    while let Some(n) = text[i..].chars().next() {
                        if !word_char(n, kind) {
                            break;
                        }
                        i += n.len_utf8();
                    }
                    push(&mut out, Tok::Word, start, i, true);
                } else {
                    i += ch.len_utf8().max(1);
                    push(&mut out, Tok::Other, start, i, true);
                }
            }
        }
    }
    out
}

/// The end of a quoted run starting at `i` (its quote `q`): a doubled quote stays
/// inside, and with `backslash` a `\` takes the next byte along.
fn quoted(b: &[u8], i: usize, q: u8, backslash: bool) -> (usize, bool) {
    let mut j = i + 1;
    while j < b.len() {
        if backslash && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == q {
            if b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return (j + 1, true);
        }
        j += 1;
    }
    (b.len(), false)
}

/// A line comment from `i` to its line break (included).
fn line_end(b: &[u8], i: usize) -> (usize, bool) {
    match b[i..].iter().position(|&c| c == b'\n') {
        Some(j) => (i + j + 1, true),
        None => (b.len(), false),
    }
}

/// The `$tag$` (or `$$`) opening a dollar-quoted body at `i`.
fn dollar_tag(text: &str, i: usize) -> Option<&str> {
    let rest = &text[i + 1..];
    for (k, c) in rest.char_indices() {
        if c == '$' {
            return Some(&text[i..i + 1 + k + 1]);
        }
        let ok = if k == 0 {
            c.is_alphabetic() || c == '_'
        } else {
            c.is_alphanumeric() || c == '_'
        };
        if !ok {
            return None;
        }
    }
    None
}

/// The statements of a script: byte ranges of `text` between its `;` (not trimmed),
/// those holding nothing but spaces and comments left out unless `keep` says a
/// position in them matters.
pub(crate) fn statements(
    text: &str,
    toks: &[Token],
    keep: impl Fn(&Range<usize>) -> bool,
) -> Vec<Range<usize>> {
    let sig: Vec<&Token> = toks.iter().filter(|t| t.significant()).collect();
    let word = |k: usize| -> Option<String> {
        sig.get(k)
            .filter(|t| t.kind == Tok::Word)
            .map(|t| text[t.start..t.end].to_ascii_uppercase())
    };
    let mut cuts: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    let mut first = true;
    // The word after END (`END IF`, `END CASE`) names what ends and opens nothing.
    let mut after_end = false;
    for (k, t) in sig.iter().enumerate() {
        if std::mem::replace(&mut after_end, false) && t.kind == Tok::Word {
            continue;
        }
        if t.kind == Tok::Semicolon {
            if depth == 0 {
                cuts.push(start..t.start);
                start = t.end;
                first = true;
            }
            continue;
        }
        let is_first = std::mem::replace(&mut first, false);
        let Some(w) = word(k) else { continue };
        match w.as_str() {
            // A statement's own BEGIN starts a transaction; MariaDB's `BEGIN NOT
            // ATOMIC` and a BEGIN inside a statement (a trigger's body) open a block.
            "BEGIN" if !is_first || word(k + 1).as_deref() == Some("NOT") => depth += 1,
            "CASE" => depth += 1,
            "END" if !is_first => {
                let next = word(k + 1);
                after_end = matches!(
                    next.as_deref(),
                    Some("IF" | "LOOP" | "WHILE" | "REPEAT" | "FOR" | "CASE")
                );
                // `END IF`, `END LOOP`… close what was not counted.
                if !matches!(
                    next.as_deref(),
                    Some("IF" | "LOOP" | "WHILE" | "REPEAT" | "FOR")
                ) {
                    depth = depth.saturating_sub(1);
                }
            }
            _ => {}
        }
    }
    cuts.push(start..text.len());
    cuts.retain(|r| {
        toks.iter()
            .any(|t| t.significant() && t.start >= r.start && t.end <= r.end)
            || keep(r)
    });
    cuts
}

/// `r` without the white space at its ends.
pub(crate) fn trimmed(text: &str, r: Range<usize>) -> Range<usize> {
    let piece = &text[r.clone()];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if lead == piece.len() {
        return r.start..r.start;
    }
    r.start + lead..r.end - trail
}

/// The statements of a SQL script in `kind`'s dialect, each without its `;`.
pub fn split(script: &str, kind: DataSourceKind) -> Vec<&str> {
    let toks = tokens(script, kind);
    statements(script, &toks, |_| false)
        .into_iter()
        .map(|r| &script[trimmed(script, r)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use DataSourceKind::{Mysql, Postgres, Sqlite};

    #[test]
    fn semicolons_in_quotes_and_comments_do_not_end_a_statement() {
        let script = "INSERT INTO t VALUES ('a;b', \"c;d\"); -- one; two\n\
                      SELECT `x;y` /* ; */ FROM t;\n\n;  SELECT 3";
        assert_eq!(
            split(script, Mysql),
            vec![
                "INSERT INTO t VALUES ('a;b', \"c;d\")",
                "-- one; two\nSELECT `x;y` /* ; */ FROM t",
                "SELECT 3"
            ]
        );
        assert_eq!(
            split("SELECT 'it''s;'; SELECT [a;b] FROM t", Sqlite),
            vec!["SELECT 'it''s;'", "SELECT [a;b] FROM t"]
        );
        assert_eq!(
            split("  ;\n-- only a comment\n", Postgres),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn backslashes_escape_in_mysql_and_in_postgres_e_strings_only() {
        assert_eq!(
            split(r"SELECT 'a\'; b'; SELECT 2", Mysql),
            vec![r"SELECT 'a\'; b'", "SELECT 2"]
        );
        // Standard strings: the backslash is a character and the quote ends it.
        assert_eq!(
            split(r"SELECT 'a\'; SELECT 2", Postgres),
            vec![r"SELECT 'a\'", "SELECT 2"]
        );
        assert_eq!(
            split(r"SELECT E'a\'; b'; SELECT 2", Postgres),
            vec![r"SELECT E'a\'; b'", "SELECT 2"]
        );
        // MySQL's `--` needs a space after it; `#` is a comment there only.
        assert_eq!(
            split("SELECT 1--1;\nSELECT 2 # c;\n;", Mysql),
            vec!["SELECT 1--1", "SELECT 2 # c;"]
        );
    }

    #[test]
    fn dollar_quoted_bodies_and_nested_comments_are_one_piece_in_postgres() {
        let script =
            "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\n\
                      DO $body$ BEGIN PERFORM 'x$$;'; END $body$;\n\
                      SELECT /* a /* b; */ c; */ $1, a$b$c FROM t";
        assert_eq!(
            split(script, Postgres),
            vec![
                "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql",
                "DO $body$ BEGIN PERFORM 'x$$;'; END $body$",
                "SELECT /* a /* b; */ c; */ $1, a$b$c FROM t"
            ]
        );
        // Not PostgreSQL: no dollar quoting, comments do not nest.
        assert_eq!(
            split("SELECT '$$'; SELECT /* a /* b */ 2", Mysql),
            vec!["SELECT '$$'", "SELECT /* a /* b */ 2"]
        );
    }

    #[test]
    fn blocks_of_triggers_and_procedures_keep_their_semicolons() {
        let sqlite = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
                      UPDATE u SET n = CASE WHEN n > 0 THEN n + 1 ELSE 1 END; \
                      DELETE FROM v; END; SELECT 1";
        assert_eq!(
            split(sqlite, Sqlite),
            vec![
                "CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
                 UPDATE u SET n = CASE WHEN n > 0 THEN n + 1 ELSE 1 END; \
                 DELETE FROM v; END",
                "SELECT 1"
            ]
        );
        let mysql = "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; \
                     WHILE 0 DO SELECT 2; END WHILE; CASE 1 WHEN 1 THEN SELECT 3; END CASE; END;\
                     BEGIN; INSERT INTO t VALUES (1); COMMIT";
        assert_eq!(
            split(mysql, Mysql),
            vec![
                "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; \
                 WHILE 0 DO SELECT 2; END WHILE; CASE 1 WHEN 1 THEN SELECT 3; END CASE; END",
                "BEGIN",
                "INSERT INTO t VALUES (1)",
                "COMMIT"
            ]
        );
        assert_eq!(
            split("BEGIN; SELECT CASE WHEN true THEN 1 END; END;", Postgres),
            vec!["BEGIN", "SELECT CASE WHEN true THEN 1 END", "END"]
        );
    }

    #[test]
    fn an_open_quote_runs_to_the_end() {
        assert_eq!(
            split("SELECT 'abc; SELECT 2", Postgres),
            vec!["SELECT 'abc; SELECT 2"]
        );
        let t = tokens("a 'b", Postgres);
        let last = t.last().unwrap();
        assert!(!last.closed && last.contains(4));
    }
}
