//! The `lwams` command line: `serve` (default), `admin create-user`,
//! `admin create-company`, `admin rotate-secret-key`, `bpmn check`, `flow run`.

use crate::auth::password;
use crate::bootstrap::{self, FirstAdmin, ADMIN_GROUP};
use crate::config::{redact_url, Config};
use crate::store::{companies, groups, users, StoreError};
use clap::{Parser, Subcommand};
use shared::validate;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "lwams",
    version,
    about = "LWAMS — IT-operations automation server"
)]
pub struct Cli {
    /// TOML configuration file (settings there are overridden by LWAMS_* variables).
    #[arg(long, global = true, env = "LWAMS_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default). On an empty database it creates the first company
    /// and admin; the admin's password comes from LWAMS_ADMIN_PASSWORD or is printed once.
    Serve {
        /// Login name of the first admin, used only on an empty database.
        #[arg(long, env = "LWAMS_ADMIN_LOGIN", default_value = "admin")]
        admin_login: String,
        #[arg(long, env = "LWAMS_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
    },
    /// Administration tasks run against the configured database.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Work with BPMN files.
    Bpmn {
        #[command(subcommand)]
        command: BpmnCommand,
    },
    /// Run flows headless against the configured store.
    Flow {
        #[command(subcommand)]
        command: FlowCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum FlowCommand {
    /// Deploy FILE as a new version, start it and run it to the end on this host;
    /// prints each step. Exit status: 0 completed, 1 failed, 3 waiting at a user task.
    Run {
        file: PathBuf,
        /// An instance variable, `name=value` (numbers, true/false and JSON are typed).
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
        /// The company's code; may be omitted when there is one company.
        #[arg(long)]
        company: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BpmnCommand {
    /// Parse, validate and round-trip each file; one line per file; exit 1 if any fails.
    Check {
        /// BPMN files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also list every problem found (execution problems are warnings here).
        #[arg(long, short)]
        verbose: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Re-encrypt every stored secret (terminal passwords and keys, agent credentials,
    /// WeChat secrets) under a new key, in one transaction. Stop the server first.
    /// With the key in `<data dir>/secret.key` the file is replaced; with
    /// LWAMS_SECRET_KEY set, the new key is printed for you to put there.
    RotateSecretKey {
        /// The new key (base64 of 32 bytes); generated when omitted.
        #[arg(long, env = "LWAMS_NEW_SECRET_KEY", hide_env_values = true)]
        new_key: Option<String>,
    },
    /// Create a company (tenant) with an Administrators group holding every right and,
    /// with --admin, its first administrator, whose password comes from
    /// LWAMS_ADMIN_PASSWORD or is generated and printed once.
    CreateCompany {
        /// The code users type at sign-in: 1–32 letters, digits, - and _.
        #[arg(long)]
        code: String,
        /// The company's name.
        #[arg(long)]
        name: String,
        /// Login name of the company's first administrator.
        #[arg(long, value_name = "LOGIN")]
        admin: Option<String>,
    },
    /// Create a user (optionally in the Administrators group).
    CreateUser {
        #[arg(long)]
        login: String,
        /// The password; read from LWAMS_NEW_USER_PASSWORD when omitted.
        #[arg(long, env = "LWAMS_NEW_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        display_name: Option<String>,
        /// The company's code; may be omitted when there is one company.
        #[arg(long)]
        company: Option<String>,
        /// Add the user to the Administrators group.
        #[arg(long)]
        admin: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Bpmn {
        command: BpmnCommand::Check { files, verbose },
    }) = &cli.command
    {
        return check_bpmn(files, *verbose);
    }
    let config = Config::load(cli.config.as_deref())?;
    init_tracing(&config.log_format);
    let default_serve = Command::Serve {
        admin_login: std::env::var("LWAMS_ADMIN_LOGIN").unwrap_or_else(|_| "admin".into()),
        admin_password: std::env::var("LWAMS_ADMIN_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty()),
    };
    match cli.command.unwrap_or(default_serve) {
        Command::Serve {
            admin_login,
            admin_password,
        } => serve(config, &admin_login, admin_password.as_deref()).await,
        Command::Bpmn { .. } => Ok(()),
        Command::Flow {
            command:
                FlowCommand::Run {
                    file,
                    vars,
                    company,
                },
        } => flow_run(config, &file, &vars, company.as_deref()).await,
        Command::Admin {
            command: AdminCommand::RotateSecretKey { new_key },
        } => rotate_secret_key(config, new_key).await,
        Command::Admin {
            command: AdminCommand::CreateCompany { code, name, admin },
        } => create_company(config, &code, &name, admin.as_deref()).await,
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    login,
                    password,
                    display_name,
                    company,
                    admin,
                },
        } => {
            create_user(
                config,
                &login,
                &password,
                display_name.as_deref(),
                company.as_deref(),
                admin,
            )
            .await
        }
    }
}

fn check_bpmn(files: &[PathBuf], verbose: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for f in files {
        let report = crate::bpmn_check::check_file(f);
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = writeln!(out, "{}", report.line);
        for w in &report.warnings {
            let _ = writeln!(out, "{w}");
        }
        if verbose || !report.ok {
            for d in &report.details {
                let _ = writeln!(out, "{d}");
            }
        }
        if !report.ok {
            failed += 1;
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} file(s) failed", files.len());
    }
    Ok(())
}

/// `name=value` pairs → instance variables.
fn parse_vars(pairs: &[String]) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let mut m = serde_json::Map::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--var {p:?}: expected NAME=VALUE"))?;
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            anyhow::bail!("--var {p:?}: the name may contain only letters, digits and _");
        }
        let value =
            serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_string()));
        m.insert(k.to_string(), value);
    }
    Ok(m)
}

