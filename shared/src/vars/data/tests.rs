//! Values as data: every language with the same hostile values. Where an interpreter
//! runs here (sh, bash, python3, java) the bound code runs for real and each value must
//! arrive byte for byte with nothing else executed (the output is exactly the values);
//! PowerShell, cmd and VBScript cannot run here and are checked against a table of
//! their documented parsing rules (tests named `…documented_rules…`).

use super::*;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

/// The payloads every language gets (NUL is refused, see below).
fn payloads() -> Vec<(&'static str, String)> {
    let ten_kb: String = (0..10_240)
        .map(|i| {
            let set = "ab'\"$`\\ %!&|;<>()^\u{e9}\n";
            set.chars().nth(i % set.chars().count()).unwrap_or('a')
        })
        .collect();
    vec![
        ("command substitution", "$(id)".to_string()),
        ("backquotes", "`id`".to_string()),
        ("single quotes", "'; id; '".to_string()),
        ("double quotes and &", "\" & calc & \"".to_string()),
        ("cmd variable", "%PATH%".to_string()),
        ("PowerShell variable", "$env:PATH".to_string()),
        ("line break", "\n".to_string()),
        ("backslash n", "\\n".to_string()),
        ("10 KB", ten_kb),
        ("non-ASCII", "中文 ünï 😀 ‘’“” ${HOME}".to_string()),
        ("empty", String::new()),
        ("delayed expansion", "!PATH! ^! %%".to_string()),
    ]
}

fn vars_of(values: &[(&str, String)]) -> BTreeMap<String, String> {
    values
        .iter()
        .enumerate()
        .map(|(i, (_, v))| (format!("p{i}"), v.clone()))
        .collect()
}

fn bind_all(
    template: &str,
    lang: Lang,
    vars: &BTreeMap<String, String>,
) -> Result<Bound, BindError> {
    bind(template, lang, |p| vars.get(p).cloned())
}

/// Each value between `x` and `y`, then the unit separator: what every program prints.
fn expected(values: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, v) in values {
        out.extend_from_slice(format!("x{v}y\u{1f}").as_bytes());
    }
    out
}

/// Runs `program args…` with the bound values in its environment (UTF-8 locale).
fn run(program: &str, args: &[&str], bound: &Bound, dir: Option<&std::path::Path>) -> Vec<u8> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("LANG", "C.UTF-8")
        .envs(bound.env())
        .stdin(Stdio::null());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{program} runs here: {e}"));
    assert!(
        out.status.success(),
        "{program}: {:?}\n{}\n--- code ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        bound.text
    );
    assert!(
        out.stderr.is_empty(),
        "{program} said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(400).collect()
}

