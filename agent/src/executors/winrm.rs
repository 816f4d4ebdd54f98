//! Remote commands on Windows terminals over WinRM (WS-Management, SOAP over HTTP/HTTPS,
//! MS-WSMV's Windows Remote Shell): create a shell, run the command line in it, receive
//! stdout/stderr until the command is done with its exit code, signal terminate and
//! delete the shell. Authentication is Negotiate with NTLMv2 (`ntlm.rs`, Devolutions'
//! `sspi`; over plain HTTP every message is sealed, `winrm_sealing.rs` — Windows' default
//! set-up), or Basic when
//! that is all the server offers: over HTTPS, and over plain HTTP only when the terminal
//! explicitly allows it (the password would cross the network readable) — else refused.
//! Output is asked for in UTF-8 (code page 65001).
//! PowerShell runs as `powershell -EncodedCommand` (UTF-16LE, base64). A command may be
//! fed standard input (`Send`, in chunks, the last one ending the stream), which is how
//! library scripts travel (`script.rs`).

use super::local::OnOutput;
use super::{ntlm, winrm_sealing};
use base64::Engine;
use shared::agent::{CommandResult, FailureCode, Stream, OUTPUT_CAP};
use shared::bpmn::xml::{self, Element};
use std::time::{Duration, Instant};

pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
pub const NS_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
pub const RESOURCE_CMD: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
pub const ACTION_CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
pub const ACTION_DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
pub const ACTION_COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
pub const ACTION_RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
pub const ACTION_SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";
pub const ACTION_SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
pub const SIGNAL_TERMINATE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate";
pub const STATE_DONE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";
pub const STATE_RUNNING: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running";
/// The WS-Management fault code of a Receive that saw no output within the operation
/// timeout (ask again).
pub const FAULT_TIMED_OUT: &str = "2150858793";
/// How long one Receive may wait on the server for output.
const OPERATION_TIMEOUT_SECS: u64 = 20;
/// The longest command line `cmd` runs.
pub const COMMAND_LINE_MAX: usize = 8191;
/// Bytes of standard input per Send (base64 ≈ 64 KiB, well inside the 150 KiB envelope
/// limit of older Windows).
const STDIN_CHUNK: usize = 48 * 1024;

/// A Windows terminal account reached over WinRM.
#[derive(Debug, Clone)]
pub struct WinrmTarget {
    /// `http(s)://host:port/wsman`.
    pub endpoint: String,
    pub username: String,
    pub password: String,
    pub verify_tls: bool,
    /// Basic authentication over plain `http://` is allowed (the terminal says so).
    pub allow_basic_http: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum WinrmError {
    #[error("cannot reach {0}: {1}")]
    Unreachable(String, String),
    #[error("{0}: the user name or password was refused")]
    AuthFailed(String),
    #[error(
        "{0} offers only Basic authentication, which over plain HTTP would send the \
         password readable on the network: refused. Use HTTPS (port 5986) or Negotiate on \
         the terminal, or — on a network you trust — allow Basic over HTTP on the terminal \
         (System › Hosts)"
    )]
    BasicOverHttp(String),
    #[error("WinRM fault: {0}")]
    Fault(String),
    #[error("WinRM: unexpected answer: {0}")]
    Protocol(String),
    #[error(transparent)]
    Ntlm(#[from] ntlm::NtlmError),
    #[error(transparent)]
    Sealing(#[from] winrm_sealing::SealingError),
    #[error("the command line is {0} characters; cmd runs at most 8191")]
    TooLong(usize),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("cancelled")]
    Cancelled,
}

impl WinrmError {
    pub fn code(&self) -> FailureCode {
        match self {
            WinrmError::Unreachable(..) => FailureCode::Unreachable,
            WinrmError::AuthFailed(_) => FailureCode::AuthFailed,
            WinrmError::Timeout(_) => FailureCode::Timeout,
            WinrmError::Cancelled => FailureCode::Cancelled,
            _ => FailureCode::Other,
        }
    }
}

