//! Every credential type on values made up here (random in the documented shape, checksums
//! computed), and the look-alikes each must leave alone.

use super::*;

/// Deterministic made-up characters (xorshift), so tests need no fixture files.
struct Gen(u64);

impl Gen {
    fn s(&mut self, n: usize, alphabet: &str) -> String {
        let a = alphabet.as_bytes();
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                a[(self.0 % a.len() as u64) as usize] as char
            })
            .collect()
    }
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URLSAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &str = "0123456789abcdef";
const DIGITS: &str = "0123456789";

fn github_style(g: &mut Gen, prefix: &str) -> String {
    let body = g.s(30, ALNUM);
    let check = validate::base62_6(crc32fast::hash(body.as_bytes()));
    format!("{prefix}{body}{check}")
}

fn jwt(g: &mut Gen) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256","kid":"k1"}"#),
        b64(r#"{"iss":"https://login.corp","sub":"svc-42","exp":1893456000}"#),
        g.s(43, URLSAFE)
    )
}

/// One made-up value of every type recognised by format.
fn samples() -> Vec<(&'static str, String)> {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    vec![
        ("aws_access_key_id", format!("AKIA{}", g.s(16, B32))),
        (
            "aws_temporary_access_key_id",
            format!("ASIA{}", g.s(16, B32)),
        ),
        ("github_personal_access_token", github_style(&mut g, "ghp_")),
        ("github_oauth_token", github_style(&mut g, "gho_")),
        ("github_app_user_token", github_style(&mut g, "ghu_")),
        (
            "github_app_installation_token",
            github_style(&mut g, "ghs_"),
        ),
        ("github_app_refresh_token", github_style(&mut g, "ghr_")),
        (
            "github_fine_grained_personal_access_token",
            format!("github_pat_{}_{}", g.s(22, ALNUM), g.s(59, ALNUM)),
        ),
        ("gitlab_access_token", format!("glpat-{}", g.s(20, URLSAFE))),
        ("gitlab_deploy_token", format!("gldt-{}", g.s(20, URLSAFE))),
        ("gitlab_runner_token", format!("glrt-{}", g.s(20, URLSAFE))),
        (
            "gitlab_pipeline_trigger_token",
            format!("glptt-{}", g.s(40, HEX)),
        ),
        (
            "gitlab_oauth_application_secret",
            format!("gloas-{}", g.s(64, HEX)),
        ),
        (
            "gitlab_runner_registration_token",
            format!("GR1348941{}", g.s(20, URLSAFE)),
        ),
        (
            "slack_bot_token",
            format!(
                "xoxb-{}-{}-{}",
                g.s(12, DIGITS),
                g.s(13, DIGITS),
                g.s(24, ALNUM)
            ),
        ),
        (
            "slack_user_token",
            format!(
                "xoxp-{}-{}-{}-{}",
                g.s(12, DIGITS),
                g.s(12, DIGITS),
                g.s(13, DIGITS),
                g.s(32, HEX)
            ),
        ),
        (
            "slack_app_token",
            format!(
                "xapp-1-A{}-{}-{}",
                g.s(10, B32),
                g.s(13, DIGITS),
                g.s(64, HEX)
            ),
        ),
        ("slack_token", format!("xoxe-1-{}", g.s(40, ALNUM))),
        (
            "slack_webhook_url",
            format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                g.s(10, B32),
                g.s(10, B32),
                g.s(24, ALNUM)
            ),
        ),
        (
            "openai_project_api_key",
            format!("sk-proj-{}", g.s(156, URLSAFE)),
        ),
        (
            "openai_service_account_key",
            format!("sk-svcacct-{}", g.s(156, URLSAFE)),
        ),
        (
            "openai_admin_key",
            format!("sk-admin-{}", g.s(100, URLSAFE)),
        ),
        (
            "openai_api_key",
            format!("sk-{}T3BlbkFJ{}", g.s(20, ALNUM), g.s(20, ALNUM)),
        ),
        (
            "anthropic_api_key",
            format!("sk-ant-api03-{}AA", g.s(93, URLSAFE)),
        ),
        (
            "anthropic_admin_key",
            format!("sk-ant-admin01-{}AA", g.s(93, URLSAFE)),
        ),
        ("google_api_key", format!("AIza{}", g.s(35, URLSAFE))),
        (
            "google_oauth_client_secret",
            format!("GOCSPX-{}", g.s(28, URLSAFE)),
        ),
        (
            "stripe_live_secret_key",
            format!("sk_live_{}", g.s(99, ALNUM)),
        ),
        (
            "stripe_live_restricted_key",
            format!("rk_live_{}", g.s(99, ALNUM)),
        ),
        (
            "stripe_test_secret_key",
            format!("sk_test_{}", g.s(24, ALNUM)),
        ),
        (
            "stripe_test_restricted_key",
            format!("rk_test_{}", g.s(24, ALNUM)),
        ),
        (
            "sendgrid_api_key",
            format!("SG.{}.{}", g.s(22, URLSAFE), g.s(43, URLSAFE)),
        ),
        ("npm_access_token", github_style(&mut g, "npm_")),
        (
            "huggingface_token",
            format!(
                "hf_{}",
                g.s(34, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
            ),
        ),
        ("jwt", jwt(&mut g)),
    ]
}

