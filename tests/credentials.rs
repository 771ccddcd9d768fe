//! `mcpsweep credentials` end to end on a fake home folder (Claude Desktop, Cursor and VS Code
//! MCP configs, a `.env` file, a session log, an e-mail with a PDF attachment, a DOCX, a JSON
//! Lines memory store and a SQLite one, a PEM file) whose planted credentials are all fake:
//! random characters in each format's documented shape, checksums computed by
//! `tests/fixtures/credentials/make_fixtures.py`. And on hard negatives that must produce
//! nothing, and the rule that no secret reaches any output.
//!
//! Refresh the Markdown snapshot after an intended change with
//! `UPDATE_SNAPSHOTS=1 cargo test --test credentials`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

// The planted secrets (see make_fixtures.py).
const GHP: &str = "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";
const GHS: &str = "ghs_3HJZP6D5gt7xj2nKa6R7tfq3pCBTzO4EGTbR";
const NPM: &str = "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";
const GITHUB_PAT: &str =
    "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";
const AWS_ID: &str = "AKIAILMBYEZHZYXEQ6BI";
const AWS_SECRET: &str = "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";
const ASIA_ID: &str = "ASIAFK52FU2IH7W75EDB";
const ASIA_SECRET: &str = "orvM0O162U1ZNL68OO8nv3UGTfaFmkPK7KbAu2Rh";
const AWS_SESSION: &str = "oZnoNO2K+cv0oxwYadIriQitzR2TnAtlc5ah3B5t6A6K4XB5GhWnih7KYSnd5e0qttwJZBd2u4YR+7PyhnnzaWsY5qM9FqHuxiJDW8Z0mxZttbHrm03R6EfnfnQ5/P65nxlimtt6pEczphETseaeEBYEsho3bTs1DE8LaqtAvHxd+Z+4qSgj6VpxHbOI9M+8E5QSSiJoLcLeei2VKF3YxozCfOvm+jSHcNvG7Aasjxc1EVpQTbZoccXqKy9WVLaYso43F3+cDujoaCvMhOiR5c0m2UPHQaL9BUv3aI8/q36ZxvVvCtfKjqgQKRTpE+2wJfz3We0pcWQFg+e4jNSqYhCWkgLsowRuEkZW==";
const GLPAT: &str = "glpat-0p4ggSHzpry5tIk9GK4a";
const GLDT: &str = "gldt-yB17z_EQZuSidQvzT9ok";
const XOXB: &str = "xoxb-543008461256-4493039211057-vcRziVJJPGu85u8stv68iHnz";
const SLACK_WEBHOOK: &str =
    "https://hooks.slack.com/services/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";
const OPENAI_PROJ: &str = "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";
const ANTHROPIC: &str = "sk-ant-api03-yM39XcAIdd11dpquOAV-8FfkYOUxmdI6JOLaKJamX1n-7x6GqkPBvkLi6jQaJAH_O3ls-5jCPC2ll1HvZcuQrvoKT76PqAA";
const ANTHROPIC_ADMIN: &str = "sk-ant-admin01-KfqMSYMkY2j4uelUUpH6GYEycDyd-Mnt27RtRNqQC_owMARe5k5ORpyW7lPKlv78BLETDg7RRd0fXQAxbmEfziId8bgYoAA";
const GOOGLE: &str = "AIzaaHDVsVL-j2tTAOznO1Q4PqFo4gEeDSDd9_H";
const STRIPE_LIVE: &str = "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";
const STRIPE_TEST: &str = "sk_test_0nnzvPnOjvuBbP66Af8HIqcCZco2rD2mMMKEMjnjpvZd8SLua2azQBDORhkg6rgbfIHcRM1R4ZeDYFX2Ll3ZnRjEjT7xb6GGtZx";
const TWILIO_SID: &str = "AC0beed79e290dd48b2db919fddd2025a0";
const TWILIO_TOKEN: &str = "3f41a6d7e4189c31dbbec4253a132f60";
const SENDGRID: &str = "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";
const AZURE_KEY: &str =
    "CCxiByysHqdt6T6Kp/KH8E+uAR9kxg1ZDmev6g34pK5XbaHvWGYzg6JkSLYLP7/WZnUBptfsxjYwaN+vvJ5wiA==";
