//! A WinRM server for tests: WS-Management's Windows Remote Shell (Create, Command,
//! Receive, Signal, Delete) over HTTP, answering with the envelopes, selectors, base64
//! streams, command states and faults a Windows server sends. Either Basic
//! authentication (`start`), or Windows' default (`start_negotiate`): Negotiate with
//! NTLMv2 authenticating the connection (`ntlm::Acceptor`, sspi's acceptor: challenge,
//! proof, MIC and the account's user and domain checked) and every message sealed
//! (unencrypted envelopes refused). It is checked against a real client (pywinrm with
//! requests-ntlm/pyspnego) in `agent/tests/winrm.rs`.
//! Standard input sent to a command (`Send`) reaches the process as a pipe, closed by
//! the stream's `End`. What it cannot be is Windows: command lines run under `sh -c`,
//! and `powershell -EncodedCommand …` runs the decoded script under `sh -c` too; what
//! each command was given (its script, its standard input) is kept for tests that
//! check what a Windows machine would have been asked to run.

use agent::executors::ntlm::{Acceptor, Security};
use agent::executors::winrm::{
    attr, escape, find_all, ACTION_COMMAND, ACTION_CREATE, ACTION_DELETE, ACTION_RECEIVE,
    ACTION_SEND, ACTION_SIGNAL, FAULT_TIMED_OUT, NS_ADDRESSING, NS_SHELL, NS_SOAP, NS_WSMAN,
    RESOURCE_CMD, STATE_DONE, STATE_RUNNING,
};
use agent::executors::winrm_sealing;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use shared::bpmn::xml::{self, Element};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Notify};

const NS_FAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";
const NS_TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";

#[derive(Default)]
struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: Option<i32>,
}

struct Command {
    output: Mutex<Output>,
    changed: Notify,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    /// The process's standard input until a stream with `End="true"` closes it.
    stdin: Mutex<Option<mpsc::UnboundedSender<Vec<u8>>>>,
    /// Its entry in `Fake::seen`.
    seen: usize,
}

/// What one command was given.
#[derive(Debug, Clone)]
pub struct Seen {
    /// What ran (a PowerShell command line decoded, see [`script_of`]).
    pub script: String,
    /// `WINRS_CONSOLEMODE_STDIN` as the client set it.
    pub console_mode_stdin: bool,
    /// Everything sent to its standard input.
    pub stdin: Vec<u8>,
    /// Whether a stream with `End="true"` closed it.
    pub stdin_closed: bool,
}

struct Shell {
    work_dir: Option<String>,
    commands: HashMap<String, Arc<Command>>,
}

/// Where the NTLM handshake of a connection stands.
enum Conn {
    Challenged(Box<Acceptor>),
    Authenticated(Box<Security>),
}

struct Fake {
    user: String,
    password: String,
    /// Negotiate (NTLM, sealed messages) instead of Basic.
    negotiate: bool,
    connections: Mutex<HashMap<SocketAddr, Conn>>,
    /// Envelopes that arrived sealed.
    sealed: AtomicU64,
    shells: Mutex<HashMap<String, Shell>>,
    next: AtomicU64,
    /// How many shells were ever created / are open (tests check none is left).
    created: AtomicU64,
    seen: Mutex<Vec<Seen>>,
    /// Requests that carried Basic credentials (a password in the clear over HTTP).
    basic_credentials: AtomicU64,
}

/// A running fake: its endpoint, and how many shells are still open.
pub struct FakeWinrm {
    pub endpoint: String,
    pub port: u16,
    fake: Arc<Fake>,
}

impl FakeWinrm {
    pub fn open_shells(&self) -> usize {
        self.fake.shells.lock().unwrap().len()
    }

    pub fn shells_created(&self) -> u64 {
        self.fake.created.load(Ordering::SeqCst)
    }

    /// How many envelopes arrived sealed (Negotiate mode).
    pub fn sealed_messages(&self) -> u64 {
        self.fake.sealed.load(Ordering::SeqCst)
    }

    /// How many requests carried Basic credentials (user and password readable).
    pub fn basic_credentials_seen(&self) -> u64 {
        self.fake.basic_credentials.load(Ordering::SeqCst)
    }

    /// Every command run so far, oldest first.
    pub fn commands_seen(&self) -> Vec<Seen> {
        self.fake.seen.lock().unwrap().clone()
    }
}

