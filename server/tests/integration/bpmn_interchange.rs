//! BPMN files from other modelling tools (issue 17): `lwams bpmn check` reads what
//! bpmn-js opens — any WHATWG encoding, a wrong encoding declaration, QName references,
//! duplicate ids, flows leaving their process or with empty ends — warning about what is
//! broken with element and line; deploy refuses the broken ones, naming element and
//! line; `POST /api/v1/flows/import` decodes the file's bytes on the server.

use crate::support;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use tower::ServiceExt;

/// A small executable flow: start → task → end, with `extra` inside the process and
/// `after` after it.
fn flow(declaration: &str, name: &str, extra: &str, after: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="{declaration}"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:tns="urn:lwams:test" targetNamespace="urn:lwams:test" id="defs">
  <process id="interchange" name="{name}" isExecutable="true">
    <startEvent id="start"/>
    <task id="work" name="{name}"/>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
{extra}  </process>
{after}</definitions>
"#
    )
}

/// The flow written in windows-1252 (or any single-byte encoding of `name`).
fn windows_1252(declaration: &str, name: &str) -> Vec<u8> {
    let text = flow(declaration, name, "", "");
    encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
}

fn check(files: &[&Path]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lwams"))
        .args(["bpmn", "check"])
        .args(files)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn check_reads_windows_1252_and_other_whatwg_encodings() {
    let dir = tempfile::tempdir().unwrap();
    let cp1252 = write(
        dir.path(),
        "cp1252.bpmn",
        &windows_1252("windows-1252", "Café “Prüfung”"),
    );
    let sjis_text = flow("Shift_JIS", "日本の承認", "", "");
    let sjis = write(
        dir.path(),
        "sjis.bpmn",
        &encoding_rs::SHIFT_JIS.encode(&sjis_text).0,
    );
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            flow("UTF-16", "审批", "", "")
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let utf16 = write(dir.path(), "utf16.bpmn", &utf16);
    let (ok, out) = check(&[&cp1252, &sjis, &utf16]);
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "no warnings: {out}");
    assert!(
        lines[0].starts_with("ok   ") && lines[0].contains("read as windows-1252"),
        "{out}"
    );
    assert!(lines[1].contains("read as Shift_JIS"), "{out}");
    assert!(lines[2].contains("read as UTF-16LE"), "{out}");
}

#[test]
fn check_falls_back_when_the_declared_encoding_is_wrong_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    // Declares UTF-8, holds Latin-1 bytes (the é of "Café" on line 4).
    let latin1 = write(dir.path(), "latin1.bpmn", &windows_1252("UTF-8", "Café"));
    // Declares ISO-8859-1, saved as UTF-8.
    let utf8 = write(
        dir.path(),
        "utf8.bpmn",
        flow("ISO-8859-1", "Café", "", "").as_bytes(),
    );
    let (ok, out) = check(&[&latin1, &utf8]);
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("ok   ")
            && lines[0].contains("read as windows-1252")
            && lines[0].contains("1 encoding warning(s)"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("  encoding: line 4: the file declares encoding \"UTF-8\" but byte 0xE9 is not UTF-8; read as windows-1252"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("ok   ") && !lines[2].contains("read as"),
        "{out}"
    );
    assert!(
        lines[3].starts_with(
            "  encoding: line 4: the file declares encoding \"ISO-8859-1\" but its bytes are UTF-8"
        ),
        "{out}"
    );
}

#[test]
fn check_resolves_qname_references_and_warns_about_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    let qnames = flow(
        "UTF-8",
        "q",
        "    <boundaryEvent id=\"timeout\" attachedToRef=\"tns:work\"><timerEventDefinition><timeDuration>PT1M</timeDuration></timerEventDefinition></boundaryEvent>\n    <sequenceFlow id=\"f3\" sourceRef=\"tns:timeout\" targetRef=\"tns:end\"/>\n",
        "",
    );
    let good = write(dir.path(), "qnames.bpmn", qnames.as_bytes());
    let broken = write(
        dir.path(),
        "broken.bpmn",
        qnames
            .replace("tns:work", "other:work")
            .replace("tns:end", "tns:nowhere")
            .as_bytes(),
    );
    let (ok, out) = check(&[&good, &broken]);
    assert!(ok, "bpmn-js opens both, so does the check: {out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("ok   ") && !lines[0].contains("warning"),
        "{out}"
    );
    assert!(
        lines[1].contains("2 structure warning(s): deploy refuses the file"),
        "{out}"
    );
    assert!(
        lines[2..].contains(&"  structure: line 10: timeout: attachedToRef \"other:work\": the prefix \"other\" is not declared (no xmlns:other)"),
        "{out}"
    );
    assert!(
        lines[2..].contains(
            &"  structure: line 11: f3: targetRef \"tns:nowhere\" names no element of this file"
        ),
        "{out}"
    );
}