const PG_PW: &str = "abG8zGNDqMgRJ9II5rfY";
const MONGO_PW: &str = "hzTYUSVrYq7oHyLbwZ";
const REDIS_PW: &str = "dUSP9l78NAcywUzhoNxauOAJ";
const AMQP_PW: &str = "C4bvqx9COh62VtQ5";
const SESSION_SECRET: &str = "4raJYrNrwN4kXKIFDpbr3a7Q0bmzAnPc5Awiwf9rqtrRpEjh";
const DB_PASSWORD: &str = "Vx90GYebchab#k7UC";
const GENERIC_TOKEN: &str = "vxwgSIwvZJVDV0udHpualKCsPfEXmwseg7PlapR4";
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2F1dGguaW50ZXJuYWwuY29ycCIsInN1YiI6InN2Yy1yZXBvcnRpbmciLCJhdWQiOiJmaW5hbmNlLWFwaSIsImV4cCI6MTc3MjQ0NTYwMH0.rxW5O4TSe47awzrAtySQkOJTCNIvQ4QDdhSyVc2bGfA";

const CONTAINED_AT: &str = "2026-03-02T09:03:30Z";
const DEADLINE: &str = "2026-03-02T10:03:30Z";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/credentials")
}

/// Runs `mcpsweep credentials ARGS` in the fixtures folder.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mcpsweep"))
        .arg("credentials")
        .args(args)
        .current_dir(fixtures())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json", "--contained-at", CONTAINED_AT];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(&all);
    (
        code,
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}")),
    )
}

fn fingerprint(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))[..12].to_string()
}

fn tail(s: &str, n: usize) -> &str {
    &s[s.len() - n..]
}

/// A PEM block as the tool fingerprints it: header, base64 body on one line, footer.
fn canonical_pem(pem: &str) -> String {
    let lines: Vec<&str> = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let body: String = lines[1..lines.len() - 1].concat();
    format!("{}\n{body}\n{}", lines[0], lines[lines.len() - 1])
}

fn pem_tail(pem: &str) -> String {
    let c = canonical_pem(pem);
    let body = c.lines().nth(1).unwrap();
    tail(body, 4).to_string()
}

fn ec_key() -> String {
    std::fs::read_to_string(fixtures().join("home/work/finance-app/certs/jwt-signing.pem")).unwrap()
}

fn ssh_key() -> String {
    let log =
        std::fs::read_to_string(fixtures().join("home/logs/session-2026-03-02.jsonl")).unwrap();
    let line: Value = serde_json::from_str(log.lines().nth(3).unwrap()).unwrap();
    line["response"].as_str().unwrap().to_string()
}

fn rotation(kind: &str) -> &'static str {
    mcpsweep::secrets::kind(kind).rotation
}

/// One location, with the fields every location has and the extra ones given.
fn loc(
    path: &str,
    line: Option<u32>,
    pointer: Option<&str>,
    server: Option<&str>,
    source: &str,
    extra: Value,
) -> Value {
    let mut v = json!({
        "path": format!("home/{path}"),
        "line": line,
        "json_pointer": pointer,
        "mcp_server": server,
        "source": source,
    });
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    v
}

#[allow(clippy::too_many_arguments)]
fn entry(
    secret: &str,
    kind: &str,
    service: &str,
    preview: String,
    rotation_of: &str,
    test: bool,
    locations: Vec<Value>,
) -> Value {
    let mut v = json!({
        "type": kind,
        "service": service,
        "fingerprint": fingerprint(secret),
        "preview": preview,
        "rotation_action": rotation(rotation_of),
        "deadline": DEADLINE,
        "locations": locations,
    });
    if test {
        v["test"] = json!(true);
    }
    v
}

const CLAUDE: &str = "Library/Application Support/Claude/claude_desktop_config.json";
const CURSOR: &str = ".cursor/mcp.json";
const VSCODE: &str = "work/finance-app/.vscode/mcp.json";
const DOTENV: &str = "work/finance-app/.env";
const SESSION: &str = "logs/session-2026-03-02.jsonl";
const MAIL: &str = "Documents/vendor-handoff.eml";