/// Starts a fake WinRM server on a loopback port accepting `user` / `password` with
/// Basic authentication.
pub async fn start(user: &str, password: &str) -> FakeWinrm {
    serve(user, password, false).await
}

/// Starts a fake WinRM server set up as Windows is by default: Negotiate (NTLM) only,
/// unencrypted traffic refused. `user` may be `DOMAIN\user` or a local user.
pub async fn start_negotiate(user: &str, password: &str) -> FakeWinrm {
    serve(user, password, true).await
}

async fn serve(user: &str, password: &str, negotiate: bool) -> FakeWinrm {
    let fake = Arc::new(Fake {
        user: user.into(),
        password: password.into(),
        negotiate,
        connections: Mutex::new(HashMap::new()),
        sealed: AtomicU64::new(0),
        shells: Mutex::new(HashMap::new()),
        next: AtomicU64::new(1),
        created: AtomicU64::new(0),
        seen: Mutex::new(Vec::new()),
        basic_credentials: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/wsman", post(handle))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    FakeWinrm {
        endpoint: format!("http://127.0.0.1:{port}/wsman"),
        port,
        fake,
    }
}

fn authorised(fake: &Fake, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(b64) = value.strip_prefix("Basic ") else {
        return false;
    };
    fake.basic_credentials.fetch_add(1, Ordering::SeqCst);
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    String::from_utf8_lossy(&decoded) == format!("{}:{}", fake.user, fake.password)
}

fn text_of(root: &Element, local: &str) -> String {
    find_all(root, local)
        .first()
        .map(|e| e.text().trim().to_string())
        .unwrap_or_default()
}

fn soap(status: StatusCode, action: &str, relates_to: &str, body: &str) -> Response {
    let xml = format!(
        concat!(
            r#"<s:Envelope xml:lang="en-US" xmlns:s="{soap}" xmlns:a="{addr}" xmlns:x="{transfer}" "#,
            r#"xmlns:w="{wsman}" xmlns:rsp="{shell}" xmlns:f="{fault}">"#,
            r#"<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{id:08X}-0000-4000-8000-000000000000</a:MessageID>"#,
            r#"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"#,
            r#"<a:RelatesTo>{relates}</a:RelatesTo></s:Header><s:Body>{body}</s:Body></s:Envelope>"#
        ),
        soap = NS_SOAP,
        addr = NS_ADDRESSING,
        transfer = NS_TRANSFER,
        wsman = NS_WSMAN,
        shell = NS_SHELL,
        fault = NS_FAULT,
        action = action,
        id = rand_id(),
        relates = escape(relates_to),
        body = body,
    );
    (
        status,
        [(header::CONTENT_TYPE, "application/soap+xml;charset=UTF-8")],
        xml,
    )
        .into_response()
}

fn rand_id() -> u32 {
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed) as u32
}

fn fault(relates_to: &str, subcode: &str, code: &str, reason: &str) -> Response {
    let body = format!(
        concat!(
            r#"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>"#,
            r#"<s:Reason><s:Text xml:lang="en-US">{reason}</s:Text></s:Reason>"#,
            r#"<s:Detail><f:WSManFault Code="{code}" Machine="fake-winrm"><f:Message>{reason}</f:Message></f:WSManFault></s:Detail></s:Fault>"#
        ),
        subcode = subcode,
        code = code,
        reason = escape(reason),
    );
    soap(
        StatusCode::INTERNAL_SERVER_ERROR,
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
        relates_to,
        &body,
    )
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if fake.negotiate {
        return negotiated(&fake, peer, &headers, &body).await;
    }
    if !authorised(&fake, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, r#"Basic realm="WSMAN""#)],
            "",
        )
            .into_response();
    }
    answer(&fake, &body).await
}

fn refuse_negotiate(token: Option<String>) -> Response {
    let value = match token {
        Some(t) => format!("Negotiate {t}"),
        None => "Negotiate".to_string(),
    };
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, value)],
        "",
    )
        .into_response()
}