/// Every element under `e` (itself included) with the local name `local`.
pub fn find_all<'a>(e: &'a Element, local: &str) -> Vec<&'a Element> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(el) = stack.pop() {
        if el.local() == local {
            out.push(el);
        }
        let children: Vec<&Element> = el.elements().collect();
        stack.extend(children.into_iter().rev());
    }
    out
}

/// An attribute by its local name (`Name`, `State`, `CommandId`), whatever its prefix.
pub fn attr<'a>(e: &'a Element, local: &str) -> Option<&'a str> {
    e.attrs
        .iter()
        .find(|(k, _)| xml::local_name(k) == local)
        .map(|(_, v)| v.as_str())
}

/// `&`, `<`, `>`, `"` and `'` as entities.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn message_id() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "uuid:{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// A request envelope: the WS-Management header for `action` (with the shell's
/// selector and options when given) around `body`.
fn envelope(
    to: &str,
    action: &str,
    shell: Option<&str>,
    options: &[(&str, &str)],
    body: &str,
) -> String {
    let selector = shell
        .map(|id| {
            format!(
                r#"<w:SelectorSet><w:Selector Name="ShellId">{}</w:Selector></w:SelectorSet>"#,
                escape(id)
            )
        })
        .unwrap_or_default();
    let options = if options.is_empty() {
        String::new()
    } else {
        let o: String = options
            .iter()
            .map(|(k, v)| format!(r#"<w:Option Name="{k}">{v}</w:Option>"#))
            .collect();
        format!("<w:OptionSet>{o}</w:OptionSet>")
    };
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<s:Envelope xmlns:s="{soap}" xmlns:a="{addr}" xmlns:w="{wsman}" xmlns:rsp="{shell_ns}" "#,
            r#"xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">"#,
            r#"<s:Header><a:To>{to}</a:To>"#,
            r#"<a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>"#,
            r#"<w:MaxEnvelopeSize s:mustUnderstand="true">512000</w:MaxEnvelopeSize>"#,
            r#"<a:MessageID>{id}</a:MessageID>"#,
            r#"<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>"#,
            r#"<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>"#,
            r#"<w:OperationTimeout>PT{timeout}S</w:OperationTimeout>"#,
            r#"<w:ResourceURI s:mustUnderstand="true">{resource}</w:ResourceURI>"#,
            r#"<a:Action s:mustUnderstand="true">{action}</a:Action>"#,
            r#"{selector}{options}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
        ),
        soap = NS_SOAP,
        addr = NS_ADDRESSING,
        wsman = NS_WSMAN,
        shell_ns = NS_SHELL,
        to = escape(to),
        id = message_id(),
        timeout = OPERATION_TIMEOUT_SECS,
        resource = RESOURCE_CMD,
        action = action,
        selector = selector,
        options = options,
        body = body,
    )
}

/// The command line that runs a PowerShell script: `-EncodedCommand` with the script
/// in UTF-16LE, base64 (nothing in it needs quoting for cmd).
pub fn powershell_command(script: &str) -> String {
    let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    format!(
        "powershell -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {}",
        base64::engine::general_purpose::STANDARD.encode(utf16)
    )
}

/// How the session proves who it is.
enum Auth {
    /// Not settled yet, or the NTLM connection it was settled on is gone: start with
    /// Negotiate (NTLM), fall back to Basic when that is all the server offers.
    Unsettled,
    Basic,
    /// NTLM on the current connection, sealing every message over plain HTTP.
    Ntlm(Box<ntlm::Security>),
}

/// One open shell on the terminal, over a connection of its own (NTLM authenticates
/// the connection, not each request).
struct Session<'a> {
    t: &'a WinrmTarget,
    http: reqwest::Client,
    auth: std::sync::Mutex<Auth>,
}