#[test]
fn every_format_is_found_alone_and_in_context() {
    let samples = samples();
    for k in KINDS {
        if matches!(k.recognise, Recognise::Format { .. }) && !k.id.starts_with("azure_") {
            assert!(
                samples.iter().any(|(id, _)| *id == k.id),
                "no sample for {}",
                k.id
            );
        }
    }
    for (id, value) in &samples {
        for text in [
            value.clone(),
            format!("see {value} here"),
            format!("\"{value}\","),
            format!("url?x={value}&y=1"),
        ] {
            let hits = scan_text(&text);
            assert_eq!(hits.len(), 1, "{id}: {text}: {hits:?}");
            let h = &hits[0];
            assert_eq!(h.kind.id, *id, "{text}");
            assert_eq!(h.secret.expose(), value);
            assert_eq!(&text[h.start..h.end], value);
        }
        // Part of a longer token (a base64 blob, an identifier) is not a credential; a
        // longer token of a variable-length format is another credential, never this one cut.
        let hits = scan_text(&format!("Q{value}"));
        assert!(hits.is_empty(), "{id}: {hits:?}");
        for text in [
            format!("{value}Q"),
            format!("{value}_x"),
            format!("{value}/x"),
        ] {
            let hits = scan_text(&text);
            assert!(
                hits.iter().all(|h| h.secret.expose() != value),
                "{id}: {text}: {hits:?}"
            );
        }
    }
}

#[test]
fn checksums_and_placeholders_reject_documentation_values() {
    let mut g = Gen(7);
    let good = github_style(&mut g, "ghp_");
    let mut bad = good.clone();
    bad.replace_range(10..11, if &good[10..11] == "a" { "b" } else { "a" });
    assert!(scan_text(&bad).is_empty());
    // The bad token is not picked up by its name either.
    assert!(scan_text(&format!("GITHUB_TOKEN={bad}")).is_empty());
    for doc in [
        "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "gho_16C7e42F292c6912E7710c838347Ae178B4a",
        "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "xoxb-1234567890-1234567890-abcdefghijklmnopqrstuvwx",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "sk_live_...",
    ] {
        assert!(scan_text(doc).is_empty(), "{doc}: {:?}", scan_text(doc));
    }
}

#[test]
fn secrets_never_show_in_debug_output_and_previews_are_short() {
    let mut g = Gen(11);
    let token = github_style(&mut g, "ghp_");
    let hits = scan_text(&format!("token: {token}"));
    let debug = format!("{hits:?}");
    assert!(!debug.contains(&token[4..]), "{debug}");
    assert!(debug.contains(&hits[0].secret.fingerprint()));
    assert_eq!(
        preview(hits[0].kind, &hits[0].secret),
        format!("ghp_\u{2026}{}", &token[36..])
    );
    assert_eq!(hits[0].secret.fingerprint().len(), 12);
    let k = kind("password");
    assert_eq!(preview(k, &Secret::new("Ab3#efgh")), "\u{2026}");
    assert_eq!(preview(k, &Secret::new("Ab3#efgh1234")), "\u{2026}34");
    assert_eq!(
        preview(k, &Secret::new("Ab3#efgh1234567890XYZ")),
        "\u{2026}0XYZ"
    );
}