#[test]
fn check_warns_about_duplicate_ids_and_flows_across_processes_or_with_empty_ends() {
    let dir = tempfile::tempdir().unwrap();
    let text = flow(
        "UTF-8",
        "d",
        "    <task id=\"work\" name=\"again\"/>\n    <sequenceFlow id=\"across\" sourceRef=\"work\" targetRef=\"elsewhere\"/>\n    <sequenceFlow id=\"empty\" sourceRef=\"\" targetRef=\"end\"/>\n",
        "  <process id=\"other\"><task id=\"elsewhere\"/></process>\n",
    );
    let file = write(dir.path(), "dup.bpmn", text.as_bytes());
    let (ok, out) = check(&[&file]);
    assert!(ok, "{out}");
    let expected = [
        "  structure: line 10: work: duplicate id (first used on line 6)",
        "  structure: line 12: empty: sourceRef is empty",
        "  structure: line 11: across: targetRef \"elsewhere\" is a flow node of process other, not of process interchange where the flow is: a sequence flow stays inside its process (between pools, draw a message flow)",
    ];
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(lines, expected, "{out}");
}

async fn import(t: &support::TestApp, c: &support::Client, bytes: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/flows/import")
        .header(header::COOKIE, &c.cookie)
        .header("x-csrf-token", &c.csrf)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(bytes))
        .unwrap();
    let resp = t.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn import_decodes_the_bytes_on_the_server_and_stores_utf8() {
    let t = support::sqlite_app().await;
    let admin = t.admin().await;
    let (status, body) = import(&t, &admin, windows_1252("windows-1252", "Café “Prüfung”")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["versions"][0]["name"], "Café “Prüfung”", "{body}");
    assert_eq!(body["warnings"], json!([]));
    let xml = t
        .request_raw(
            Method::GET,
            "/api/v1/flows/interchange/versions/1/xml",
            Some(&admin),
            None,
        )
        .await
        .2;
    let xml = std::str::from_utf8(&xml).expect("stored as UTF-8");
    assert!(
        xml.contains("encoding=\"UTF-8\"") && xml.contains("Café “Prüfung”"),
        "{xml}"
    );

    // A wrong declaration: deployed, and said.
    let (status, body) = import(&t, &admin, windows_1252("UTF-8", "Grüße")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["versions"][0]["name"], "Grüße");
    assert!(
        body["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("line 4: the file declares encoding \"UTF-8\" but byte 0xFC"),
        "{body}"
    );

    // Text sent as JSON after being read in the wrong encoding is refused, not stored.
    let garbled = flow("windows-1252", "Caf\u{fffd}", "", "");
    let r = t
        .post("/api/v1/flows", &admin, &json!({ "xml": garbled }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["message"].as_str().unwrap().contains("U+FFFD"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn deploy_accepts_qname_references_and_refuses_broken_ones_naming_element_and_line() {
    let t = support::sqlite_app().await;
    let admin = t.admin().await;
    let qnames = flow(
        "UTF-8",
        "q",
        "    <sequenceFlow id=\"f3\" sourceRef=\"tns:work\" targetRef=\"tns:end\"/>\n",
        "",
    );
    let r = t
        .post("/api/v1/flows", &admin, &json!({ "xml": qnames }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let cases = [
        (
            qnames.replace("tns:end", "tns:nowhere"),
            "f3",
            10,
            "targetRef \"tns:nowhere\" names no element of this file",
        ),
        (
            flow("UTF-8", "d", "    <task id=\"work\"/>\n", ""),
            "work",
            10,
            "duplicate id (first used on line 6)",
        ),
        (
            flow(
                "UTF-8",
                "e",
                "    <sequenceFlow id=\"empty\" sourceRef=\"work\" targetRef=\" \"/>\n",
                "",
            ),
            "empty",
            10,
            "targetRef is empty",
        ),
        (
            flow(
                "UTF-8",
                "x",
                "    <sequenceFlow id=\"across\" sourceRef=\"work\" targetRef=\"elsewhere\"/>\n",
                "  <process id=\"other\"><task id=\"elsewhere\"/></process>\n",
            ),
            "across",
            10,
            "targetRef \"elsewhere\" is a flow node of process other",
        ),
    ];
    for (xml, element, line, message) in cases {
        let r = t
            .post("/api/v1/flows", &admin, &json!({ "xml": xml }))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{element}: {}",
            r.body
        );
        let problems = r.body["problems"].as_array().unwrap();
        assert!(
            problems.iter().any(|p| p["element_id"] == element
                && p["line"] == line
                && p["message"].as_str().unwrap().starts_with(message)),
            "{element}: {}",
            r.body
        );
        // The import path refuses the same file the same way.
        let (status, body) = import(&t, &admin, xml.into_bytes()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{element}: {body}"
        );
        assert_eq!(body["problems"], r.body["problems"]);
    }
}