/// Every planted credential with its exact expected entry.
fn expected() -> Vec<Value> {
    let none = json!({});
    let sqlite =
        std::fs::read(fixtures().join("home/.local/share/agent/memories.sqlite3")).unwrap();
    let ghs_offset = sqlite
        .windows(GHS.len())
        .position(|w| w == GHS.as_bytes())
        .unwrap();
    let (ec, ssh) = (ec_key(), ssh_key());
    let ell = '\u{2026}';
    vec![
        entry(
            GHP,
            "github_personal_access_token",
            "GitHub",
            format!("ghp_{ell}{}", tail(GHP, 4)),
            "github_personal_access_token",
            false,
            vec![
                loc(
                    CURSOR,
                    Some(10),
                    Some("/mcpServers/github/env/GITHUB_PERSONAL_ACCESS_TOKEN"),
                    Some("github"),
                    "cursor_mcp_config",
                    json!({"name": "GITHUB_PERSONAL_ACCESS_TOKEN"}),
                ),
                loc(
                    CLAUDE,
                    Some(10),
                    Some("/mcpServers/github/env/GITHUB_PERSONAL_ACCESS_TOKEN"),
                    Some("github"),
                    "claude_desktop_config",
                    json!({"name": "GITHUB_PERSONAL_ACCESS_TOKEN"}),
                ),
            ],
        ),
        entry(
            PG_PW,
            "postgres_password",
            "PostgreSQL",
            format!("{ell}{}", tail(PG_PW, 4)),
            "postgres_password",
            false,
            vec![loc(
                CLAUDE,
                Some(18),
                Some("/mcpServers/postgres/args/2"),
                Some("postgres"),
                "claude_desktop_config",
                json!({"target": "postgresql://reporting@db.internal.corp:5432"}),
            )],
        ),
        entry(
            XOXB,
            "slack_bot_token",
            "Slack",
            format!("xoxb-{ell}{}", tail(XOXB, 4)),
            "slack_bot_token",
            false,
            vec![loc(
                CLAUDE,
                Some(28),
                Some("/mcpServers/slack/env/SLACK_BOT_TOKEN"),
                Some("slack"),
                "claude_desktop_config",
                json!({"name": "SLACK_BOT_TOKEN"}),
            )],
        ),
        entry(
            AWS_ID,
            "aws_access_key_id",
            "AWS",
            format!("AKIA{ell}{}", tail(AWS_ID, 2)),
            "aws_access_key_id",
            false,
            vec![loc(
                CLAUDE,
                Some(39),
                Some("/mcpServers/aws-kb/env/AWS_ACCESS_KEY_ID"),
                Some("aws-kb"),
                "claude_desktop_config",
                json!({"name": "AWS_ACCESS_KEY_ID"}),
            )],
        ),
        entry(
            AWS_SECRET,
            "aws_secret_access_key",
            "AWS",
            format!("{ell}{}", tail(AWS_SECRET, 4)),
            "aws_secret_access_key",
            false,
            vec![loc(
                CLAUDE,
                Some(40),
                Some("/mcpServers/aws-kb/env/AWS_SECRET_ACCESS_KEY"),
                Some("aws-kb"),
                "claude_desktop_config",
                json!({"name": "AWS_SECRET_ACCESS_KEY"}),
            )],
        ),
        entry(
            GENERIC_TOKEN,
            "generic_token",
            "unknown",
            format!("{ell}{}", tail(GENERIC_TOKEN, 4)),
            "generic_token",
            false,
            vec![loc(
                CLAUDE,
                Some(45),
                Some("/mcpServers/vendor-docs/url"),
                Some("vendor-docs"),
                "claude_desktop_config",
                json!({"name": "token"}),
            )],
        ),
        entry(
            ANTHROPIC,
            "anthropic_api_key",
            "Anthropic",
            format!("sk-ant-api03-{ell}{}", tail(ANTHROPIC, 4)),
            "anthropic_api_key",
            false,
            vec![loc(
                CLAUDE,
                Some(47),
                Some("/mcpServers/vendor-docs/headers/x-api-key"),
                Some("vendor-docs"),
                "claude_desktop_config",
                json!({"name": "x-api-key"}),
            )],
        ),
        entry(
            STRIPE_LIVE,
            "stripe_live_secret_key",
            "Stripe",
            format!("sk_live_{ell}{}", tail(STRIPE_LIVE, 4)),
            "stripe_live_secret_key",
            false,
            vec![loc(
                CURSOR,
                Some(19),
                Some("/mcpServers/stripe/args/3"),
                Some("stripe"),
                "cursor_mcp_config",
                json!({"name": "api-key"}),
            )],
        ),
        entry(
            SENDGRID,
            "sendgrid_api_key",
            "SendGrid",
            format!("SG.{ell}{}", tail(SENDGRID, 4)),
            "sendgrid_api_key",
            false,
            vec![loc(
                CURSOR,
                Some(27),
                Some("/mcpServers/sendgrid/args/2"),
                Some("sendgrid"),
                "cursor_mcp_config",
                json!({"name": "api-key"}),
            )],
        ),
        entry(
            OPENAI_PROJ,
            "openai_project_api_key",
            "OpenAI",
            format!("sk-proj-{ell}{}", tail(OPENAI_PROJ, 4)),
            "openai_project_api_key",
            false,
            vec![loc(
                CURSOR,
                Some(36),
                Some("/mcpServers/openai/env/OPENAI_API_KEY"),
                Some("openai"),
                "cursor_mcp_config",
                json!({"name": "OPENAI_API_KEY"}),
            )],
        ),
        entry(
            STRIPE_TEST,
            "stripe_test_secret_key",
            "Stripe",
            format!("sk_test_{ell}{}", tail(STRIPE_TEST, 4)),
            "stripe_test_secret_key",
            true,
            vec![loc(
                CURSOR,
                Some(47),
                Some("/mcpServers/payments-sandbox/env/STRIPE_SECRET_KEY"),
                Some("payments-sandbox"),
                "cursor_mcp_config",
                json!({"name": "STRIPE_SECRET_KEY"}),
            )],
        ),
        entry(
            NPM,
            "npm_access_token",
            "npm",
            format!("npm_{ell}{}", tail(NPM, 4)),
            "npm_access_token",
            false,
            vec![loc(
                VSCODE,
                Some(3),
                None,
                None,
                "vscode_mcp_config",
                json!({"name": "NPM_TOKEN"}),
            )],
        ),
        entry(
            GOOGLE,
            "google_api_key",
            "Google Cloud",
            format!("AIza{ell}{}", tail(GOOGLE, 4)),
            "google_api_key",
            false,
            vec![loc(
                VSCODE,
                Some(32),
                Some("/servers/maps/env/GOOGLE_MAPS_API_KEY"),
                Some("maps"),
                "vscode_mcp_config",
                json!({"name": "GOOGLE_MAPS_API_KEY"}),
            )],
        ),
        entry(
            AZURE_KEY,
            "azure_storage_account_key",
            "Azure Storage",
            format!("{ell}{}", tail(AZURE_KEY, 4)),
            "azure_storage_account_key",
            false,
            vec![loc(
                VSCODE,
                Some(39),
                Some("/servers/blob-archive/env/AZURE_STORAGE_CONNECTION_STRING"),
                Some("blob-archive"),
                "vscode_mcp_config",
                json!({"name": "AccountKey", "target": "AccountName=finarchive"}),
            )],
        ),
        entry(
            GLPAT,
            "gitlab_access_token",
            "GitLab",
            format!("glpat-{ell}{}", tail(GLPAT, 4)),
            "gitlab_access_token",
            false,
            vec![loc(
                DOTENV,
                Some(2),
                None,
                None,
                "dotenv",
                json!({"name": "GITLAB_TOKEN"}),
            )],
        ),
        entry(
            MONGO_PW,
            "mongodb_password",
            "MongoDB",
            format!("{ell}{}", tail(MONGO_PW, 2)),
            "mongodb_password",
            false,
            vec![loc(
                DOTENV,
                Some(3),
                None,
                None,
                "dotenv",
                json!({"target": "mongodb+srv://finance-app@cluster0.q8x2m.mongodb.net"}),
            )],
        ),
        entry(
            TWILIO_TOKEN,
            "twilio_auth_token",
            "Twilio",
            format!("{ell}{}", tail(TWILIO_TOKEN, 4)),
            "twilio_auth_token",
            false,
            vec![loc(
                DOTENV,
                Some(5),
                None,
                None,
                "dotenv",
                json!({"name": "TWILIO_AUTH_TOKEN"}),
            )],
        ),
        entry(
            SESSION_SECRET,
            "generic_secret",
            "unknown",
            format!("{ell}{}", tail(SESSION_SECRET, 4)),
            "generic_secret",
            false,
            vec![loc(
                DOTENV,
                Some(6),
                None,
                None,
                "dotenv",
                json!({"name": "SESSION_SECRET"}),
            )],
        ),
        entry(
            DB_PASSWORD,
            "password",
            "unknown",
            format!("{ell}{}", tail(DB_PASSWORD, 2)),
            "password",
            false,
            vec![loc(
                DOTENV,
                Some(7),
                None,
                None,
                "dotenv",
                json!({"name": "DB_PASSWORD"}),
            )],
        ),
        entry(
            &canonical_pem(&ec),
            "ec_private_key",
            "Private key (EC)",
            format!("-----BEGIN EC PRIVATE KEY-----{ell}{}", pem_tail(&ec)),
            "ec_private_key",
            false,
            vec![loc(
                "work/finance-app/certs/jwt-signing.pem",
                Some(1),
                None,
                None,
                "file",
                none.clone(),
            )],
        ),
        entry(
            ASIA_ID,
            "aws_temporary_access_key_id",
            "AWS",
            format!("ASIA{ell}{}", tail(ASIA_ID, 2)),
            "aws_temporary_access_key_id",
            false,
            vec![loc(
                SESSION,
                Some(2),
                Some("/response"),
                None,
                "session_log",
                json!({"tool": "read_file", "name": "aws_access_key_id"}),
            )],
        ),
        entry(
            ASIA_SECRET,
            "aws_secret_access_key",
            "AWS",
            format!("{ell}{}", tail(ASIA_SECRET, 4)),
            "aws_secret_access_key",
            false,
            vec![loc(
                SESSION,
                Some(2),
                Some("/response"),
                None,
                "session_log",
                json!({"tool": "read_file", "name": "aws_secret_access_key"}),
            )],
        ),
        entry(
            AWS_SESSION,
            "aws_session_token",
            "AWS",
            format!("{ell}{}", tail(AWS_SESSION, 4)),
            "aws_session_token",
            false,
            vec![loc(
                SESSION,
                Some(2),
                Some("/response"),
                None,
                "session_log",
                json!({"tool": "read_file", "name": "aws_session_token"}),
            )],
        ),
        entry(
            JWT,
            "jwt",
            "JSON Web Token",
            format!("eyJ{ell}{}", tail(JWT, 4)),
            "jwt",
            false,
            vec![loc(
                SESSION,
                Some(3),
                Some("/params/headers/Authorization"),
                None,
                "session_log",
                json!({"tool": "search_database", "name": "Authorization", "target": "issuer https://auth.internal.corp"}),
            )],
        ),
        entry(
            &canonical_pem(&ssh),
            "openssh_private_key",
            "Private key (SSH)",
            format!("-----BEGIN OPENSSH PRIVATE KEY-----{ell}{}", pem_tail(&ssh)),
            "openssh_private_key",
            false,
            vec![loc(
                SESSION,
                Some(4),
                Some("/response"),
                None,
                "session_log",
                json!({"tool": "read_file", "name": "response"}),
            )],
        ),
        entry(
            SLACK_WEBHOOK,
            "slack_webhook_url",
            "Slack",
            format!("https://hooks.slack.com/{ell}{}", tail(SLACK_WEBHOOK, 4)),
            "slack_webhook_url",
            false,
            vec![loc(
                SESSION,
                Some(5),
                Some("/params/notify"),
                None,
                "session_log",
                json!({"tool": "send_data", "name": "notify"}),
            )],
        ),
        entry(
            REDIS_PW,
            "redis_password",
            "Redis",
            format!("{ell}{}", tail(REDIS_PW, 4)),
            "redis_password",
            false,
            vec![loc(
                MAIL,
                Some(4),
                None,
                None,
                "file",
                json!({"part": "part 1", "target": "redis://@cache.internal.corp:6379"}),
            )],
        ),
        entry(
            ANTHROPIC_ADMIN,
            "anthropic_admin_key",
            "Anthropic",
            format!("sk-ant-admin01-{ell}{}", tail(ANTHROPIC_ADMIN, 4)),
            "anthropic_admin_key",
            false,
            vec![loc(
                MAIL,
                Some(2),
                None,
                None,
                "file",
                json!({"page": 2, "attachment": "handoff.pdf", "name": "key"}),
            )],
        ),
        entry(
            GLDT,
            "gitlab_deploy_token",
            "GitLab",
            format!("gldt-{ell}{}", tail(GLDT, 4)),
            "gitlab_deploy_token",
            false,
            vec![loc(
                "Documents/runbook.docx",
                Some(3),
                None,
                None,
                "file",
                json!({"part": "word/document.xml"}),
            )],
        ),
        entry(
            GITHUB_PAT,
            "github_fine_grained_personal_access_token",
            "GitHub",
            format!("github_pat_{ell}{}", tail(GITHUB_PAT, 4)),
            "github_fine_grained_personal_access_token",
            false,
            vec![loc(
                ".local/share/agent/memory.jsonl",
                Some(1),
                Some("/observations/0"),
                None,
                "file",
                none.clone(),
            )],
        ),
        entry(
            AMQP_PW,
            "amqp_password",
            "RabbitMQ (AMQP)",
            format!("{ell}{}", tail(AMQP_PW, 2)),
            "amqp_password",
            false,
            vec![loc(
                ".local/share/agent/memory.jsonl",
                Some(1),
                Some("/observations/1"),
                None,
                "file",
                json!({"target": "amqp://deploy@mq.internal.corp:5672"}),
            )],
        ),
        entry(
            GHS,
            "github_app_installation_token",
            "GitHub",
            format!("ghs_{ell}{}", tail(GHS, 4)),
            "github_app_installation_token",
            false,
            vec![loc(
                ".local/share/agent/memories.sqlite3",
                None,
                None,
                None,
                "file",
                json!({"byte_offset": ghs_offset}),
            )],
        ),
    ]
}