#[test]
fn values_assigned_to_credential_names() {
    let cases = [
        (
            "export API_TOKEN=q8Vd2LrX0pT6mZ4cN1bH7kS9",
            "generic_token",
            "API_TOKEN",
        ),
        (
            "client_secret: \"4f9c2a7e1b8d3f6a0c5e9b2d7a4f1c8e\"",
            "generic_secret",
            "client_secret",
        ),
        ("db.password = Rk7#pQ2!vW9z", "password", "db.password"),
        (
            "\"x-api-key\": \"Zk4Pq9Lm2Wv7Tn3Bx8Rc1Hd6\"",
            "generic_api_key",
            "x-api-key",
        ),
        (
            "curl https://api.corp/v1?api_key=Zk4Pq9Lm2Wv7Tn3Bx8Rc1Hd6&page=2",
            "generic_api_key",
            "api_key",
        ),
        (
            "OPENAI_API_KEY=Zk4Pq9Lm2Wv7Tn3Bx8Rc1Hd6",
            "generic_api_key",
            "OPENAI_API_KEY",
        ),
        (
            "Server=tcp:sql1.corp;User ID=app;Password=Qw7Er2Ty9Ui;",
            "password",
            "Password",
        ),
        (
            "HEROKU_API_KEY=123e4567-e89b-42d3-a456-426614174000",
            "generic_api_key",
            "HEROKU_API_KEY",
        ),
    ];
    for (text, id, name) in cases {
        let hits = scan_text(text);
        assert_eq!(hits.len(), 1, "{text}: {hits:?}");
        assert_eq!(hits[0].kind.id, id, "{text}");
        assert_eq!(hits[0].name.as_deref(), Some(name), "{text}");
    }
    // The name points at the service and its rotation steps.
    let hits = scan_text("OPENAI_API_KEY=Zk4Pq9Lm2Wv7Tn3Bx8Rc1Hd6");
    assert_eq!(hits[0].service, "OpenAI");
    assert_eq!(hits[0].rotation, kind("openai_api_key").rotation);

    for text in [
        "API_KEY=your-api-key-here",
        "password: changeme",
        "token: ${GITHUB_TOKEN}",
        "token = $GITHUB_TOKEN",
        "secret: \"****************\"",
        "api_key = os.environ[\"API_KEY\"]",
        "self.api_key = api_key or settings.OPENAI_API_KEY",
        "password = getpass.getpass()",
        "token_type = \"bearer\"",
        "cache_key = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
        "public_key: 9f86d081884c7d659a2feaa0c55ad015",
        "PRIVATE_KEY_PATH=/run/secrets/key.pem",
        "login(user=\"alice\", password=\"test-password-123\")",
        "TOKEN=%TOKEN%",
        "client_secret: {{ secrets.CLIENT_SECRET }}",
        "request_id: 123e4567-e89b-42d3-a456-426614174000",
        "commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
        "integrity: sha512-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "\"ClientToken\": \"1d2129a1-3d38-460a-9756-e5b91fddb951\"",
        "trace_token: 1d2129a1-3d38-460a-9756-e5b91fddb951",
        "pub ExportKey: BCryptExportKeyFn,",
        "pub const TEXT_TABLE_KEY: crate::ObjectIdentifier =",
        "mngr->getKey = xmlSecKeysMngrGetKey;",
        "iKey = sqlite3VdbeIntValue(pIn3);",
        "if( eOnePass==ONEPASS_MULTI ){",
        "let password = Password::try_from(password)?;",
        "\"AWS::IAM::AccessKey\": \"62d91b17309e76c8\",",
        "self, api_key: ApiGatewayApiKey",
        "\"result_key\": \"recommendedSteps\"",
        "HEX_PAT = \"[0-9A-Fa-f]{1,4}\"",
        "MAIL_AUTH=2e87f9ed1246bbf9ffb07f185ad02e3b1ca4b4e6",
        "\"PurchaseToken\": \"eyJ2IjoiMSIsInMiOjEsImMiOi...\",",
    ] {
        assert!(scan_text(text).is_empty(), "{text}: {:?}", scan_text(text));
    }
}