/// Negotiate mode: the NTLM handshake per connection, then sealed envelopes only.
async fn negotiated(fake: &Fake, peer: SocketAddr, headers: &HeaderMap, body: &[u8]) -> Response {
    let b64 = base64::engine::general_purpose::STANDARD;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Negotiate ")
                .or_else(|| v.strip_prefix("NTLM "))
        })
        .and_then(|t| b64.decode(t.trim()).ok());
    if let Some(token) = token {
        // The message type after the `NTLMSSP\0` signature.
        match token.get(8..12) {
            Some([1, 0, 0, 0]) => {
                let Ok((acceptor, challenge)) =
                    Acceptor::challenge(&fake.user, &fake.password, &token)
                else {
                    return refuse_negotiate(None);
                };
                fake.connections
                    .lock()
                    .unwrap()
                    .insert(peer, Conn::Challenged(Box::new(acceptor)));
                return refuse_negotiate(Some(b64.encode(&challenge)));
            }
            Some([3, 0, 0, 0]) => {
                let mut conns = fake.connections.lock().unwrap();
                let accepted = match conns.remove(&peer) {
                    Some(Conn::Challenged(acceptor)) => acceptor.accept(&token).ok(),
                    _ => None,
                };
                match accepted {
                    Some(security) => {
                        conns.insert(peer, Conn::Authenticated(Box::new(security)));
                    }
                    None => return refuse_negotiate(None),
                }
            }
            _ => return refuse_negotiate(None),
        }
    }
    if body.is_empty() {
        let authenticated = matches!(
            fake.connections.lock().unwrap().get(&peer),
            Some(Conn::Authenticated(_))
        );
        return if authenticated {
            StatusCode::OK.into_response()
        } else {
            refuse_negotiate(None)
        };
    }
    let sealed = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(winrm_sealing::is_sealed);
    let envelope = {
        let mut conns = fake.connections.lock().unwrap();
        let Some(Conn::Authenticated(security)) = conns.get_mut(&peer) else {
            return refuse_negotiate(None);
        };
        if !sealed {
            // AllowUnencrypted=false, as Windows ships.
            return (StatusCode::BAD_REQUEST, "unencrypted traffic is refused").into_response();
        }
        match winrm_sealing::open(&mut **security, body) {
            Ok(e) => e,
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        }
    };
    fake.sealed.fetch_add(1, Ordering::SeqCst);
    let plain = answer(fake, &envelope).await;
    let status = plain.status();
    let Ok(bytes) = axum::body::to_bytes(plain.into_body(), usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut conns = fake.connections.lock().unwrap();
    let Some(Conn::Authenticated(security)) = conns.get_mut(&peer) else {
        return refuse_negotiate(None);
    };
    match winrm_sealing::seal(&mut **security, &bytes) {
        Ok(sealed) => (
            status,
            [(header::CONTENT_TYPE, winrm_sealing::CONTENT_TYPE)],
            sealed,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The answer to one envelope.
async fn answer(fake: &Fake, body: &[u8]) -> Response {
    let text = String::from_utf8_lossy(body);
    let Ok(root) = xml::parse(&text) else {
        return fault("", "w:SchemaValidationError", "2150858817", "not XML");
    };
    let action = text_of(&root, "Action");
    let message_id = text_of(&root, "MessageID");
    if text_of(&root, "ResourceURI") != RESOURCE_CMD {
        return fault(
            &message_id,
            "w:DestinationUnreachable",
            "2150858770",
            "unknown resource URI",
        );
    }
    let shell_id = find_all(&root, "Selector")
        .into_iter()
        .find(|s| attr(s, "Name") == Some("ShellId"))
        .map(|s| s.text().trim().to_string());
    let no_shell = || {
        fault(
            &message_id,
            "w:InvalidSelectors",
            "2150858843",
            "The request for the Windows Remote Shell with ShellId failed because the shell was not found on the server.",
        )
    };
    match action.as_str() {
        ACTION_CREATE => {
            let id = format!(
                "F00D{:04}-0000-4000-8000-{:012}",
                fake.next.fetch_add(1, Ordering::SeqCst),
                0
            );
            let work_dir = Some(text_of(&root, "WorkingDirectory")).filter(|d| !d.is_empty());
            fake.shells.lock().unwrap().insert(
                id.clone(),
                Shell {
                    work_dir,
                    commands: HashMap::new(),
                },
            );
            fake.created.fetch_add(1, Ordering::SeqCst);
            let body = format!(
                concat!(
                    r#"<x:ResourceCreated><a:Address>http://127.0.0.1/wsman</a:Address><a:ReferenceParameters>"#,
                    r#"<w:ResourceURI>{uri}</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">{id}</w:Selector></w:SelectorSet>"#,
                    r#"</a:ReferenceParameters></x:ResourceCreated>"#
                ),
                uri = RESOURCE_CMD,
                id = id,
            );
            soap(
                StatusCode::OK,
                "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
                &message_id,
                &body,
            )
        }
        ACTION_COMMAND => {
            let Some(shell_id) = shell_id else {
                return no_shell();
            };
            let command_line = {
                let c = text_of(&root, "Command");
                let args: Vec<String> = find_all(&root, "Arguments")
                    .into_iter()
                    .map(|a| a.text())
                    .collect();
                if args.is_empty() {
                    c
                } else {
                    format!("{c} {}", args.join(" "))
                }
            };
            let work_dir = {
                let shells = fake.shells.lock().unwrap();
                match shells.get(&shell_id) {
                    Some(s) => s.work_dir.clone(),
                    None => return no_shell(),
                }
            };
            let console_mode_stdin = find_all(&root, "Option")
                .into_iter()
                .find(|o| attr(o, "Name") == Some("WINRS_CONSOLEMODE_STDIN"))
                .is_none_or(|o| o.text().trim().eq_ignore_ascii_case("TRUE"));
            let seen = {
                let mut seen = fake.seen.lock().unwrap();
                seen.push(Seen {
                    script: script_of(&command_line),
                    console_mode_stdin,
                    stdin: Vec::new(),
                    stdin_closed: false,
                });
                seen.len() - 1
            };
            let command = spawn(&command_line, work_dir, seen);
            let id = format!(
                "C0DE{:04}-0000-4000-8000-000000000000",
                fake.next.fetch_add(1, Ordering::SeqCst)
            );
            if let Some(s) = fake.shells.lock().unwrap().get_mut(&shell_id) {
                s.commands.insert(id.clone(), command);
            }
            soap(
                StatusCode::OK,
                "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse",
                &message_id,
                &format!("<rsp:CommandResponse><rsp:CommandId>{id}</rsp:CommandId></rsp:CommandResponse>"),
            )
        }
        ACTION_RECEIVE => {
            let Some(shell_id) = shell_id else {
                return no_shell();
            };
            let desired = find_all(&root, "DesiredStream");
            let command_id = desired
                .first()
                .and_then(|d| attr(d, "CommandId"))
                .unwrap_or_default()
                .to_string();
            let command = {
                let shells = fake.shells.lock().unwrap();
                match shells
                    .get(&shell_id)
                    .and_then(|s| s.commands.get(&command_id))
                {
                    Some(c) => c.clone(),
                    None => return no_shell(),
                }
            };
            // Wait for output or the end, at most the operation timeout (capped).
            let wait = operation_timeout(&text_of(&root, "OperationTimeout"));
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let notified = command.changed.notified();
                {
                    let o = command.output.lock().unwrap();
                    if !o.stdout.is_empty() || !o.stderr.is_empty() || o.exit.is_some() {
                        break;
                    }
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return fault(
                        &message_id,
                        "w:TimedOut",
                        FAULT_TIMED_OUT,
                        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
                    );
                }
            }
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut o = command.output.lock().unwrap();
            let done = o.exit;
            let end = if done.is_some() { r#" End="true""# } else { "" };
            let mut body = String::from("<rsp:ReceiveResponse>");
            for (name, bytes) in [
                ("stdout", std::mem::take(&mut o.stdout)),
                ("stderr", std::mem::take(&mut o.stderr)),
            ] {
                if !bytes.is_empty() {
                    body.push_str(&format!(
                        r#"<rsp:Stream Name="{name}" CommandId="{command_id}">{}</rsp:Stream>"#,
                        b64.encode(&bytes)
                    ));
                }
                if done.is_some() {
                    body.push_str(&format!(
                        r#"<rsp:Stream Name="{name}" CommandId="{command_id}"{end}></rsp:Stream>"#
                    ));
                }
            }
            match done {
                Some(code) => body.push_str(&format!(
                    r#"<rsp:CommandState CommandId="{command_id}" State="{STATE_DONE}"><rsp:ExitCode>{code}</rsp:ExitCode></rsp:CommandState>"#
                )),
                None => body.push_str(&format!(
                    r#"<rsp:CommandState CommandId="{command_id}" State="{STATE_RUNNING}"/>"#
                )),
            }
            body.push_str("</rsp:ReceiveResponse>");
            soap(
                StatusCode::OK,
                "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse",
                &message_id,
                &body,
            )
        }
        ACTION_SEND => {
            let Some(shell_id) = shell_id else {
                return no_shell();
            };
            let b64 = base64::engine::general_purpose::STANDARD;
            for stream in find_all(&root, "Stream") {
                if attr(stream, "Name") != Some("stdin") {
                    return fault(
                        &message_id,
                        "w:InvalidParameter",
                        "2150858882",
                        "only the stdin stream can be sent to",
                    );
                }
                let command_id = attr(stream, "CommandId").unwrap_or_default();
                let Some(command) = fake
                    .shells
                    .lock()
                    .unwrap()
                    .get(&shell_id)
                    .and_then(|s| s.commands.get(command_id).cloned())
                else {
                    return no_shell();
                };
                let Ok(bytes) = b64.decode(stream.text().trim()) else {
                    return fault(
                        &message_id,
                        "w:SchemaValidationError",
                        "2150858817",
                        "stream not base64",
                    );
                };
                let end = attr(stream, "End").is_some_and(|e| e.eq_ignore_ascii_case("true"));
                {
                    let mut seen = fake.seen.lock().unwrap();
                    let entry = &mut seen[command.seen];
                    entry.stdin.extend_from_slice(&bytes);
                    entry.stdin_closed |= end;
                }
                let mut stdin = command.stdin.lock().unwrap();
                if let Some(tx) = stdin.as_ref() {
                    let _ = tx.send(bytes);
                }
                if end {
                    stdin.take();
                }
            }
            soap(
                StatusCode::OK,
                "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse",
                &message_id,
                "<rsp:SendResponse/>",
            )
        }
        ACTION_SIGNAL => {
            let Some(shell_id) = shell_id else {
                return no_shell();
            };
            let command_id = find_all(&root, "Signal")
                .first()
                .and_then(|s| attr(s, "CommandId"))
                .unwrap_or_default()
                .to_string();
            let command = fake
                .shells
                .lock()
                .unwrap()
                .get(&shell_id)
                .and_then(|s| s.commands.get(&command_id).cloned());
            match command {
                Some(c) => {
                    if let Some(kill) = c.kill.lock().unwrap().take() {
                        let _ = kill.send(());
                    }
                }
                None => return no_shell(),
            }
            soap(
                StatusCode::OK,
                "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse",
                &message_id,
                "<rsp:SignalResponse/>",
            )
        }
        ACTION_DELETE => {
            let Some(shell_id) = shell_id else {
                return no_shell();
            };
            let Some(shell) = fake.shells.lock().unwrap().remove(&shell_id) else {
                return no_shell();
            };
            for c in shell.commands.values() {
                if let Some(kill) = c.kill.lock().unwrap().take() {
                    let _ = kill.send(());
                }
            }
            soap(
                StatusCode::OK,
                "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse",
                &message_id,
                "",
            )
        }
        other => fault(
            &message_id,
            "a:ActionNotSupported",
            "2150858754",
            &format!("action not supported: {other}"),
        ),
    }
}

/// `PT20S`, `PT60.000S` → at most 5 s here (tests need not wait a minute).
fn operation_timeout(iso: &str) -> Duration {
    let secs: f64 = iso
        .trim()
        .trim_start_matches("PT")
        .trim_end_matches('S')
        .parse()
        .unwrap_or(20.0);
    Duration::from_secs_f64(secs.clamp(0.1, 5.0))
}

/// What the fake runs for a command line: `powershell … -EncodedCommand B64` runs the
/// decoded script, anything else the line itself, both under `sh -c`.
pub fn script_of(command_line: &str) -> String {
    let words: Vec<&str> = command_line.split_whitespace().collect();
    let is_powershell = words.first().is_some_and(|w| {
        w.eq_ignore_ascii_case("powershell") || w.eq_ignore_ascii_case("powershell.exe")
    });
    if is_powershell {
        if let Some(i) = words
            .iter()
            .position(|w| w.eq_ignore_ascii_case("-encodedcommand") || w.eq_ignore_ascii_case("-e"))
        {
            if let Some(b64) = words.get(i + 1) {
                if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) {
                    let units: Vec<u16> = bytes
                        .chunks(2)
                        .map(|p| u16::from_le_bytes([p[0], *p.get(1).unwrap_or(&0)]))
                        .collect();
                    return String::from_utf16_lossy(&units);
                }
            }
        }
    }
    command_line.to_string()
}

/// What `sh -c` runs for a decoded script: the script itself, or for LWAMS's launcher
/// (it reads `$input`: the number of values, each value in base64 on a line, then the
/// body in base64) the same steps in `sh` — the values exported as `LWAMS_V_<n>`, then
/// a script saved as `Join-Path $d 'NAME'` run by `sh` (a PowerShell script's
/// `${env:NAME}` read as `"${NAME}"`), or an inline command (`cmd.exe /v:on`) run by
/// `sh` with cmd's delayed expansion emulated (`!LWAMS_V_n!` read as `"${LWAMS_V_n}"`,
/// the value never parsed).
fn emulated(script: &str) -> String {
    if !script.contains("$l = @($input") {
        return script.to_string();
    }
    let values = "IFS= read -r n; n=$(printf %s \"$n\" | tr -d '\\r '); i=0; \
                  while [ \"$i\" -lt \"$n\" ]; do i=$((i + 1)); IFS= read -r l; \
                  v=$(printf %s \"$l\" | tr -d '\\r' | base64 -d; echo x); \
                  export \"LWAMS_V_$i=${v%x}\"; done; ";
    let launcher_file = script
        .split("Join-Path $d '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .filter(|name| {
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    match launcher_file {
        Some(name) => format!(
            "{values}d=$(mktemp -d) && f=\"$d/{name}\" && tr -d ' \\r\\n\\t' | base64 -d > \"$f\" && \
             sed -i '1s/^\\xEF\\xBB\\xBF//' \"$f\" || exit 125; {env_drive}\
             sh \"$f\"; rc=$?; rm -rf \"$d\"; exit $rc",
            env_drive = if name.ends_with(".ps1") {
                "sed -i 's/${env:\\([A-Za-z0-9_]*\\)}/\"${\\1}\"/g' \"$f\"; "
            } else {
                ""
            }
        ),
        None => format!(
            "{values}c=$(tr -d ' \\r\\n\\t' | base64 -d; echo x); c=${{c%x}}; \
             c=$(printf %s \"$c\" | sed 's/!\\(LWAMS_V_[0-9]*\\)!/\"${{\\1}}\"/g'; echo x); \
             sh -c \"${{c%x}}\""
        ),
    }
}

fn spawn(command_line: &str, work_dir: Option<String>, seen: usize) -> Arc<Command> {
    let command = Arc::new(Command {
        output: Mutex::new(Output::default()),
        changed: Notify::new(),
        kill: Mutex::new(None),
        stdin: Mutex::new(None),
        seen,
    });
    let (kill_tx, kill_rx) = oneshot::channel();
    *command.kill.lock().unwrap() = Some(kill_tx);
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(emulated(&script_of(command_line)))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(d) = &work_dir {
        cmd.current_dir(d);
    }
    let c = command.clone();
    match cmd.spawn() {
        Err(e) => {
            let mut o = c.output.lock().unwrap();
            o.stderr = format!("'{command_line}' is not recognized: {e}\r\n").into_bytes();
            o.exit = Some(1);
        }
        Ok(mut child) => {
            let mut input = child.stdin.take().unwrap();
            let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
            *c.stdin.lock().unwrap() = Some(tx);
            tokio::spawn(async move {
                while let Some(bytes) = rx.recv().await {
                    if input.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                // Dropping `input` closes the pipe: the process reads end of file.
            });
            let out = child.stdout.take().unwrap();
            let err = child.stderr.take().unwrap();
            let pump = |mut r: Box<dyn tokio::io::AsyncRead + Unpin + Send>, stdout: bool| {
                let c = c.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = r.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        {
                            let mut o = c.output.lock().unwrap();
                            let target = if stdout { &mut o.stdout } else { &mut o.stderr };
                            target.extend_from_slice(&buf[..n]);
                        }
                        c.changed.notify_waiters();
                    }
                })
            };
            let readers = [pump(Box::new(out), true), pump(Box::new(err), false)];
            tokio::spawn(async move {
                let code = tokio::select! {
                    s = child.wait() => s.ok().and_then(|s| s.code()).unwrap_or(-1),
                    _ = kill_rx => {
                        let _ = child.kill().await;
                        -1
                    }
                };
                // Let the readers drain what the process wrote last.
                for r in readers {
                    let _ = tokio::time::timeout(Duration::from_millis(300), r).await;
                }
                c.output.lock().unwrap().exit = Some(code);
                c.changed.notify_waiters();
            });
        }
    }
    command
}