/// The value of a `WWW-Authenticate` scheme's token (`Negotiate <b64>`), if offered.
fn offered<'h>(headers: &'h reqwest::header::HeaderMap, scheme: &str) -> Option<&'h str> {
    headers
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|v| {
            let (name, rest) = v.split_once(' ').unwrap_or((v, ""));
            name.eq_ignore_ascii_case(scheme).then_some(rest.trim())
        })
}

impl Session<'_> {
    fn new(t: &WinrmTarget) -> Result<Session<'_>, WinrmError> {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(!t.verify_tls)
            .user_agent(concat!("LWAMS/", env!("CARGO_PKG_VERSION")))
            .http1_only()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| WinrmError::Unreachable("client".into(), e.to_string()))?;
        Ok(Session {
            t,
            http,
            auth: std::sync::Mutex::new(Auth::Unsettled),
        })
    }

    fn auth(&self) -> std::sync::MutexGuard<'_, Auth> {
        self.auth.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> WinrmError {
        WinrmError::Unreachable(self.t.endpoint.clone(), e.to_string())
    }

    fn seals(&self) -> bool {
        self.t.endpoint.starts_with("http:")
    }

    /// An empty POST carrying `authorization`.
    async fn bare(&self, authorization: Option<String>) -> Result<reqwest::Response, WinrmError> {
        let mut req = self
            .http
            .post(&self.t.endpoint)
            .timeout(Duration::from_secs(30))
            .header(reqwest::header::CONTENT_LENGTH, "0");
        if let Some(a) = authorization {
            req = req.header(reqwest::header::AUTHORIZATION, a);
        }
        req.send().await.map_err(|e| self.unreachable(e))
    }

    /// Settles the authentication: the NTLM handshake on this connection (NEGOTIATE,
    /// CHALLENGE, AUTHENTICATE on an empty message), or Basic when the server offers
    /// only that.
    async fn authenticate(&self) -> Result<Auth, WinrmError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let (client, negotiate) = ntlm::Client::negotiate(&self.t.username, &self.t.password)?;
        let first = self
            .bare(Some(format!("Negotiate {}", b64.encode(&negotiate))))
            .await?;
        let challenge = offered(first.headers(), "Negotiate")
            .or_else(|| offered(first.headers(), "NTLM"))
            .filter(|token| !token.is_empty())
            .and_then(|token| b64.decode(token).ok());
        let Some(challenge) = challenge else {
            if first.status() == reqwest::StatusCode::UNAUTHORIZED
                && offered(first.headers(), "Basic").is_some()
            {
                if self.seals() && !self.t.allow_basic_http {
                    return Err(WinrmError::BasicOverHttp(self.t.endpoint.clone()));
                }
                return Ok(Auth::Basic);
            }
            let schemes: Vec<&str> = first
                .headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            return Err(WinrmError::Protocol(format!(
                "HTTP {} to an NTLM negotiation; the server offers {}",
                first.status(),
                if schemes.is_empty() {
                    "no authentication".to_string()
                } else {
                    schemes.join(", ")
                }
            )));
        };
        let _ = first.bytes().await;
        let (security, message) = client.authenticate(&challenge)?;
        let second = self
            .bare(Some(format!("Negotiate {}", b64.encode(&message))))
            .await?;
        if second.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(WinrmError::AuthFailed(self.t.endpoint.clone()));
        }
        if !second.status().is_success() {
            return Err(WinrmError::Protocol(format!(
                "HTTP {} to the NTLM authentication",
                second.status()
            )));
        }
        let _ = second.bytes().await;
        Ok(Auth::Ntlm(Box::new(security)))
    }

    /// Posts one envelope; a SOAP fault becomes `Fault` (with the WS-Management code
    /// first when there is one: `2150858793: …`). A connection that lost its NTLM
    /// authentication (the server closed it) is authenticated again, once.
    async fn post(&self, body: String) -> Result<Element, WinrmError> {
        let mut retried = false;
        let (status, bytes) = loop {
            let unsettled = matches!(*self.auth(), Auth::Unsettled);
            if unsettled {
                let auth = self.authenticate().await?;
                *self.auth() = auth;
            }
            let req = self
                .http
                .post(&self.t.endpoint)
                .timeout(Duration::from_secs(OPERATION_TIMEOUT_SECS + 30));
            let req = match &mut *self.auth() {
                Auth::Basic => req
                    .basic_auth(&self.t.username, Some(&self.t.password))
                    .header("Content-Type", "application/soap+xml;charset=UTF-8")
                    .body(body.clone()),
                Auth::Ntlm(security) if self.seals() => req
                    .header("Content-Type", winrm_sealing::CONTENT_TYPE)
                    .body(winrm_sealing::seal(&mut **security, body.as_bytes())?),
                _ => req
                    .header("Content-Type", "application/soap+xml;charset=UTF-8")
                    .body(body.clone()),
            };
            let r = req.send().await.map_err(|e| self.unreachable(e))?;
            let status = r.status();
            if status == reqwest::StatusCode::UNAUTHORIZED {
                let mut auth = self.auth();
                if matches!(*auth, Auth::Ntlm(_)) && !retried {
                    *auth = Auth::Unsettled;
                    retried = true;
                    continue;
                }
                return Err(WinrmError::AuthFailed(self.t.endpoint.clone()));
            }
            let sealed = r
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(winrm_sealing::is_sealed);
            let bytes = r.bytes().await.map_err(|e| self.unreachable(e))?;
            let bytes = if sealed {
                match &mut *self.auth() {
                    Auth::Ntlm(security) => winrm_sealing::open(&mut **security, &bytes)?,
                    _ => {
                        return Err(WinrmError::Protocol(
                            "a sealed answer outside an NTLM session".into(),
                        ))
                    }
                }
            } else {
                bytes.to_vec()
            };
            break (status, bytes);
        };
        let text = String::from_utf8_lossy(&bytes);
        let root = xml::parse(&text).map_err(|e| {
            WinrmError::Protocol(format!("HTTP {status}: {e}: {}", first_chars(&text)))
        })?;
        if let Some(fault) = find_all(&root, "Fault").first() {
            let reason = find_all(fault, "Text")
                .first()
                .map(|t| t.text().trim().to_string())
                .unwrap_or_default();
            let code = find_all(fault, "WSManFault")
                .first()
                .and_then(|f| attr(f, "Code"))
                .map(str::to_string);
            return Err(WinrmError::Fault(match code {
                Some(c) => format!("{c}: {reason}"),
                None => reason,
            }));
        }
        if !status.is_success() {
            return Err(WinrmError::Protocol(format!(
                "HTTP {status}: {}",
                first_chars(&text)
            )));
        }
        Ok(root)
    }

    async fn open(&self, work_dir: Option<&str>) -> Result<String, WinrmError> {
        let dir = work_dir
            .filter(|d| !d.trim().is_empty())
            .map(|d| format!("<rsp:WorkingDirectory>{}</rsp:WorkingDirectory>", escape(d)))
            .unwrap_or_default();
        let body = format!(
            "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>\
             <rsp:OutputStreams>stdout stderr</rsp:OutputStreams>{dir}</rsp:Shell>"
        );
        let root = self
            .post(envelope(
                &self.t.endpoint,
                ACTION_CREATE,
                None,
                &[("WINRS_NOPROFILE", "FALSE"), ("WINRS_CODEPAGE", "65001")],
                &body,
            ))
            .await?;
        let by_selector = find_all(&root, "Selector")
            .into_iter()
            .find(|s| attr(s, "Name") == Some("ShellId"))
            .map(|s| s.text());
        let by_element = find_all(&root, "ShellId").first().map(|s| s.text());
        by_selector
            .or(by_element)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| WinrmError::Protocol("no ShellId in the Create answer".into()))
    }

    /// Starts `command_line`; a command `fed` standard input gets it as a pipe (console
    /// mode off, as pywinrm and Ansible do when they send input).
    async fn command(
        &self,
        shell: &str,
        command_line: &str,
        fed: bool,
    ) -> Result<String, WinrmError> {
        let body = format!(
            "<rsp:CommandLine><rsp:Command>{}</rsp:Command></rsp:CommandLine>",
            escape(command_line)
        );
        let root = self
            .post(envelope(
                &self.t.endpoint,
                ACTION_COMMAND,
                Some(shell),
                &[
                    (
                        "WINRS_CONSOLEMODE_STDIN",
                        if fed { "FALSE" } else { "TRUE" },
                    ),
                    ("WINRS_SKIP_CMD_SHELL", "FALSE"),
                ],
                &body,
            ))
            .await?;
        find_all(&root, "CommandId")
            .first()
            .map(|c| c.text().trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| WinrmError::Protocol("no CommandId in the Command answer".into()))
    }

    /// One Receive: new output, and the exit code once the command is done (`None`
    /// while it runs; a Receive that timed out on the server is simply empty).
    async fn receive(
        &self,
        shell: &str,
        command: &str,
    ) -> Result<(Vec<(Stream, Vec<u8>)>, Option<Option<i32>>), WinrmError> {
        let body = format!(
            r#"<rsp:Receive><rsp:DesiredStream CommandId="{}">stdout stderr</rsp:DesiredStream></rsp:Receive>"#,
            escape(command)
        );
        let root = match self
            .post(envelope(
                &self.t.endpoint,
                ACTION_RECEIVE,
                Some(shell),
                &[("WSMAN_CMDSHELL_OPTION_KEEPALIVE", "TRUE")],
                &body,
            ))
            .await
        {
            Err(WinrmError::Fault(f)) if f.starts_with(FAULT_TIMED_OUT) => {
                return Ok((vec![], None))
            }
            other => other?,
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut out = Vec::new();
        for s in find_all(&root, "Stream") {
            let stream = match attr(s, "Name") {
                Some("stdout") => Stream::Stdout,
                Some("stderr") => Stream::Stderr,
                _ => continue,
            };
            let text = s.text();
            if text.trim().is_empty() {
                continue;
            }
            let bytes = b64
                .decode(text.trim())
                .map_err(|e| WinrmError::Protocol(format!("stream not base64: {e}")))?;
            out.push((stream, bytes));
        }
        let done = find_all(&root, "CommandState")
            .into_iter()
            .find(|s| attr(s, "State").is_some_and(|st| st.ends_with("CommandState/Done")))
            .map(|s| {
                find_all(s, "ExitCode")
                    .first()
                    .and_then(|c| c.text().trim().parse::<i32>().ok())
            });
        Ok((out, done))
    }

    /// Sends `bytes` to the command's standard input; `end` closes it.
    async fn send(
        &self,
        shell: &str,
        command: &str,
        bytes: &[u8],
        end: bool,
    ) -> Result<(), WinrmError> {
        let body = format!(
            r#"<rsp:Send><rsp:Stream Name="stdin" CommandId="{}" End="{end}">{}</rsp:Stream></rsp:Send>"#,
            escape(command),
            base64::engine::general_purpose::STANDARD.encode(bytes)
        );
        self.post(envelope(
            &self.t.endpoint,
            ACTION_SEND,
            Some(shell),
            &[],
            &body,
        ))
        .await?;
        Ok(())
    }

    /// Terminates the command (best effort).
    async fn terminate(&self, shell: &str, command: &str) {
        let body = format!(
            r#"<rsp:Signal CommandId="{}"><rsp:Code>{SIGNAL_TERMINATE}</rsp:Code></rsp:Signal>"#,
            escape(command)
        );
        let _ = self
            .post(envelope(
                &self.t.endpoint,
                ACTION_SIGNAL,
                Some(shell),
                &[],
                &body,
            ))
            .await;
    }

    /// Deletes the shell (best effort).
    async fn close(&self, shell: &str) {
        let _ = self
            .post(envelope(
                &self.t.endpoint,
                ACTION_DELETE,
                Some(shell),
                &[],
                "",
            ))
            .await;
    }
}