/// `x${p0}y x${p1}y …` with each word wrapped by `wrap`.
fn words(n: usize, wrap: impl Fn(&str) -> String) -> String {
    (0..n)
        .map(|i| wrap(&format!("x${{p{i}}}y")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn vars_sh_and_bash_get_every_value_byte_for_byte_outside_and_inside_quotes() {
    let values = payloads();
    let vars = vars_of(&values);
    let n = values.len();
    let printf = "printf '%s\\037'";
    let mut cases: Vec<(&str, String)> = vec![
        (
            "outside quotes",
            format!("{printf} {}", words(n, |w| w.to_string())),
        ),
        (
            "inside double quotes",
            format!("{printf} {}", words(n, |w| format!("\"{w}\""))),
        ),
        (
            "inside single quotes",
            format!("{printf} {}", words(n, |w| format!("'{w}'"))),
        ),
        (
            "in $(…) inside double quotes",
            format!("{printf} {}", words(n, |w| format!("\"$(printf %s {w})\""))),
        ),
        (
            "in backquotes inside double quotes",
            format!("{printf} {}", words(n, |w| format!("\"`printf %s {w}`\""))),
        ),
        (
            "in a here-document",
            format!(
                "printf %s \"$(cat <<EOF\n{}\nEOF\n)\"",
                (0..n)
                    .map(|i| format!("x${{p{i}}}y\u{1f}"))
                    .collect::<String>()
            ),
        ),
        (
            "after a comment with a quote",
            format!(
                "# it's ${{p0}} \"\n{printf} {}",
                words(n, |w| w.to_string())
            ),
        ),
    ];
    for shell in ["sh", "bash"] {
        let lang = if shell == "sh" { Lang::Sh } else { Lang::Bash };
        if shell == "bash" {
            cases.push((
                "inside $'…'",
                format!("{printf} {}", words(n, |w| format!("$'{w}'"))),
            ));
        }
        for (position, template) in &cases {
            let bound = bind_all(template, lang, &vars)
                .unwrap_or_else(|e| panic!("{shell} {position}: {e}"));
            for (label, v) in &values {
                if v.len() > 3 {
                    assert!(
                        !bound.text.contains(v.as_str()),
                        "{shell} {position}: {label} was spliced into the code"
                    );
                }
            }
            let out = run(shell, &["-c", &bound.text], &bound, None);
            assert_eq!(
                show(&out),
                show(&expected(&values)),
                "{shell}, placeholders {position}:\n{}",
                bound.text
            );
            assert_eq!(out, expected(&values), "{shell} {position}");
        }
    }
}

#[test]
fn vars_sh_references_follow_the_quotes_they_are_in() {
    let vars: BTreeMap<String, String> = [("v".to_string(), "x".to_string())].into();
    let text = |t: &str| bind_all(t, Lang::Sh, &vars).map(|b| b.text);
    assert_eq!(text("echo ${v}").unwrap(), "echo \"$LWAMS_V_1\"");
    assert_eq!(text("echo \"${v}\"").unwrap(), "echo \"${LWAMS_V_1}\"");
    assert_eq!(
        text("echo \"${v}abc\"").unwrap(),
        "echo \"${LWAMS_V_1}abc\""
    );
    assert_eq!(text("echo '${v}'").unwrap(), "echo ''\"$LWAMS_V_1\"''");
    assert_eq!(
        text("echo \"it's ${v}\"").unwrap(),
        "echo \"it's ${LWAMS_V_1}\""
    );
    assert_eq!(
        text("echo $${HOME} ${v} ${v}").unwrap(),
        "echo ${HOME} \"$LWAMS_V_1\" \"$LWAMS_V_1\"",
        "one variable per placeholder, a literal ${{ kept"
    );
    let e = text("echo \\${v}").unwrap_err();
    assert!(e.to_string().contains("backslash"), "{e}");
    let e = text("cat <<'END'\n${v}\nEND").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("sh: ${v} on line 2 is inside a quoted here-document"),
        "{e}"
    );
    assert_eq!(
        text("cat <<END\n'${v}'\nEND\necho '${v}'").unwrap(),
        "cat <<END\n'${LWAMS_V_1}'\nEND\necho ''\"$LWAMS_V_1\"''",
        "quotes are literal inside a here-document, and it ends at its delimiter"
    );
}

#[test]
fn vars_raw_splices_text_and_nul_is_refused_in_every_language() {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    vars.insert("opts".into(), "-l -a".into());
    vars.insert("nul".into(), "a\0b".into());
    vars.insert("v".into(), "x".into());
    let b = bind_all("ls ${raw:opts} ${v}", Lang::Sh, &vars).unwrap();
    assert_eq!(b.text, "ls -l -a \"$LWAMS_V_1\"");
    assert_eq!(b.values, vec!["x"]);
    assert_eq!(b.paths, vec!["v"]);
    assert_eq!(b.env(), vec![("LWAMS_V_1".to_string(), "x".to_string())]);
    for lang in Lang::ALL {
        assert_eq!(
            bind_all("echo ${nul}", lang, &vars).unwrap_err(),
            BindError::Nul("nul".into()),
            "{lang:?}: NUL is refused, not stripped"
        );
        assert_eq!(
            bind_all("echo ${raw:nul}", lang, &vars).unwrap_err(),
            BindError::Nul("nul".into())
        );
        assert!(matches!(
            bind_all("echo ${nope}", lang, &vars).unwrap_err(),
            BindError::Var(VarError::Unknown(_))
        ));
        let b = bind_all("no values", lang, &vars).unwrap();
        assert_eq!((b.text.as_str(), b.values.len()), ("no values", 0));
    }
    vars.insert("big".into(), "x".repeat(200_000));
    assert!(matches!(
        bind_all("echo ${big}", Lang::Sh, &vars).unwrap_err(),
        BindError::TooLong { .. }
    ));
}

#[test]
fn vars_python_gets_every_value_as_a_str_and_refuses_placeholders_in_literals() {
    let values = payloads();
    let vars = vars_of(&values);
    let list = (0..values.len())
        .map(|i| format!("${{p{i}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let template = format!(
        "#!/usr/bin/env python3\n# a comment's quote: ${{p0}}\nimport sys\nvalues = [{list}]\n\
         sys.stdout.buffer.write(b''.join(('x' + v + 'y\\x1f').encode() for v in values))\n"
    );
    let bound = bind_all(&template, Lang::Python, &vars).unwrap();
    let out = run("python3", &["-c", &bound.text], &bound, None);
    assert_eq!(show(&out), show(&expected(&values)), "{}", bound.text);
    assert_eq!(out, expected(&values));
    for (position, template) in [
        ("inside double quotes", "print(\"x${p0}y\")"),
        ("inside single quotes", "print('x${p0}y')"),
        ("inside a triple-quoted string", "print('''\nx${p0}y''')"),
        ("inside an f-string's braces", "print(f\"{${p0}}\")"),
        ("inside a raw string", "print(r'\\'${p0}')"),
    ] {
        let e = bind_all(template, Lang::Python, &vars).unwrap_err();
        assert!(
            e.to_string().contains("inside a string literal"),
            "{position}: {e}"
        );
    }
    // After a string ends, code again.
    let b = bind_all("print('a\\'b', \"\"\"c\"\"\" + ${p0})", Lang::Python, &vars).unwrap();
    assert!(
        b.text
            .ends_with("+ __import__(\"os\").environ[\"LWAMS_V_1\"])"),
        "{}",
        b.text
    );
}

#[test]
fn vars_java_gets_every_value_as_a_string_and_refuses_placeholders_in_literals() {
    let values = payloads();
    let vars = vars_of(&values);
    let list = (0..values.len())
        .map(|i| format!("${{p{i}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let template = format!(
        "// The values: ${{p0}}, it's a comment\n\
         public class Main {{\n\
         \x20   public static void main(String[] a) throws Exception {{\n\
         \x20       String[] values = {{ {list} }};\n\
         \x20       java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();\n\
         \x20       for (String v : values) {{\n\
         \x20           out.write((\"x\" + v + \"y\").getBytes(java.nio.charset.StandardCharsets.UTF_8));\n\
         \x20           out.write('\\u001f');\n\
         \x20       }}\n\
         \x20       System.out.write(out.toByteArray());\n\
         \x20       System.out.flush();\n\
         \x20   }}\n\
         }}\n"
    );
    let bound = bind_all(&template, Lang::Java, &vars).unwrap();
    let dir = std::env::temp_dir().join(format!("lwams-java-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Main.java"), &bound.text).unwrap();
    let out = run("java", &["Main.java"], &bound, Some(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(show(&out), show(&expected(&values)), "{}", bound.text);
    assert_eq!(out, expected(&values));
    for (position, template) in [
        ("inside double quotes", "String s = \"x${p0}y\";"),
        ("inside a char literal", "char c = '${p0}';"),
        ("inside a text block", "String s = \"\"\"\n  x${p0}y\"\"\";"),
    ] {
        let e = bind_all(template, Lang::Java, &vars).unwrap_err();
        assert!(e.to_string().contains("literal"), "{position}: {e}");
    }
    let b = bind_all("/* \" */ String s = \"a\\\"\" + ${p0};", Lang::Java, &vars).unwrap();
    assert!(
        b.text.ends_with("+ System.getenv(\"LWAMS_V_1\");"),
        "{}",
        b.text
    );
}

/// PowerShell cannot run here: the rewriting is checked against the language's
/// documented parsing rules (about_Quoting_Rules, about_Parsing, about_Comments,
/// about_Special_Characters): `${env:NAME}` is a variable reference — in argument mode
/// one argument, in an expandable string substituted once and never parsed again; a
/// single-quoted (or verbatim here-) string expands nothing; a backtick makes the next
/// character literal.
#[test]
fn vars_powershell_documented_rules_place_env_references_by_quoting() {
    let vars: BTreeMap<String, String> = [("v".to_string(), "$(calc)".to_string())].into();
    let ok = [
        ("Write-Output ${v}", "Write-Output ${env:LWAMS_V_1}"),
        (
            "Write-Output \"a ${v} b\"",
            "Write-Output \"a ${env:LWAMS_V_1} b\"",
        ),
        ("\"${v}x\"", "\"${env:LWAMS_V_1}x\""),
        ("\"$(${v}.Length)\"", "\"$(${env:LWAMS_V_1}.Length)\""),
        (
            "\"say \"\"hi\"\" ${v}\"",
            "\"say \"\"hi\"\" ${env:LWAMS_V_1}\"",
        ),
        ("'it''s' + ${v}", "'it''s' + ${env:LWAMS_V_1}"),
        ("# it's ${v}", "# it's ${env:LWAMS_V_1}"),
        ("<# it's #> ${v}", "<# it's #> ${env:LWAMS_V_1}"),
        ("@\"\nit's ${v}\n\"@", "@\"\nit's ${env:LWAMS_V_1}\n\"@"),
        ("@'\nquoted\n'@\n${v}", "@'\nquoted\n'@\n${env:LWAMS_V_1}"),
        ("\u{201C}${v}\u{201D}", "\u{201C}${env:LWAMS_V_1}\u{201D}"),
    ];
    for (template, text) in ok {
        let b = bind_all(template, Lang::Powershell, &vars)
            .unwrap_or_else(|e| panic!("{template}: {e}"));
        assert_eq!(b.text, text, "{template}");
        assert_eq!(b.values, vec!["$(calc)"]);
    }
    for (template, why) in [
        ("Write-Output 'a ${v}'", "expands nothing"),
        ("Write-Output \u{2018}a ${v}\u{2019}", "expands nothing"),
        ("@'\n${v}\n'@", "expands nothing"),
        ("Write-Output `${v}", "backtick"),
        ("Write-Output \"`${v}\"", "backtick"),
    ] {
        let e = bind_all(template, Lang::Powershell, &vars).unwrap_err();
        assert!(e.to_string().contains(why), "{template}: {e}");
        assert!(e.to_string().starts_with("PowerShell: ${v} on line"), "{e}");
    }
}

/// cmd cannot run here: the rewriting is checked against cmd's documented parsing
/// phases (percent expansion before the line is parsed; delayed `!NAME!` expansion
/// after it, never parsed again; a pipe runs each side in a new cmd.exe that parses the
/// text again; CALL expands `%…%` once more; FOR /F runs its command in a new
/// cmd.exe; with delayed expansion on, a lone `!` is removed).
#[test]
fn vars_cmd_documented_rules_use_delayed_expansion_and_refuse_second_parses() {
    let vars: BTreeMap<String, String> =
        [("v".to_string(), "a & calc | %PATH%".to_string())].into();
    let ok = [
        ("echo ${v}", "echo !LWAMS_V_1!"),
        ("echo \"${v}\"", "echo \"!LWAMS_V_1!\""),
        (
            "if \"${v}\"==\"x\" echo y",
            "if \"!LWAMS_V_1!\"==\"x\" echo y",
        ),
        (
            "set \"x=${v}\" & echo !x! !x:~0,1!",
            "set \"x=!LWAMS_V_1!\" & echo !x! !x:~0,1!",
        ),
        ("echo a || echo ${v}", "echo a || echo !LWAMS_V_1!"),
        ("echo \"a|b\" ${v}", "echo \"a|b\" !LWAMS_V_1!"),
        ("echo a ^| ${v}", "echo a ^| !LWAMS_V_1!"),
        ("echo Hello^! ${v}", "echo Hello^! !LWAMS_V_1!"),
        (
            "for %i in (a b) do echo ${v}",
            "for %i in (a b) do echo !LWAMS_V_1!",
        ),
        (
            "echo ${v}\necho a | more",
            "echo !LWAMS_V_1!\necho a | more",
        ),
    ];
    for (template, text) in ok {
        let b = bind_all(template, Lang::Cmd, &vars).unwrap_or_else(|e| panic!("{template}: {e}"));
        assert_eq!(b.text, text, "{template}");
    }
    for (template, why) in [
        ("echo ${v} | findstr a", "pipe"),
        ("(\necho ${v}\n) | more", "pipe"),
        ("echo x ^\n${v} | more", "pipe"),
        ("call echo ${v}", "CALL"),
        ("@CALL :label ${v}", "CALL"),
        ("echo a & call echo ${v}", "CALL"),
        ("for /f %i in ('echo ${v}') do echo %i", "FOR"),
        ("echo %${v}%", "next to %"),
        ("echo Hello! ${v}", "delayed expansion"),
        ("echo !${v}!", "delayed expansion"),
    ] {
        let e = bind_all(template, Lang::Cmd, &vars).unwrap_err();
        assert!(e.to_string().contains(why), "{template}: {e}");
        assert!(e.to_string().starts_with("cmd: "), "{e}");
    }
    // A batch file turns delayed expansion on first, once.
    let b = bind_all("@echo off\r\necho ${v}\r\necho ${v}", Lang::Bat, &vars).unwrap();
    assert_eq!(
        b.text,
        "@setlocal EnableDelayedExpansion\n@echo off\r\necho !LWAMS_V_1!\r\necho !LWAMS_V_1!"
    );
    assert_eq!(
        bind_all("@echo off", Lang::Bat, &vars).unwrap().text,
        "@echo off"
    );
}

/// VBScript cannot run here: a value is read from the process environment
/// (WScript.Shell's Environment("PROCESS")); inside a string literal the literal is
/// closed and concatenated (`&`), as VBScript strings cannot hold an expression.
#[test]
fn vars_vbscript_documented_rules_read_the_process_environment() {
    let vars: BTreeMap<String, String> =
        [("v".to_string(), "\" & CreateObject(\"x\") & \"".to_string())].into();
    let get = "CreateObject(\"WScript.Shell\").Environment(\"PROCESS\")(\"LWAMS_V_1\")";
    for (template, text) in [
        (
            "WScript.Echo ${v}".to_string(),
            format!("WScript.Echo {get}"),
        ),
        (
            "WScript.Echo \"a \"\"${v}\"\" b\"".to_string(),
            format!("WScript.Echo \"a \"\"\" & {get} & \"\"\" b\""),
        ),
        ("' it's ${v}".to_string(), format!("' it's {get}")),
        ("Rem \"${v}".to_string(), format!("Rem \"{get}")),
    ] {
        assert_eq!(
            bind_all(&template, Lang::Vbs, &vars).unwrap().text,
            text,
            "{template}"
        );
    }
}

#[test]
fn vars_placeholders_written_inside_quotes_are_found_for_the_designer() {
    assert_eq!(
        quoted("echo \"${a}\" '${b}' ${c} ${raw:d} # '${e}'", Lang::Sh),
        vec![("a".to_string(), 6), ("b".to_string(), 13)]
    );
    assert!(quoted("echo ${a}", Lang::Sh).is_empty());
    assert_eq!(quoted("print(\"${a}\")", Lang::Python).len(), 1);
    assert!(
        quoted("echo ${", Lang::Sh).is_empty(),
        "malformed: nothing to say"
    );
    for kind in ScriptKind::ALL {
        assert_eq!(Lang::of_script(kind).is_none(), kind == ScriptKind::Sql);
    }
}
