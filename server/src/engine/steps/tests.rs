//! Steps: preparing, binding values as data, refusals naming the node, outcomes.

use super::*;

fn node(attrs: &[(&str, &str)]) -> ExecNode {
    ExecNode {
        name: Some("N".into()),
        ..ExecNode::job("n", StepKind::LocalCommand, attrs)
    }
}

#[test]
fn commands_get_values_as_data_for_the_shell_that_runs_them_and_missing_ones_refuse() {
    let n = node(&[("command", "echo ${who} \"${who}\" | tr a-z A-Z")]);
    let mut vars = Map::new();
    vars.insert("who".into(), json!("; rm -rf / $(id)"));
    let Prepared::Local(c) = prepare(1, &n, &vars) else {
        panic!("a local command");
    };
    // Recorded: the command with its placeholders, the values beside it.
    let input = Prepared::Local(c.clone()).input();
    assert_eq!(input["command"], "echo ${who} \"${who}\" | tr a-z A-Z");
    assert_eq!(input["values"], json!({ "who": "; rm -rf / $(id)" }));
    // sh: a reference to an environment variable, quoted by where it stands.
    let sh = c.bind(&n, Lang::Sh, &vars).unwrap();
    assert_eq!(
        sh.command,
        "echo \"$LWAMS_V_1\" \"${LWAMS_V_1}\" | tr a-z A-Z"
    );
    assert_eq!(
        sh.env,
        vec![("LWAMS_V_1".to_string(), "; rm -rf / $(id)".to_string())]
    );
    // cmd: delayed expansion, refused beside a pipe (naming the node).
    let why = c.bind(&n, Lang::Cmd, &vars).unwrap_err();
    assert!(
        why.starts_with("step n (N): command: cmd: ${who} on line 1"),
        "{why}"
    );
    assert!(why.contains("pipe"), "{why}");
    let plain = node(&[("command", "echo ${who}")]);
    let Prepared::Local(c) = prepare(1, &plain, &vars) else {
        panic!("a local command");
    };
    assert_eq!(
        c.bind(&plain, Lang::Cmd, &vars).unwrap().command,
        "echo !LWAMS_V_1!"
    );
    match prepare(1, &n, &Map::new()) {
        Prepared::Refused(why) => assert!(why.contains("who"), "{why}"),
        other => panic!("{other:?}"),
    }
    vars.insert("who".into(), json!("a\u{0}b"));
    match prepare(1, &n, &vars) {
        Prepared::Refused(why) => {
            assert!(
                why.starts_with("step n (N): command: ${who} holds a NUL"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn http_steps_read_headers_as_lines_or_json_and_run_on_the_host_unless_in_cloud() {
    let none = Map::new();
    assert_eq!(
        parse_headers("Accept: application/json\n\nX-Trace: a:b", &none).unwrap(),
        vec![
            ("Accept".to_string(), "application/json".to_string()),
            ("X-Trace".to_string(), "a:b".to_string())
        ]
    );
    assert_eq!(
        parse_headers(r#"{"X-N": 1, "X-S": "s"}"#, &none).unwrap(),
        vec![
            ("X-N".to_string(), "1".to_string()),
            ("X-S".to_string(), "s".to_string())
        ]
    );
    let e = parse_headers("Accept application/json", &none).unwrap_err();
    assert!(e.contains("line 1"), "{e}");

    let mut n = node(&[
        ("url", "http://api/${id}"),
        ("host", "agent-1"),
        ("tls", "false"),
    ]);
    n.behaviour = Behaviour::Job {
        kind: StepKind::Http,
    };
    let mut vars = Map::new();
    vars.insert("id".into(), json!("7"));
    match prepare(1, &n, &vars) {
        Prepared::Service(s) => {
            assert_eq!(s.host.as_deref(), Some("agent-1"));
            match s.work {
                ServiceWork::Http(r) => {
                    assert_eq!(r.url, "http://api/7");
                    assert_eq!(r.method, "GET");
                    assert!(!r.verify_tls);
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    n.lwams.insert("inCloud".into(), "true".into());
    match prepare(1, &n, &vars) {
        Prepared::Service(s) => assert_eq!(s.host, None),
        other => panic!("{other:?}"),
    }
    // Values are encoded for where they stand: the URL's path and query, a header,
    // a JSON body; the base address at the start is kept.
    n.lwams
        .insert("url".into(), "${base}/items/${id}?q=${q}".into());
    n.lwams.insert(
        "headers".into(),
        "Content-Type: application/json\nX-User: ${q}".into(),
    );
    n.lwams
        .insert("body".into(), r#"{"q": "${q}", "id": ${id}}"#.into());
    vars.insert("base".into(), json!("https://api.example/v1"));
    vars.insert("id".into(), json!("7/../admin"));
    vars.insert("q".into(), json!("a\"b&c"));
    match prepare(1, &n, &vars) {
        Prepared::Service(ServiceStep {
            work: ServiceWork::Http(r),
            ..
        }) => {
            assert_eq!(
                r.url,
                "https://api.example/v1/items/7%2F..%2Fadmin?q=a%22b%26c"
            );
            assert_eq!(r.headers[1], ("X-User".to_string(), "a\"b&c".to_string()));
            let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
            assert_eq!(body, json!({ "q": "a\"b&c", "id": "7/../admin" }));
        }
        other => panic!("{other:?}"),
    }
    vars.insert("q".into(), json!("x\r\nX-Admin: 1"));
    match prepare(1, &n, &vars) {
        Prepared::Refused(why) => assert!(
            why.starts_with("headers: the value of header X-User holds a line break"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sql_steps_keep_their_placeholders_for_parameters_and_queries_are_told_from_updates() {
    let template = "SELECT * FROM t WHERE name = ${who} AND id IN (${raw:ids})";
    let mut n = node(&[("dataSource", "inventory"), ("sql", template)]);
    n.behaviour = Behaviour::Job {
        kind: StepKind::Sql,
    };
    let mut vars = Map::new();
    vars.insert("who".into(), json!("x'; DROP TABLE t; --"));
    vars.insert("ids".into(), json!("1,2"));
    match prepare(1, &n, &vars) {
        Prepared::Service(step) => {
            match &step.work {
                ServiceWork::Sql {
                    statement: SqlStatement::Inline { template: t },
                    query,
                    ..
                } => {
                    assert_eq!(t, template, "made into parameters once the kind is known");
                    assert_eq!(*query, None, "told from the statement when it runs");
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(step.host, None);
            let input = Prepared::Service(step).input();
            assert_eq!(input["sql"], template);
            assert_eq!(input["query"], true);
        }
        other => panic!("{other:?}"),
    }
    // What ran is shown with its placeholders, the values beside it.
    let statements = shared::sql::parameterize(
        &format!("{template}; DELETE FROM t WHERE id = ${{who}}"),
        shared::dto::data_source::DataSourceKind::Postgres,
        |p| vars.get(p).cloned(),
    )
    .unwrap();
    assert_eq!(
        shown_statements(&statements),
        (
            "SELECT * FROM t WHERE name = $1 AND id IN (1,2);\nDELETE FROM t WHERE id = $1"
                .to_string(),
            vec![json!("x'; DROP TABLE t; --"), json!("x'; DROP TABLE t; --")]
        )
    );
    assert!(reads_rows("  with x as (select 1) select * from x"));
    assert!(!reads_rows("UPDATE t SET a = 1"));
    let mut unknown = n.clone();
    unknown.lwams.insert("sql".into(), "SELECT ${nope}".into());
    match prepare(1, &unknown, &vars) {
        Prepared::Refused(why) => assert!(why.contains("${nope}"), "{why}"),
        other => panic!("{other:?}"),
    }
    n.lwams.remove("dataSource");
    match prepare(1, &n, &vars) {
        Prepared::Refused(why) => assert!(why.starts_with("dataSource"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_script_parameter_names_a_library_script_for_command_and_sql_steps() {
    let mut vars = Map::new();
    vars.insert("which".into(), json!("list home"));
    let n = node(&[("script", "${which}"), ("workDir", "/srv")]);
    match prepare(1, &n, &vars) {
        Prepared::LocalScript { company_id, script } => {
            assert_eq!(company_id, 1);
            assert_eq!(script.name, "list home");
            assert_eq!(script.work_dir.as_deref(), Some("/srv"));
        }
        other => panic!("{other:?}"),
    }
    let mut remote = node(&[("script", "sysinfo"), ("host", "h"), ("terminal", "t")]);
    remote.behaviour = Behaviour::Job {
        kind: StepKind::RemoteCommand,
    };
    match prepare(1, &remote, &vars) {
        Prepared::Remote(RemoteStep {
            work: RemoteWork::Script(r),
            ..
        }) => assert_eq!(r.name, "sysinfo"),
        other => panic!("{other:?}"),
    }
    // A command written in the step wins over a script.
    remote.lwams.insert("command".into(), "uname".into());
    assert!(matches!(
        prepare(1, &remote, &vars),
        Prepared::Remote(RemoteStep {
            work: RemoteWork::Command(_),
            ..
        })
    ));
    let mut sql = node(&[
        ("dataSource", "db"),
        ("script", "report rows"),
        ("query", "update"),
    ]);
    sql.behaviour = Behaviour::Job {
        kind: StepKind::Sql,
    };
    match prepare(1, &sql, &vars) {
        Prepared::Service(ServiceStep {
            work:
                ServiceWork::Sql {
                    statement: SqlStatement::Library(name),
                    query,
                    ..
                },
            ..
        }) => {
            assert_eq!(name, "report rows");
            assert_eq!(query, Some(false));
        }
        other => panic!("{other:?}"),
    }
    match prepare(1, &node(&[("workDir", "/srv")]), &vars) {
        Prepared::Refused(why) => assert!(why.starts_with("command"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_huge_multi_instance_does_not_copy_every_runs_full_output_into_the_variables() {
    let mut n = node(&[]);
    n.multi = Some(crate::engine::compile::Multi {
        sequential: false,
        over: "hosts".into(),
        element: "item".into(),
    });
    let big = CommandResult {
        exit_code: Some(0),
        stdout: "x".repeat(1024 * 1024),
        stderr: String::new(),
        truncated: false,
        duration_ms: 5,
    };
    let mut vars = Map::new();
    for index in [0u64, 1, 5_000] {
        vars.insert("loopCounter".into(), json!(index));
        let f = command_finished(&n, Map::new(), big.clone(), &vars, 0);
        // The run's whole output is still the node run's output.
        assert_eq!(
            f.output.as_ref().unwrap()["stdout"].as_str().unwrap().len(),
            1024 * 1024
        );
        vars.insert(n.id.clone(), f.vars[&n.id].clone());
    }
    let results = vars[&n.id]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "runs past RESULTS_KEEP_RUNS are not kept");
    let kept = &results[1];
    assert_eq!(kept["truncated"], true);
    assert_eq!(kept["exitCode"], 0);
    assert!(kept["stdout"].as_str().unwrap().chars().count() <= RESULT_TEXT_KEEP + 1);
    assert!(kept.to_string().len() <= RESULT_KEEP_BYTES);
    assert!(
        serde_json::to_string(&vars).unwrap().len() < 4 * RESULT_KEEP_BYTES + 1024 * 1024 + 10_000,
        "the variables hold the last result and small summaries only"
    );
    // A small result is kept as it is.
    let small = CommandResult {
        stdout: "ok".into(),
        ..big.clone()
    };
    vars.insert("loopCounter".into(), json!(2));
    let f = command_finished(&n, Map::new(), small, &vars, 0);
    assert_eq!(f.vars[&n.id]["results"][2]["stdout"], "ok");
}

#[test]
fn a_steps_recorded_input_output_and_error_hide_credentials_and_known_secrets() {
    let mut n = node(&[
        ("url", "https://ops:Url-pw-1@api.example/v1?token=${tok}"),
        ("headers", "Authorization: Bearer ${tok}\nAccept: */*"),
        ("body", "{\"password\": \"Body-pw-1\"}"),
    ]);
    n.behaviour = Behaviour::Job {
        kind: StepKind::Http,
    };
    let mut vars = Map::new();
    vars.insert("tok".into(), json!("Tok-123"));
    let prepared = prepare(1, &n, &vars);
    let input = prepared.input().to_string();
    for secret in ["Url-pw-1", "Tok-123", "Body-pw-1"] {
        assert!(!input.contains(secret), "{input}");
    }
    assert!(
        input.contains("api.example") && input.contains("*/*"),
        "{input}"
    );
    // What a step knows (its account's password) is masked in output and error too,
    // and the input is recorded again masked.
    let f = Finished {
        output: Some(json!({ "stdout": "pw is Acc-pw-77\n", "exitCode": 1 })),
        ..Finished::failed("exit 1: Acc-pw-77 refused".into())
    };
    let f = f.masked(&Masker::with_secrets(["Acc-pw-77"]), &prepared);
    assert_eq!(f.output.unwrap()["stdout"], "pw is •••\n");
    assert_eq!(f.message, "exit 1: ••• refused");
    assert!(f.input.is_some(), "recorded again");
    // A step knowing no values keeps the input recorded when it began.
    let f = Finished::failed("x".into()).masked(&Masker::new(), &prepared);
    assert!(f.input.is_none());
}

#[test]
fn file_paths_built_from_values_cannot_climb_out_unless_the_node_allows_any() {
    let mut n = node(&[
        ("host", "h"),
        ("terminal", "t"),
        ("direction", "PUT"),
        ("localFile", "/srv/out/${name}.csv"),
        ("remoteFile", "../shared/${name}.csv"),
    ]);
    n.behaviour = Behaviour::Job {
        kind: StepKind::FileDistribution,
    };
    let mut vars = Map::new();
    vars.insert("name".into(), json!("report-7"));
    let files = |p: Prepared| match p {
        Prepared::Remote(RemoteStep {
            work:
                RemoteWork::Transfer {
                    local_file,
                    remote_file,
                    ..
                },
            ..
        }) => Ok((local_file, remote_file)),
        Prepared::Refused(why) => Err(why),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        files(prepare(1, &n, &vars)),
        Ok((
            "/srv/out/report-7.csv".to_string(),
            "../shared/report-7.csv".to_string()
        )),
        "a `..` written in the step is the author's"
    );
    vars.insert("name".into(), json!("../../etc/cron.d/x"));
    let why = files(prepare(1, &n, &vars)).unwrap_err();
    assert!(
        why.starts_with("localFile: ") && why.contains("anyPath"),
        "{why}"
    );
    vars.insert("name".into(), json!("a\u{0}b"));
    let why = files(prepare(1, &n, &vars)).unwrap_err();
    assert!(why.contains("NUL"), "{why}");
    n.lwams.insert("anyPath".into(), "true".into());
    vars.insert("name".into(), json!("..\\..\\x"));
    assert!(
        files(prepare(1, &n, &vars)).is_ok(),
        "the node allows any path"
    );
    // File operations on a host too.
    let mut op = node(&[
        ("host", "h"),
        ("tool", "read"),
        ("filename", "/data/${name}"),
    ]);
    op.behaviour = Behaviour::Job {
        kind: StepKind::FileOperation,
    };
    match prepare(1, &op, &vars) {
        Prepared::Refused(why) => assert!(why.starts_with("filename: "), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn retries_back_off_doubling_until_they_run_out() {
    let n = node(&[("retries", "2"), ("retryDelay", "1")]);
    assert_eq!(retry_after(&n, 1), Some(Duration::from_secs(1)));
    assert_eq!(retry_after(&n, 2), Some(Duration::from_secs(2)));
    assert_eq!(retry_after(&n, 3), None);
    assert_eq!(retry_after(&node(&[]), 1), None);
    assert!(idempotent(&node(&[("idempotent", "true")])));
    assert!(!idempotent(&node(&[])));
}