async fn flow_run(
    config: Config,
    file: &std::path::Path,
    vars: &[String],
    company: Option<&str>,
) -> anyhow::Result<()> {
    use crate::engine::core::InstanceStatus;
    let vars = parse_vars(vars)?;
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let decoded = crate::bpmn_decode::decode(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    for w in &decoded.warnings {
        eprintln!("{}: warning: {w}", file.display());
    }
    let xml = decoded.text;
    let store = crate::store::Store::open(&config.database_url()).await?;
    let mut c = store.conn().await?;
    let company = match company {
        Some(code) => companies::by_code(&mut c, code).await?.ok_or_else(|| anyhow::anyhow!("company: no company with code {code:?}"))?,
        None => companies::list(&mut c)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("the database is empty: start `lwams serve` once or run `lwams admin create-user --admin`"))?,
    };
    drop(c);
    let mut print = |line: &str| println!("{line}");
    let initiator = crate::engine::builtins::Initiator {
        name: format!(
            "lwams flow run ({})",
            std::env::var("USER").unwrap_or_else(|_| "unknown user".into())
        ),
        ..Default::default()
    };
    let outcome =
        crate::engine::runner::run_file(&store, company.id, &xml, vars, &initiator, &mut print)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    store.close().await;
    match outcome.status {
        InstanceStatus::Completed => Ok(()),
        InstanceStatus::Running if !outcome.waiting_at.is_empty() => {
            println!(
                "instance {} waits at {}",
                outcome.instance_id,
                outcome.waiting_at.join(", ")
            );
            std::process::exit(3)
        }
        other => {
            let why: Vec<String> = outcome
                .failures
                .iter()
                .map(|(id, e)| format!("{id}: {e}"))
                .collect();
            anyhow::bail!(
                "instance {} is {other:?} ({})",
                outcome.instance_id,
                why.join("; ")
            )
        }
    }
}

