//! The BPMN reader on real files: every MIWG reference model and every bpmn.io export
//! reads, validates without crashing and survives the round trip; LWAMS's own rules
//! catch what they must, naming the element and line.

use shared::bpmn::{round_trip, validate, Document, NodeKind, ProblemClass};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    std::env::var_os("LWAMS_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
        .join("bpmn-miwg")
}

#[test]
fn every_miwg_file_reads_validates_and_round_trips() {
    let mut n = 0;
    for dir in ["reference", "bpmn-io-18.6.1"] {
        let path = fixtures().join(dir);
        let entries = std::fs::read_dir(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the MIWG fixtures live in ../shared/fixtures)",
                path.display()
            )
        });
        for entry in entries {
            let file = entry.unwrap().path();
            if file.extension().and_then(|e| e.to_str()) != Some("bpmn") {
                continue;
            }
            let bytes = std::fs::read(&file).unwrap();
            let doc =
                Document::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(
                !doc.model.processes.is_empty() || !doc.model.collaborations.is_empty(),
                "{}",
                file.display()
            );
            let problems = validate(&doc);
            let structural: Vec<_> = problems
                .iter()
                .filter(|p| p.class == ProblemClass::Structure)
                .collect();
            assert!(structural.is_empty(), "{}: {structural:?}", file.display());
            round_trip(&doc).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            n += 1;
        }
    }
    assert!(n >= 60, "read {n} files");
}

#[test]
fn the_model_holds_nodes_flows_conditions_lanes_and_the_diagram() {
    let bytes = std::fs::read(fixtures().join("reference/A.4.0.bpmn")).unwrap();
    let doc = Document::parse_bytes(&bytes).unwrap();
    let p = &doc.model.processes[0];
    assert!(p.nodes.iter().any(|n| n.kind == NodeKind::StartEvent));
    assert!(!p.flows.is_empty());
    let d = &doc.model.diagrams[0];
    assert!(!d.shapes.is_empty() && !d.edges.is_empty());
    assert!(d.shapes.iter().all(|s| s.bounds.is_some()));
    assert!(d.edges.iter().all(|e| e.waypoints.len() >= 2));
}

const LWAMS_FLOW: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:lwams="http://lwams.io/schema/bpmn/1.0" xmlns:vendor="urn:vendor" id="d1">
  <bpmn:process id="p1" isExecutable="true">
    <bpmn:documentation>kept</bpmn:documentation>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="collect" name="collect system info" lwams:kind="remoteCommand" lwams:host="h1"
        lwams:terminal="node1" lwams:command="uname -a&#10;df -h" vendor:color="red">
      <bpmn:extensionElements><vendor:thing a="1"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="broken" lwams:kind="sql"/>
    <bpmn:exclusiveGateway id="gw" default="f3"/>
    <bpmn:userTask id="approve"/>
    <bpmn:endEvent id="end"/>
    <bpmn:task id="orphan"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="collect"/>
    <bpmn:sequenceFlow id="f2" sourceRef="collect" targetRef="gw"/>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="approve"/>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="broken"/>
    <bpmn:sequenceFlow id="f5" sourceRef="broken" targetRef="end">
      <bpmn:conditionExpression>${x &gt; 1}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f6" sourceRef="approve" targetRef="nowhere"/>
  </bpmn:process>
</bpmn:definitions>"#;

#[test]
fn lwams_properties_are_read_and_problems_name_element_and_line() {
    let doc = Document::parse(LWAMS_FLOW).unwrap();
    let p = &doc.model.processes[0];
    let collect = p.nodes.iter().find(|n| n.id == "collect").unwrap();
    assert_eq!(collect.lwams_kind(), Some("remoteCommand"));
    assert_eq!(collect.lwams["command"], "uname -a\ndf -h");
    assert_eq!(
        p.flows
            .iter()
            .find(|f| f.id == "f5")
            .unwrap()
            .condition
            .as_deref(),
        Some("${x > 1}")
    );
    let problems = validate(&doc);
    let find = |id: &str| {
        problems
            .iter()
            .filter(|p| p.element_id.as_deref() == Some(id))
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
    };
    assert!(
        find("broken")
            .iter()
            .any(|m| m.contains("dataSource is required")),
        "{problems:#?}"
    );
    assert!(find("broken")
        .iter()
        .any(|m| m.contains("sql or script is required")));
    assert!(
        find("broken")[0].starts_with("line 11: broken:"),
        "{:?}",
        find("broken")
    );
    assert!(find("f4").iter().any(|m| m.contains("without a condition")));
    assert!(find("f3").is_empty(), "the default flow needs no condition");
    assert!(find("orphan")
        .iter()
        .any(|m| m.contains("cannot be reached")));
    let dangling = find("f6");
    assert!(dangling.iter().any(|m| m.contains("\"nowhere\"")));
    assert!(problems.iter().any(|p| p.class == ProblemClass::Structure));
    // Vendor attributes, extension elements and documentation survive the round trip.
    let written = round_trip(&doc).unwrap();
    assert!(written.contains("vendor:color=\"red\""));
    assert!(written.contains("<vendor:thing a=\"1\" />"));
    assert!(written.contains("<bpmn:documentation>kept</bpmn:documentation>"));
}