#[test]
fn every_planted_credential_is_listed_once_with_its_type_service_and_place() {
    let (code, report) = run_json(&["home"]);
    assert_eq!(code, 1, "credentials found: exit 1");
    let actual = report["credentials"].as_array().unwrap();
    let expected = expected();
    for e in &expected {
        let matching: Vec<&Value> = actual
            .iter()
            .filter(|a| a["fingerprint"] == e["fingerprint"])
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "{} listed {} times",
            e["type"],
            matching.len()
        );
        assert_eq!(matching[0], e);
    }
    // The VS Code input with `password: true`: held by the gitlab server, value not stored.
    let prompted: Vec<&Value> = actual
        .iter()
        .filter(|a| a["type"] == "prompted_secret")
        .collect();
    assert_eq!(prompted.len(), 1);
    assert_eq!(
        prompted[0],
        &json!({
            "type": "prompted_secret",
            "service": "GitLab",
            "fingerprint": null,
            "preview": null,
            "rotation_action": rotation("gitlab_access_token"),
            "deadline": DEADLINE,
            "locations": [loc(VSCODE, Some(23), Some("/servers/gitlab/env/GITLAB_PERSONAL_ACCESS_TOKEN"), Some("gitlab"), "vscode_mcp_config",
                json!({"name": "GITLAB_PERSONAL_ACCESS_TOKEN", "target": "VS Code input gitlab-token: GitLab personal access token"}))],
        })
    );
    assert_eq!(actual.len(), expected.len() + 1, "nothing else is listed");
    assert_eq!(report["errors"], json!([]));
    let s = &report["summary"];
    assert_eq!(s["credentials"], 33);
    assert_eq!(s["locations"], 34);
    assert_eq!(s["test_credentials"], 1);
    assert_eq!(s["files_scanned"], 10);
    assert_eq!(s["contained_at"], CONTAINED_AT);
    assert_eq!(s["deadline"], DEADLINE);
    assert_eq!(s["by_service"]["AWS"], 5);
    // Twilio's account SID is an identifier, not a credential.
    assert!(!report.to_string().contains(&fingerprint(TWILIO_SID)));
}