fn first_chars(text: &str) -> String {
    text.chars().take(300).collect()
}

/// Runs `command_line` in a new shell on the terminal (in `work_dir` when given) until
/// it ends, `timeout` passes or `cancel` completes; the shell is always deleted.
pub async fn run(
    t: &WinrmTarget,
    command_line: &str,
    work_dir: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, WinrmError> {
    run_fed(t, command_line, None, work_dir, timeout, cancel, on_output).await
}

/// [`run`], with `stdin` (when given) sent as the command's standard input and then
/// closed.
pub async fn run_fed(
    t: &WinrmTarget,
    command_line: &str,
    stdin: Option<&[u8]>,
    work_dir: Option<&str>,
    timeout: Duration,
    cancel: impl std::future::Future<Output = ()>,
    on_output: OnOutput<'_>,
) -> Result<CommandResult, WinrmError> {
    let chars = command_line.chars().count();
    if chars > COMMAND_LINE_MAX {
        return Err(WinrmError::TooLong(chars));
    }
    let started = Instant::now();
    let s = Session::new(t)?;
    let shell = s.open(work_dir).await?;
    let mut command_id = None;
    let mut out = (Vec::new(), Vec::new());
    let mut truncated = false;
    let work = async {
        let id = s.command(&shell, command_line, stdin.is_some()).await?;
        command_id = Some(id.clone());
        if let Some(input) = stdin {
            let mut chunks = input.chunks(STDIN_CHUNK).peekable();
            if chunks.peek().is_none() {
                s.send(&shell, &id, &[], true).await?;
            }
            while let Some(chunk) = chunks.next() {
                s.send(&shell, &id, chunk, chunks.peek().is_none()).await?;
            }
        }
        loop {
            let (chunks, done) = s.receive(&shell, &id).await?;
            for (stream, bytes) in chunks {
                on_output(stream, &String::from_utf8_lossy(&bytes));
                let buf = match stream {
                    Stream::Stdout => &mut out.0,
                    Stream::Stderr => &mut out.1,
                };
                let room = OUTPUT_CAP.saturating_sub(buf.len());
                buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
                truncated |= bytes.len() > room;
            }
            if let Some(code) = done {
                return Ok::<_, WinrmError>(code);
            }
        }
    };
    let ended = tokio::select! {
        r = tokio::time::timeout(timeout, work) => r.unwrap_or(Err(WinrmError::Timeout(timeout))),
        _ = cancel => Err(WinrmError::Cancelled),
    };
    if let Some(id) = &command_id {
        s.terminate(&shell, id).await;
    }
    s.close(&shell).await;
    let exit_code = ended?;
    Ok(CommandResult {
        exit_code,
        stdout: String::from_utf8_lossy(&out.0).into_owned(),
        stderr: String::from_utf8_lossy(&out.1).into_owned(),
        truncated,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_parse_and_carry_the_shell_and_escaped_command() {
        let e = envelope(
            "http://w:5985/wsman",
            ACTION_COMMAND,
            Some("S-1"),
            &[("WINRS_SKIP_CMD_SHELL", "FALSE")],
            &format!("<rsp:Command>{}</rsp:Command>", escape("echo a & b <c>")),
        );
        let root = xml::parse(&e).unwrap();
        assert_eq!(find_all(&root, "Action")[0].text(), ACTION_COMMAND);
        let sel = find_all(&root, "Selector")[0];
        assert_eq!(attr(sel, "Name"), Some("ShellId"));
        assert_eq!(sel.text(), "S-1");
        assert_eq!(find_all(&root, "Command")[0].text(), "echo a & b <c>");
        assert!(find_all(&root, "MessageID")[0].text().starts_with("uuid:"));
    }

    #[test]
    fn powershell_runs_encoded_as_utf16() {
        let c = powershell_command("Write-Output 'ü'");
        let b64 = c.rsplit(' ').next().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .collect();
        assert_eq!(String::from_utf16(&units).unwrap(), "Write-Output 'ü'");
    }
}