#[test]
fn loops_without_a_wait_state_are_caught_and_loops_with_one_are_not() {
    let flow = |middle: &str| {
        format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
      <process id="p" isExecutable="true">
        <startEvent id="s"/><{middle} id="a"/><exclusiveGateway id="g" default="back"/><endEvent id="e"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
        <sequenceFlow id="f2" sourceRef="a" targetRef="g"/>
        <sequenceFlow id="back" sourceRef="g" targetRef="a"/>
        <sequenceFlow id="out" sourceRef="g" targetRef="e"><conditionExpression>done</conditionExpression></sequenceFlow>
      </process></definitions>"#
        )
    };
    let busy = validate(&Document::parse(&flow("scriptTask")).unwrap());
    assert!(
        busy.iter()
            .any(|p| p.message.contains("loop without a wait state")),
        "{busy:?}"
    );
    let waiting = validate(&Document::parse(&flow("userTask")).unwrap());
    assert!(
        !waiting.iter().any(|p| p.message.contains("loop")),
        "{waiting:?}"
    );
}

#[test]
fn duplicate_ids_and_non_bpmn_roots_are_refused_clearly() {
    let dup = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p">
<task id="t"/>
<task id="t"/></process></definitions>"#;
    let problems = validate(&Document::parse(dup).unwrap());
    assert_eq!(
        problems[0].to_string(),
        "line 3: t: duplicate id (first used on line 2)"
    );
    let e = Document::parse("<html/>").unwrap_err();
    assert!(e.to_string().contains("not BPMN"));
}

/// A bounded, deterministic mutation run over the MIWG files (the cargo-fuzz target in
/// `fuzz/` explores further): every mutant parses or fails cleanly, never panics.
#[test]
fn mutated_files_fail_cleanly_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let dir = fixtures().join("reference");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut parsed = 0;
    for file in files.iter().take(8) {
        let original = std::fs::read(file).unwrap();
        for _ in 0..150 {
            let mut m = original.clone();
            match next() % 4 {
                0 => {
                    let i = (next() as usize) % m.len();
                    m[i] = (next() % 256) as u8;
                }
                1 => m.truncate((next() as usize) % m.len()),
                2 => {
                    let i = (next() as usize) % m.len();
                    let j = (i + (next() as usize) % 200).min(m.len());
                    let chunk = m[i..j].to_vec();
                    m.splice(i..i, chunk);
                }
                _ => {
                    let i = (next() as usize) % m.len();
                    let j = (i + (next() as usize) % 50).min(m.len());
                    m.drain(i..j);
                }
            }
            if let Ok(doc) = Document::parse_bytes(&m) {
                let _ = validate(&doc);
                let _ = round_trip(&doc);
                parsed += 1;
            }
        }
    }
    assert!(parsed > 0, "some mutants are still valid XML");
}

#[test]
fn sql_steps_whose_placeholders_cannot_be_parameters_are_refused_at_deploy() {
    let flow = |sql: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:lwams="http://lwams.io/schema/bpmn/1.0" id="d1">
  <bpmn:process id="p1" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="q" lwams:kind="sql" lwams:dataSource="db" lwams:sql="{sql}"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="q"/>
    <bpmn:sequenceFlow id="f2" sourceRef="q" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#
        )
    };
    let problems = |sql: &str| {
        let doc = Document::parse(&flow(sql)).unwrap();
        validate(&doc)
            .into_iter()
            .filter(|p| p.element_id.as_deref() == Some("q"))
            .map(|p| (p.class, p.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        problems("SELECT * FROM t WHERE a = ${a} AND b = '${b}' LIMIT ${n}"),
        vec![]
    );
    let p = problems("SELECT * FROM t WHERE a LIKE '%${a}%'");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, ProblemClass::Execution);
    assert!(
        p[0].1
            .contains("sql: ${a} is inside the string literal '%${a}%'"),
        "{p:?}"
    );
    assert!(problems("SELECT 1 -- ${a}&#10;")
        .iter()
        .any(|(_, m)| m.contains("comment")));
}

#[test]
fn a_step_kind_without_an_executor_is_a_problem_naming_its_node() {
    let xml = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0"><process id="p" isExecutable="true"><startEvent id="s"/><serviceTask id="rep" lwams:kind="report" lwams:template="t"/><serviceTask id="ut" lwams:kind="userTask"/><userTask id="fine" lwams:kind="userTask"/><endEvent id="e"/><sequenceFlow id="a" sourceRef="s" targetRef="rep"/><sequenceFlow id="b" sourceRef="rep" targetRef="ut"/><sequenceFlow id="c" sourceRef="ut" targetRef="fine"/><sequenceFlow id="d" sourceRef="fine" targetRef="e"/></process></definitions>"#;
    let doc = Document::parse(xml).unwrap();
    let problems = validate(&doc);
    let of = |id: &str| {
        problems
            .iter()
            .filter(|p| p.element_id.as_deref() == Some(id))
            .map(|p| p.message.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of("rep"),
        ["report steps (lwams:kind=\"report\") cannot run yet: this server has no executor for them"]
    );
    assert_eq!(
        of("ut"),
        ["lwams:kind=\"userTask\" is not a step: draw a BPMN user task instead"]
    );
    assert!(of("fine").is_empty(), "{problems:#?}");
}