#[test]
fn hard_negatives_produce_nothing() {
    let (code, report) = run_json(&["negatives"]);
    assert_eq!(report["credentials"], json!([]), "{report:#}");
    assert_eq!(report["errors"], json!([]));
    assert_eq!(code, 0);
    let files = walk(&fixtures().join("negatives"));
    assert_eq!(report["summary"]["files_scanned"], files.len());
    assert_eq!(files.len(), 13, "{files:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Every planted secret, and every 12-character piece of it past its fixed prefix: none may
/// appear in anything the tool prints or writes.
fn forbidden() -> Vec<String> {
    let mut secrets: Vec<String> = [
        GHP,
        GHS,
        NPM,
        GITHUB_PAT,
        AWS_ID,
        AWS_SECRET,
        ASIA_ID,
        ASIA_SECRET,
        AWS_SESSION,
        GLPAT,
        GLDT,
        XOXB,
        SLACK_WEBHOOK,
        OPENAI_PROJ,
        ANTHROPIC,
        ANTHROPIC_ADMIN,
        GOOGLE,
        STRIPE_LIVE,
        STRIPE_TEST,
        TWILIO_TOKEN,
        SENDGRID,
        AZURE_KEY,
        PG_PW,
        MONGO_PW,
        REDIS_PW,
        AMQP_PW,
        SESSION_SECRET,
        DB_PASSWORD,
        GENERIC_TOKEN,
        JWT,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for pem in [ec_key(), ssh_key()] {
        secrets.push(canonical_pem(&pem).lines().nth(1).unwrap().to_string());
    }
    let mut out = Vec::new();
    for s in secrets {
        let random_part = s
            .rsplit(['_', '-', '/'])
            .next()
            .filter(|r| r.len() >= 16)
            .unwrap_or(&s)
            .to_string();
        let chars: Vec<char> = random_part.chars().collect();
        for w in chars.windows(12) {
            out.push(w.iter().collect());
        }
        out.push(s);
    }
    out
}

fn assert_clean(what: &str, text: &str) {
    for f in forbidden() {
        assert!(!text.contains(&f), "{what} carries secret material {f:?}");
    }
}

#[test]
fn no_secret_reaches_stdout_stderr_or_the_output_file() {
    let dir = tempfile::tempdir().unwrap();
    // A file named after a secret must not leak it through its path either.
    let named = dir.path().join(format!("notes-{GHP}.txt"));
    std::fs::write(&named, format!("token {GHP}\n")).unwrap();
    let home = fixtures().join("home");
    let home = home.to_str().unwrap();
    let named_dir = dir.path().to_str().unwrap();
    for format in ["json", "markdown"] {
        let (code, stdout, stderr) = run(&["--format", format, home, named_dir]);
        assert_eq!(code, 1);
        assert!(
            stdout.contains("[REDACTED]"),
            "{format}: the secret in the file name is scrubbed"
        );
        assert_clean(&format!("{format} stdout"), &stdout);
        assert_clean(&format!("{format} stderr"), &stderr);

        let out = dir.path().join(format!("list.{format}"));
        let (code, stdout, stderr) = run(&[
            "--format",
            format,
            "-o",
            out.to_str().unwrap(),
            home,
            named_dir,
        ]);
        assert_eq!(code, 1);
        assert_eq!(stdout, "");
        assert!(stderr.contains("credentials to rotate by"), "{stderr}");
        assert_clean(&format!("{format} stderr with -o"), &stderr);
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(written.len() > 1000);
        assert_clean(&format!("{format} -o file"), &written);
        // Nothing else was written beside it (no leftover temporary file).
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("list."))
            .collect();
        names.sort();
        assert!(
            names
                .iter()
                .all(|n| n == "list.json" || n == "list.markdown"),
            "{names:?}"
        );
    }
}

#[test]
fn deadline_is_one_hour_after_containment() {
    let (_, stdout, _) = run(&[
        "--format",
        "json",
        "--contained-at",
        "2026-03-02T10:03:30+01:00",
        "home/work",
    ]);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["summary"]["deadline"], "2026-03-02T11:03:30+01:00");
    for c in report["credentials"].as_array().unwrap() {
        assert_eq!(c["deadline"], "2026-03-02T11:03:30+01:00");
    }
    // Without --contained-at, containment is now.
    let before = chrono::Utc::now();
    let (_, stdout, _) = run(&["--format", "json", "home/work"]);
    let after = chrono::Utc::now();
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let deadline =
        chrono::DateTime::parse_from_rfc3339(report["summary"]["deadline"].as_str().unwrap())
            .unwrap();
    let hour = chrono::Duration::hours(1);
    assert!(deadline >= before + hour - chrono::Duration::seconds(1) && deadline <= after + hour);
}

#[test]
fn exit_codes_and_errors() {
    assert_eq!(run(&["negatives/docs"]).0, 0);
    assert_eq!(run(&["home/.cursor"]).0, 1);
    let (code, stdout, stderr) = run(&["does-not-exist"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nothing readable"), "{stderr}");
    assert!(stdout.contains("`does-not-exist`"), "{stdout}");
    let (code, _, stderr) = run(&["--contained-at", "yesterday", "home"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("RFC 3339"), "{stderr}");
    let (code, _, _) = run(&["--format", "sarif", "home"]);
    assert_eq!(code, 2);
    // --strict turns an unreadable file into exit 2; the list is still printed.
    let (code, stdout, _) = run(&[
        "--strict",
        "--format",
        "json",
        "home/.cursor",
        "missing.json",
    ]);
    assert_eq!(code, 2);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["credentials"].as_array().unwrap().len(), 5);
    assert_eq!(report["errors"][0]["path"], "missing.json");
    assert_eq!(report["errors"][0]["kind"], "unreadable");
}

#[test]
fn large_files_are_read_in_pieces_without_losing_or_doubling_a_credential() {
    let dir = tempfile::tempdir().unwrap();
    let filler = "quarterly notes without anything secret in them at all, line after line\n";
    let mut text = String::new();
    let mut lines = 0u32;
    let mut want = Vec::new();
    // Credentials spread over many 64 KiB pieces, one of them a PEM block.
    let ec = ec_key();
    for (i, secret) in [GHP, XOXB, GOOGLE, &ec, SENDGRID].iter().enumerate() {
        for _ in 0..(900 + i * 613) {
            text.push_str(filler);
            lines += 1;
        }
        want.push(lines + 1);
        text.push_str(secret.trim_end());
        text.push('\n');
        lines += u32::try_from(secret.lines().count()).unwrap();
    }
    let log = dir.path().join("big.log");
    std::fs::write(&log, &text).unwrap();
    // Session logs larger than the limit are read line by line.
    let session = fixtures().join("home/logs/session-2026-03-02.jsonl");
    let (code, stdout, stderr) = run(&[
        "--format",
        "json",
        "--max-file-size",
        "65536",
        log.to_str().unwrap(),
        session.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["errors"], json!([]));
    let creds = report["credentials"].as_array().unwrap();
    let mut lines_found: Vec<u64> = creds
        .iter()
        .flat_map(|c| c["locations"].as_array().unwrap())
        .filter(|l| l["path"].as_str().unwrap().ends_with("big.log"))
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    lines_found.sort_unstable();
    assert_eq!(
        lines_found,
        want.iter().map(|&l| u64::from(l)).collect::<Vec<_>>()
    );
    let from_session = creds
        .iter()
        .filter(|c| c["locations"][0]["source"] == "session_log")
        .count();
    assert_eq!(from_session, 6);
}

#[test]
fn library_and_cli_agree() {
    let opts = mcpsweep::credentials::Options {
        contained_at: mcpsweep::credentials::parse_time(CONTAINED_AT).unwrap(),
        ..Default::default()
    };
    let lib = mcpsweep::credentials::collect(&[fixtures().join("home")], &opts).unwrap();
    let (_, cli) = run_json(&[fixtures().join("home").to_str().unwrap()]);
    assert_eq!(serde_json::to_value(&lib).unwrap(), cli);
    let env = std::fs::read(fixtures().join("home/work/finance-app/.env")).unwrap();
    let one = mcpsweep::credentials::collect_bytes(".env", &env, &opts);
    let types: Vec<&str> = one.credentials.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(
        types,
        [
            "gitlab_access_token",
            "mongodb_password",
            "twilio_auth_token",
            "generic_secret",
            "password"
        ]
    );
}

#[test]
fn markdown_checklist_snapshot() {
    let (code, md, _) = run(&["--contained-at", CONTAINED_AT, "home"]);
    assert_eq!(code, 1);
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("| [ ] |"))
        .count();
    assert_eq!(rows, 33);
    assert!(md.contains(&format!("by **{DEADLINE}**")));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/credentials.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &md).unwrap();
    }
    let snapshot = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        md, snapshot,
        "rerun with UPDATE_SNAPSHOTS=1 after an intended change"
    );
}