#[test]
fn aws_and_twilio_secrets_are_found_next_to_their_ids() {
    let mut g = Gen(13);
    let id = format!("AKIA{}", g.s(16, B32));
    let secret = g.s(40, B64);
    let text = format!("key id {id}\nand the secret is {secret}\n");
    let hits = scan_text(&text);
    let ids: Vec<&str> = hits.iter().map(|h| h.kind.id).collect();
    assert_eq!(ids, ["aws_access_key_id", "aws_secret_access_key"]);
    assert_eq!(hits[1].secret.expose(), secret);
    // Without a key id nearby, a 40-character blob is just a blob.
    assert!(scan_text(&format!("the value is {secret}")).is_empty());
    let far = format!("{id}{}{secret}", " filler".repeat(300));
    assert_eq!(scan_text(&far).len(), 1);
    // A git commit hash next to a key id is not its secret.
    let sha = g.s(40, HEX);
    assert_eq!(scan_text(&format!("{id} fixed in {sha}")).len(), 1);

    let sk = format!("SK{}", g.s(32, HEX));
    let api_secret = g.s(32, ALNUM);
    let hits = scan_text(&format!(
        "TWILIO_API_KEY={sk}\nTWILIO_API_SECRET={api_secret}\n"
    ));
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].kind.id, "twilio_api_key_secret");
    assert_eq!(hits[0].secret.expose(), api_secret);

    let sid = format!("AC{}", g.s(32, HEX));
    let token = g.s(32, HEX);
    let hits = scan_text(&format!("account {sid} token {token}"));
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].kind.id, "twilio_auth_token");
    assert_eq!(hits[0].secret.expose(), token);
}

#[test]
fn passwords_in_connection_urls() {
    let cases = [
        (
            "postgres://app:S3cure-Pg-Passw0rd@db.corp:5432/x",
            "postgres_password",
            "S3cure-Pg-Passw0rd",
            "postgres://app@db.corp:5432",
        ),
        (
            "jdbc:mysql://root:Qz8%23mK2pW9@mysql.corp/db",
            "mysql_password",
            "Qz8#mK2pW9",
            "jdbc:mysql://root@mysql.corp",
        ),
        (
            "mongodb+srv://svc:Ab12Cd34Ef56@c0.abcde.mongodb.net/db",
            "mongodb_password",
            "Ab12Cd34Ef56",
            "mongodb+srv://svc@c0.abcde.mongodb.net",
        ),
        (
            "rediss://:Vq7Wm3Zp9Lx2@cache.corp:6380",
            "redis_password",
            "Vq7Wm3Zp9Lx2",
            "rediss://@cache.corp:6380",
        ),
        (
            "amqp://bot:Hs8Jd2Kf5Lg1@mq.corp:5672/%2f",
            "amqp_password",
            "Hs8Jd2Kf5Lg1",
            "amqp://bot@mq.corp:5672",
        ),
        (
            "https://deploy:Tg5Rf8Ed3Ws1@repo.corp/simple",
            "url_password",
            "Tg5Rf8Ed3Ws1",
            "https://deploy@repo.corp",
        ),
    ];
    for (text, id, password, target) in cases {
        let hits = scan_text(text);
        assert_eq!(hits.len(), 1, "{text}: {hits:?}");
        assert_eq!(hits[0].kind.id, id);
        assert_eq!(hits[0].secret.expose(), password);
        assert_eq!(hits[0].target.as_deref(), Some(target));
    }
    for text in [
        "postgres://user:password@localhost:5432/db",
        "mongodb+srv://<username>:<password>@cluster0.example.mongodb.net",
        "redis://:${REDIS_PASSWORD}@redis:6379",
        "amqp://guest:****@rabbit:5672",
        "https://user:pass@api.corp/v1",
        "postgres://app:Zx9Kq2Lm7Wp4@db.example.com/x",
    ] {
        assert!(scan_text(text).is_empty(), "{text}: {:?}", scan_text(text));
    }
    // A known token as the password keeps its own type and gains the target.
    let mut g = Gen(17);
    let glpat = format!("glpat-{}", g.s(20, URLSAFE));
    let hits = scan_text(&format!(
        "https://oauth2:{glpat}@gitlab.corp/group/repo.git"
    ));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].kind.id, "gitlab_access_token");
    assert_eq!(
        hits[0].target.as_deref(),
        Some("https://oauth2@gitlab.corp")
    );
    // A user name that is itself a token is not shown.
    let hits = scan_text(&format!(
        "https://{}:x-oauth-basic-Zq8@github.com/o/r",
        g.s(40, ALNUM)
    ));
    assert_eq!(
        hits[0].target.as_deref(),
        Some("https://\u{2026}@github.com")
    );
}