fn init_tracing(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("LWAMS_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn serve(
    config: Config,
    admin_login: &str,
    admin_password: Option<&str>,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let listen = config.listen;
    tracing::info!(database = %redact_url(&config.database_url()), "opening store");
    let state = crate::build_state(config).await?;
    match bootstrap::ensure_first_admin(&state.store, admin_login, admin_password).await? {
        FirstAdmin::Created {
            login,
            generated_password: Some(pw),
        } => {
            // Printed once, on the console only (not through the log).
            println!("\n  First admin account created — sign in as '{login}' with password: {pw}\n  (change it under your name › Change password)\n");
        }
        FirstAdmin::Created {
            login,
            generated_password: None,
        } => {
            println!("\n  First admin account '{login}' created with the password from LWAMS_ADMIN_PASSWORD.\n");
        }
        FirstAdmin::Existing => {}
    }
    spawn_session_purge(state.store.clone());
    // No agent is connected to a process that just started.
    crate::store::hosts::mark_all_offline(&mut *state.store.conn().await?).await?;
    let (stop_engine, engine_stop) = tokio::sync::watch::channel(false);
    let engine = {
        let rt = state.runtime.clone();
        tokio::spawn(async move { rt.work(None, engine_stop).await })
    };
    let app = crate::web::app(state.clone());
    // Agents and the live feed exchange small messages: no Nagle delay on them.
    let listener =
        axum::serve::ListenerExt::tap_io(tokio::net::TcpListener::bind(listen).await?, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
    tracing::info!(addr = %listen, ready_ms = started.elapsed().as_millis() as u64, "LWAMS listening");
    // The peer address reaches handlers (the per-address sign-in limit).
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = stop_engine.send(true);
    let _ = engine.await;
    state.store.close().await;
    Ok(())
}

/// Deletes expired sign-in sessions once an hour.
fn spawn_session_purge(store: crate::store::Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let purged = match store.conn().await {
                Ok(mut c) => crate::store::sessions::purge_expired(&mut c).await,
                Err(e) => Err(e),
            };
            match purged {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "purged expired sessions"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not purge expired sessions"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

async fn create_user(
    config: Config,
    login: &str,
    pw: &str,
    display_name: Option<&str>,
    company: Option<&str>,
    admin: bool,
) -> anyhow::Result<()> {
    let login = validate::identifier("login", login, validate::LOGIN_MAX)?;
    validate::password("password", pw)?;
    let store = crate::store::Store::open(&config.database_url()).await?;
    let mut c = store.conn().await?;
    if companies::list(&mut c).await?.is_empty() {
        // An empty database: the first user must be an administrator; creating it also
        // creates the default company and the Administrators group.
        if !admin {
            anyhow::bail!(
                "the database is empty: create the first user with --admin (or start `lwams serve` once)"
            );
        }
        drop(c);
        bootstrap::ensure_first_admin(&store, &login, Some(pw)).await?;
        println!("created the default company and administrator {login}");
        store.close().await;
        return Ok(());
    }
    let company = match company {
        Some(code) => companies::by_code(&mut c, code)
            .await?
            .ok_or_else(|| anyhow::anyhow!("company: no company with code {code:?}"))?,
        None => {
            let mut all = companies::list(&mut c).await?;
            if all.len() != 1 {
                anyhow::bail!(
                    "company: {} companies exist; name one with --company",
                    all.len()
                );
            }
            all.remove(0)
        }
    };
    drop(c);
    let hash = password::hash(pw).await?;
    let mut tx = store.begin().await?;
    let fields = users::UserFields {
        display_name: display_name.unwrap_or(&login),
        email: "",
        phone: "",
        mobile: "",
        enabled: true,
        may_login_agent: admin,
    };
    let id = match users::insert(
        &mut tx,
        company.id,
        &login,
        &hash,
        shared::Locale::ZhCn,
        &fields,
    )
    .await
    {
        Err(e) if e.is_unique_violation() => anyhow::bail!(
            "login: {login:?} already exists in company {}",
            company.code
        ),
        other => other?,
    };
    if admin {
        let (list, _) = groups::list(
            &mut tx,
            company.id,
            &shared::dto::ListQuery {
                q: Some(ADMIN_GROUP.into()),
                ..Default::default()
            },
        )
        .await?;
        let group = list
            .into_iter()
            .find(|g| g.name == ADMIN_GROUP)
            .ok_or_else(|| anyhow::anyhow!("the {ADMIN_GROUP} group no longer exists"))?;
        groups::add_members(&mut tx, group.id, &[id]).await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    println!("created user {login} (id {id}) in company {}", company.code);
    store.close().await;
    Ok(())
}

/// `lwams admin create-company`: the company and its Administrators group, and with
/// `admin` its first administrator, in one transaction.
async fn create_company(
    config: Config,
    code: &str,
    name: &str,
    admin: Option<&str>,
) -> anyhow::Result<()> {
    let code = validate::company_code("--code", code)?;
    let name = validate::required_text("--name", name, validate::NAME_MAX)?;
    let admin = admin
        .map(|login| validate::identifier("--admin", login, validate::LOGIN_MAX))
        .transpose()?;
    // The password is checked and hashed before anything is written.
    let (hash, generated) = match &admin {
        None => (None, None),
        Some(_) => {
            let given = std::env::var("LWAMS_ADMIN_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            let generated = given.is_none().then(bootstrap::generate_password);
            let pw = given.or_else(|| generated.clone()).unwrap_or_default();
            validate::password("LWAMS_ADMIN_PASSWORD", &pw)?;
            (Some(password::hash(&pw).await?), generated)
        }
    };
    let store = crate::store::Store::open(&config.database_url()).await?;
    let mut tx = store.begin().await?;
    let company = match bootstrap::create_company(&mut tx, &code, &name).await {
        Err(e) if e.is_unique_violation() => {
            anyhow::bail!("--code: a company with code {code:?} already exists")
        }
        other => other?,
    };
    if let (Some(login), Some(hash)) = (&admin, &hash) {
        bootstrap::add_administrator(&mut tx, company.id, company.admin_group, login, login, hash)
            .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    store.close().await;
    let operator = if company.platform_operator {
        " — the platform operator's company"
    } else {
        ""
    };
    println!(
        "created company {code} ({name}, id {}){operator}",
        company.id
    );
    match (admin, generated) {
        // Printed once, on the console only (not through the log).
        (Some(login), Some(pw)) => println!(
            "  administrator '{login}' created — sign in with company code {code} and password: {pw}"
        ),
        (Some(login), None) => println!(
            "  administrator '{login}' created with the password from LWAMS_ADMIN_PASSWORD"
        ),
        (None, _) => println!(
            "  no administrator yet: add one with `lwams admin create-user --company {code} --admin`"
        ),
    }
    Ok(())
}

/// `lwams admin rotate-secret-key`: every sealed value opened with the current key and
/// sealed with the new one in one transaction; then the key file is replaced (or the
/// new key printed when it comes from LWAMS_SECRET_KEY).
async fn rotate_secret_key(config: Config, new_key: Option<String>) -> anyhow::Result<()> {
    use crate::crypto::SecretBox;
    let new_key = new_key.unwrap_or_else(SecretBox::generate_key);
    let new = SecretBox::from_base64(&new_key).map_err(|e| anyhow::anyhow!("--new-key: {e}"))?;
    let old = SecretBox::from_base64(&config.secret_key()?)?;
    let store = crate::store::Store::open(&config.database_url()).await?;
    let mut tx = store.begin().await?;
    let all = crate::store::sealed::all(&mut tx).await?;
    for s in &all {
        // `v1:` values not yet re-sealed at a start open too; all leave as `v2:`.
        let plain = old.open_any(&s.at(), &s.value).map_err(|e| {
            anyhow::anyhow!(
                "{}.{} of id {}: {e}; nothing was changed",
                s.table,
                s.column,
                s.id
            )
        })?;
        crate::store::sealed::replace(&mut tx, s, &new.seal(&s.at(), &plain)).await?;
    }
    tx.commit().await?;
    store.close().await;
    if config.secret_key.is_some() {
        println!(
            "{} secrets re-encrypted. Set LWAMS_SECRET_KEY to the new key before the next start:\n{new_key}",
            all.len()
        );
    } else {
        config.replace_key_file(&new_key)?;
        println!(
            "{} secrets re-encrypted; {} holds the new key.",
            all.len(),
            config.data_dir.join("secret.key").display()
        );
    }
    Ok(())
}