/// Type, line, JSON pointer and target of one location.
type Seen = (String, Option<u32>, Option<String>, Option<String>);

#[test]
fn netrc_docker_kubeconfig_and_service_account_files() {
    let opts = mcpsweep::credentials::Options::at(CONTAINED_AT).unwrap();
    let types = |name: &str, bytes: &[u8]| -> Vec<Seen> {
        let r = mcpsweep::credentials::collect_bytes(name, bytes, &opts);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        r.credentials
            .iter()
            .flat_map(|c| {
                c.locations.iter().map(|l| {
                    (
                        c.kind.clone(),
                        l.line,
                        l.json_pointer.clone(),
                        l.target.clone(),
                    )
                })
            })
            .collect()
    };
    let netrc = format!(
        "machine api.corp.internal\n  login deploy\n  password Zt8#kQ2vLp9w\nmachine github.com login x password {GHP}\n"
    );
    assert_eq!(
        types(".netrc", netrc.as_bytes()),
        [
            ("github_personal_access_token".into(), Some(4), None, None),
            (
                "password".into(),
                Some(3),
                None,
                Some("machine api.corp.internal login deploy".into())
            ),
        ]
    );
    use base64::Engine;
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let docker = format!(
        r#"{{"auths": {{"registry.corp.internal": {{"auth": "{}"}}}}, "credsStore": "desktop"}}"#,
        b64(b"ci-bot:Wq9#Lm2!Zx7p")
    );
    assert_eq!(
        types("config.json", docker.as_bytes()),
        [(
            "http_basic_auth".into(),
            Some(1),
            Some("/auths/registry.corp.internal/auth".into()),
            Some("user ci-bot".into())
        )]
    );
    let key_bytes: Vec<u8> = (0u32..300)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let kube = format!(
        "users:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n    token: {JWT}\n",
        b64(b"-----BEGIN CERTIFICATE-----"),
        b64(&key_bytes)
    );
    assert_eq!(
        types("kubeconfig", kube.as_bytes()),
        [
            (
                "jwt".into(),
                Some(6),
                None,
                Some("issuer https://auth.internal.corp".into())
            ),
            ("generic_api_key".into(), Some(5), None, None),
        ]
    );
    let ec = ec_key();
    let pkcs8 = ec.replace("EC PRIVATE KEY", "PRIVATE KEY");
    let sa = serde_json::json!({
        "type": "service_account",
        "project_id": "finance-prod",
        "private_key_id": "3f41a6d7e4189c31dbbec4253a132f60aa01bc4d",
        "private_key": pkcs8,
        "client_email": "etl@finance-prod.iam.gserviceaccount.com",
    });
    assert_eq!(
        types("finance-prod-sa.json", sa.to_string().as_bytes()),
        [(
            "gcp_service_account_key".into(),
            Some(1),
            Some("/private_key".into()),
            None
        )]
    );
}