#[test]
fn authorization_headers() {
    let basic = base64::engine::general_purpose::STANDARD.encode("svc-backup:Wq9#Lm2!Zx7p");
    let hits = scan_text(&format!("Authorization: Basic {basic}"));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].kind.id, "http_basic_auth");
    assert_eq!(hits[0].secret.expose(), "Wq9#Lm2!Zx7p");
    assert_eq!(hits[0].target.as_deref(), Some("user svc-backup"));
    let hits = scan_text("-H 'Authorization: Bearer q8Vd2LrX0pT6mZ4cN1bH7kS9'");
    assert_eq!(hits[0].kind.id, "generic_token");
    for text in [
        "Authorization: Bearer <token>",
        "Authorization: Bearer $ACCESS_TOKEN",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
    ] {
        assert!(scan_text(text).is_empty(), "{text}");
    }
}

fn body(g: &mut Gen, lines: usize) -> String {
    (0..lines).map(|_| g.s(64, B64) + "\n").collect()
}

#[test]
fn pem_private_keys_in_every_form() {
    let mut g = Gen(19);
    let b = body(&mut g, 6);
    let one_line: String = b.replace('\n', "");
    for (label, id) in [
        ("RSA PRIVATE KEY", "rsa_private_key"),
        ("EC PRIVATE KEY", "ec_private_key"),
        ("DSA PRIVATE KEY", "dsa_private_key"),
        ("OPENSSH PRIVATE KEY", "openssh_private_key"),
        ("PRIVATE KEY", "pkcs8_private_key"),
        ("ENCRYPTED PRIVATE KEY", "encrypted_private_key"),
        ("PGP PRIVATE KEY BLOCK", "pgp_private_key"),
    ] {
        let pem = format!("-----BEGIN {label}-----\n{b}-----END {label}-----\n");
        let hits = scan_text(&format!("key:\n{pem}"));
        assert_eq!(hits.len(), 1, "{label}");
        assert_eq!(hits[0].kind.id, id);
        // The same key written with \r\n, or inside a JSON string with \n escapes, or with
        // headers, is the same secret.
        let crlf = pem.replace('\n', "\r\n");
        let escaped = pem.replace('\n', "\\n");
        let headers = pem.replacen(
            "-----\n",
            "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00FF\n\n",
            1,
        );
        for variant in [crlf, escaped, headers] {
            let v = scan_text(&variant);
            assert_eq!(v.len(), 1, "{label}: {variant}");
            assert_eq!(v[0].secret.fingerprint(), hits[0].secret.fingerprint());
        }
        assert_eq!(
            preview(hits[0].kind, &hits[0].secret),
            format!(
                "-----BEGIN {label}-----\u{2026}{}",
                &one_line[one_line.len() - 4..]
            )
        );
    }
    let pgp = format!("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: x\n\n{b}=Ab1c\n-----END PGP PRIVATE KEY BLOCK-----");
    assert_eq!(scan_text(&pgp).len(), 1);
    for doc in [
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n...\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n(your key here)\n-----END OPENSSH PRIVATE KEY-----",
        &format!("-----BEGIN RSA PRIVATE KEY-----\n{b}"),
        &format!("-----BEGIN PUBLIC KEY-----\n{b}-----END PUBLIC KEY-----"),
        &format!("-----BEGIN CERTIFICATE-----\n{b}-----END CERTIFICATE-----"),
    ] {
        assert!(scan_text(doc).is_empty(), "{doc}");
    }
}

#[test]
fn unicode_around_and_inside_candidates_never_splits_a_character() {
    // Every detector slices text near its hits; none may cut a multi-byte character.
    let tail = "é日本語".repeat(40_000);
    for head in [
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "password = ",
        "postgres://u:",
        "Authorization: Bearer ",
        "AKIAABCDEFGHJKLMNOPQ ",
        "AC0123456789abcdef0123456789abcdef ",
    ] {
        let text = format!("{head}{tail}");
        assert!(scan_text(&text).is_empty(), "{head}");
        let text = format!("{tail}{head}{tail}");
        let _ = scan_text(&text);
    }
}

#[test]
fn fields_are_named_paired_and_typed_together() {
    let mut g = Gen(23);
    let id = format!("ASIA{}", g.s(16, B32));
    let secret = g.s(40, B64);
    let sendgrid = format!("SG.{}.{}", g.s(22, URLSAFE), g.s(43, URLSAFE));
    let fields = [
        Field {
            name: Some("key_id"),
            value: &id,
        },
        Field {
            name: Some("value"),
            value: &secret,
        },
        Field {
            name: Some("1"),
            value: "--api-key",
        },
        Field {
            name: Some("2"),
            value: &sendgrid,
        },
    ];
    let hits = scan_fields(&fields);
    let got: Vec<(usize, &str)> = hits.iter().map(|(i, h)| (*i, h.kind.id)).collect();
    assert_eq!(
        got,
        [
            (0, "aws_temporary_access_key_id"),
            (1, "aws_secret_access_key"),
            (3, "sendgrid_api_key")
        ]
    );
    assert_eq!(hits[0].1.name.as_deref(), Some("key_id"));

    // A PKCS #8 key in a Google service-account file is that account's key.
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}-----END PRIVATE KEY-----\n",
        body(&mut g, 5)
    );
    let fields = [
        Field {
            name: Some("type"),
            value: "service_account",
        },
        Field {
            name: Some("private_key"),
            value: &pem,
        },
        Field {
            name: Some("client_email"),
            value: "etl@proj-1.iam.gserviceaccount.com",
        },
    ];
    let hits = scan_fields(&fields);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].1.kind.id, "gcp_service_account_key");
    assert_eq!(hits[0].1.service, "Google Cloud");

    // A value judged by its name only when the name says it is a credential.
    let fields = [
        Field {
            name: Some("DB_PASSWORD"),
            value: "Rk7#pQ2!vW9z",
        },
        Field {
            name: Some("DB_HOST"),
            value: "Rk7#pQ2!vW9zz",
        },
        Field {
            name: Some("Authorization"),
            value: "Bearer q8Vd2LrX0pT6mZ4cN1bH7kS9",
        },
    ];
    let got: Vec<(usize, &str)> = scan_fields(&fields)
        .iter()
        .map(|(i, h)| (*i, h.kind.id))
        .collect();
    assert_eq!(got, [(0, "password"), (2, "generic_token")]);
}

#[test]
fn binary_data_is_read_as_printable_runs() {
    let mut g = Gen(29);
    let token = github_style(&mut g, "ghs_");
    let mut bytes = vec![0u8, 1, 2, 0xff, 0xfe];
    let at = bytes.len() + 6;
    bytes.extend_from_slice(format!("token {token}").as_bytes());
    bytes.extend_from_slice(&[0, 0x80, 0x81]);
    let hits = scan_binary(&bytes);
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].start, hits[0].kind.id),
        (at, "github_app_installation_token")
    );
}
