//! The table of credential types: what each is, whose it is, how it is recognised and how to
//! rotate it. Detection code in this module's parent reads the table; adding a type with a
//! distinctive format is one entry here.

use super::validate;

/// One credential type.
#[derive(Debug)]
pub struct Kind {
    /// Stable type id, the `type` of a credential in reports.
    pub id: &'static str,
    /// The service that issued it, as a responder would search for it.
    pub service: &'static str,
    /// What to do about it, specific to the service.
    pub rotation: &'static str,
    /// Characters of the secret's start that are shown in previews: a fixed, non-secret prefix.
    pub prefix: &'static str,
    /// A test-mode credential (no production access), still listed but marked.
    pub test: bool,
    /// How specific the recognition is; when two types claim the same secret the higher wins.
    pub rank: u8,
    pub recognise: Recognise,
}

/// How a type is recognised.
#[derive(Debug)]
pub enum Recognise {
    /// By its own format, anywhere in text. `anchor` is a literal every match contains (a
    /// cheap prefilter); `pattern` the regex, whose group `s`, if any, is the secret;
    /// `check` a structural validation (checksum, decodable header) of the secret.
    Format {
        anchor: &'static str,
        pattern: &'static str,
        check: fn(&str) -> bool,
    },
    /// A PEM block `-----BEGIN <label>-----` ... `-----END <label>-----`.
    Pem { label: &'static str },
    /// The password of a URL `scheme://user:password@host` with one of these schemes.
    UrlPassword { schemes: &'static [&'static str] },
    /// Only by context: assigned to a name that says what it is, or next to its pair (an AWS
    /// secret key next to its key id); `shape` says what the value must look like.
    Context { shape: fn(&str) -> bool },
    /// A value assigned to a credential-like name, judged by length, character mix and
    /// entropy.
    Name,
    /// A secret the client prompts for (VS Code `inputs` with `password: true`): the agent
    /// held it, but its value is not in the file.
    Prompt,
}

const fn no_check(_: &str) -> bool {
    true
}

const GITHUB_PAT: &str = "Revoke in GitHub > Settings > Developer settings > Personal access tokens, then issue a new token with least privilege (only the repositories and scopes it needs, with an expiry); review the account's security log for the incident window.";
const AWS_KEY: &str = "Deactivate, then delete, this access key in IAM (IAM > Users > the user > Security credentials > Access keys, or `aws iam update-access-key --status Inactive`); issue a replacement only if still needed, with least privilege; review CloudTrail for the key's use in the incident window.";
const AWS_TEMPORARY: &str = "Temporary STS credentials: revoke the role's active sessions (IAM > Roles > the role > Revoke active sessions) and rotate the long-term credential that issued them; review CloudTrail for the session's calls.";
const PRIVATE_KEY: &str = "Replace the key pair wherever its public half is trusted (TLS certificate: revoke and reissue; SSH authorized_keys; deploy keys; JWT signing keys/JWKS; cloud service accounts), then delete every copy of this private key.";
const DB_PASSWORD: &str = "Change this database user's password, update every connection string that uses it, and review the database's logs for the incident window.";

/// Every credential type mcpsweep knows, formats first.
pub static KINDS: &[Kind] = &[
    // AWS
    Kind {
        id: "aws_access_key_id",
        service: "AWS",
        rotation: AWS_KEY,
        prefix: "AKIA",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "AKIA",
            pattern: r"AKIA[A-Z2-7]{16}",
            check: no_check,
        },
    },
    Kind {
        id: "aws_temporary_access_key_id",
        service: "AWS",
        rotation: AWS_TEMPORARY,
        prefix: "ASIA",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "ASIA",
            pattern: r"ASIA[A-Z2-7]{16}",
            check: no_check,
        },
    },
    Kind {
        id: "aws_secret_access_key",
        service: "AWS",
        rotation: "Deactivate and delete the access key this secret belongs to (IAM > Users > the user > Security credentials > Access keys); issue a new key with least privilege only if still needed; review CloudTrail for its use in the incident window.",
        prefix: "",
        test: false,
        rank: 2,
        recognise: Recognise::Context {
            shape: validate::aws_secret_shape,
        },
    },
    Kind {
        id: "aws_session_token",
        service: "AWS",
        rotation: AWS_TEMPORARY,
        prefix: "",
        test: false,
        rank: 2,
        recognise: Recognise::Context {
            shape: validate::long_base64_shape,
        },
    },
    // GitHub
    Kind {
        id: "github_personal_access_token",
        service: "GitHub",
        rotation: GITHUB_PAT,
        prefix: "ghp_",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "ghp_",
            pattern: r"ghp_[A-Za-z0-9]{36}",
            check: validate::github_checksum,
        },
    },
    Kind {
        id: "github_fine_grained_personal_access_token",
        service: "GitHub",
        rotation: "Revoke in GitHub > Settings > Developer settings > Personal access tokens > Fine-grained tokens, then issue a new token limited to the repositories and permissions it needs, with an expiry; review the account's security log for the incident window.",
        prefix: "github_pat_",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "github_pat_",
            pattern: r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "github_oauth_token",
        service: "GitHub",
        rotation: "Revoke the OAuth app's access (GitHub > Settings > Applications > Authorized OAuth Apps > Revoke; as the app's owner: `DELETE /applications/{client_id}/token`), then re-authorize; review the security log for the incident window.",
        prefix: "gho_",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "gho_",
            pattern: r"gho_[A-Za-z0-9]{36}",
            check: validate::github_checksum,
        },
    },
    Kind {
        id: "github_app_user_token",
        service: "GitHub",
        rotation: "Revoke the GitHub App's user authorization (GitHub > Settings > Applications > Authorized GitHub Apps > Revoke; as the app's owner: `DELETE /applications/{client_id}/token`); review the security log for the incident window.",
        prefix: "ghu_",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "ghu_",
            pattern: r"ghu_[A-Za-z0-9]{36}",
            check: validate::github_checksum,
        },
    },
    Kind {
        id: "github_app_installation_token",
        service: "GitHub",
        rotation: "Revoke the installation token now (`DELETE /installation/token` with it; it would expire within an hour anyway); if the GitHub App's private key may be exposed too, generate a new private key in the app's settings and delete the old one.",
        prefix: "ghs_",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "ghs_",
            pattern: r"ghs_[A-Za-z0-9]{36}",
            check: validate::github_checksum,
        },
    },
    Kind {
        id: "github_app_refresh_token",
        service: "GitHub",
        rotation: "Revoke the user's authorization of the GitHub App (GitHub > Settings > Applications > Authorized GitHub Apps > Revoke), which invalidates its refresh tokens.",
        prefix: "ghr_",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "ghr_",
            pattern: r"ghr_[A-Za-z0-9]{36,76}",
            check: validate::github_refresh_checksum,
        },
    },
    // GitLab
    Kind {
        id: "gitlab_access_token",
        service: "GitLab",
        rotation: "Revoke in GitLab > User settings > Access tokens (project or group tokens: the project's or group's Settings > Access tokens), then create a new token with the narrowest scopes and an expiry; review the audit events for the incident window.",
        prefix: "glpat-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "glpat-",
            pattern: r"glpat-[A-Za-z0-9_.-]{20,200}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "gitlab_deploy_token",
        service: "GitLab",
        rotation: "Revoke the deploy token in the project's or group's Settings > Repository > Deploy tokens, and create a new one.",
        prefix: "gldt-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "gldt-",
            pattern: r"gldt-[A-Za-z0-9_-]{20,200}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "gitlab_runner_token",
        service: "GitLab",
        rotation: "Reset the runner's authentication token (Settings > CI/CD > Runners > the runner > Reset token, or register the runner again) and update the runner's config.toml.",
        prefix: "glrt-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "glrt-",
            pattern: r"glrt-[A-Za-z0-9_.-]{20,200}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "gitlab_pipeline_trigger_token",
        service: "GitLab",
        rotation: "Revoke the trigger token in the project's Settings > CI/CD > Pipeline trigger tokens and create a new one.",
        prefix: "glptt-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "glptt-",
            pattern: r"glptt-[A-Za-z0-9_-]{20,200}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "gitlab_oauth_application_secret",
        service: "GitLab",
        rotation: "Renew the OAuth application's secret (User settings, group Settings or Admin > Applications > the application > Renew secret) and update its clients.",
        prefix: "gloas-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "gloas-",
            pattern: r"gloas-[A-Za-z0-9_-]{20,200}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "gitlab_runner_registration_token",
        service: "GitLab",
        rotation: "Reset the runner registration token (Settings > CI/CD > Runners > Reset registration token); move the runners to authentication tokens.",
        prefix: "GR1348941",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "GR1348941",
            pattern: r"GR1348941[A-Za-z0-9_-]{20}",
            check: validate::random_enough,
        },
    },
    // Slack
    Kind {
        id: "slack_bot_token",
        service: "Slack",
        rotation: "Revoke the bot token (api.slack.com/apps > the app > OAuth & Permissions > Revoke tokens, or the `auth.revoke` API), reinstall the app to issue a new one, and review the workspace's access logs for the incident window.",
        prefix: "xoxb-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "xoxb-",
            pattern: r"xoxb-[0-9]{6,}-[0-9]{6,}-[A-Za-z0-9]{16,}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "slack_user_token",
        service: "Slack",
        rotation: "Revoke the user token (api.slack.com/apps > the app > OAuth & Permissions > Revoke tokens, or the `auth.revoke` API) and reinstall the app; the token acts as the user, so review what that user can reach.",
        prefix: "xoxp-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "xoxp-",
            pattern: r"xoxp-[0-9]{6,}-[0-9]{6,}-[0-9]{6,}-[A-Za-z0-9]{16,}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "slack_app_token",
        service: "Slack",
        rotation: "Revoke the app-level token (api.slack.com/apps > the app > Basic Information > App-Level Tokens > Revoke) and generate a new one.",
        prefix: "xapp-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "xapp-",
            pattern: r"xapp-[0-9]+-[A-Z0-9]{6,}-[0-9]{6,}-[A-Za-z0-9]{16,}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "slack_token",
        service: "Slack",
        rotation: "Revoke the token with the `auth.revoke` API or from the app's OAuth & Permissions page (api.slack.com/apps), and reinstall the app to issue new tokens.",
        prefix: "xox",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "xox",
            pattern: r"xox[aorse]-[0-9]+-[A-Za-z0-9-]{16,}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "slack_webhook_url",
        service: "Slack",
        rotation: "Remove the incoming webhook (api.slack.com/apps > the app > Incoming Webhooks > Remove) and add a new one; anyone holding the URL can post to the channel.",
        prefix: "https://hooks.slack.com/",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "hooks.slack.com",
            pattern: r"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,}/[A-Z0-9]{6,}/[A-Za-z0-9]{20,}",
            check: validate::random_enough,
        },
    },
    // OpenAI
    Kind {
        id: "openai_project_api_key",
        service: "OpenAI",
        rotation: "Delete the key in OpenAI platform > Settings > the project > API keys, create a new project key with restricted permissions, and check Usage for the incident window.",
        prefix: "sk-proj-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "sk-proj-",
            pattern: r"sk-proj-[A-Za-z0-9_-]{40,}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "openai_service_account_key",
        service: "OpenAI",
        rotation: "Delete the service account's key in OpenAI platform > Settings > the project > Service accounts, create a new one, and check Usage for the incident window.",
        prefix: "sk-svcacct-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "sk-svcacct-",
            pattern: r"sk-svcacct-[A-Za-z0-9_-]{40,}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "openai_admin_key",
        service: "OpenAI",
        rotation: "Delete the admin key in OpenAI platform > Settings > Organization > Admin keys (it manages every project, key and member), then review the organization's audit log, members and keys.",
        prefix: "sk-admin-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "sk-admin-",
            pattern: r"sk-admin-[A-Za-z0-9_-]{40,}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "openai_api_key",
        service: "OpenAI",
        rotation: "Delete the key in OpenAI platform > API keys, replace it with a project-scoped key with restricted permissions, and check Usage for the incident window.",
        prefix: "sk-",
        test: false,
        rank: 2,
        recognise: Recognise::Format {
            anchor: "sk-",
            pattern: r"sk-[A-Za-z0-9]{48}",
            check: validate::random_enough,
        },
    },
    // Anthropic
    Kind {
        id: "anthropic_api_key",
        service: "Anthropic",
        rotation: "Disable, then delete, the key in Claude Console > Settings > API keys; create a new key in the right workspace; check Usage for the incident window.",
        prefix: "sk-ant-api03-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "sk-ant-api03-",
            pattern: r"sk-ant-api03-[A-Za-z0-9_-]{93}AA",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "anthropic_admin_key",
        service: "Anthropic",
        rotation: "Delete the Admin API key in Claude Console > Settings > Admin keys; it manages API keys, workspaces and members, so review those for changes in the incident window.",
        prefix: "sk-ant-admin01-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "sk-ant-admin01-",
            pattern: r"sk-ant-admin01-[A-Za-z0-9_-]{93}AA",
            check: validate::random_enough,
        },
    },
    // Google
    Kind {
        id: "google_api_key",
        service: "Google Cloud",
        rotation: "Regenerate or delete the key in Google Cloud console > APIs & Services > Credentials, add API and application restrictions to its replacement, and check the APIs' metrics for the incident window.",
        prefix: "AIza",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "AIza",
            pattern: r"AIza[0-9A-Za-z_-]{35}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "google_oauth_client_secret",
        service: "Google Cloud",
        rotation: "Reset the OAuth client's secret in Google Cloud console > APIs & Services > Credentials > OAuth 2.0 Client IDs > the client (add a new secret, move clients to it, then disable and delete the old one).",
        prefix: "GOCSPX-",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "GOCSPX-",
            pattern: r"GOCSPX-[A-Za-z0-9_-]{28}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "gcp_service_account_key",
        service: "Google Cloud",
        rotation: "Delete the key in Google Cloud console > IAM & Admin > Service accounts > the account > Keys (the private_key_id names it); create a new key only if needed (prefer workload identity); review the account's activity in Cloud Audit Logs.",
        prefix: "-----BEGIN PRIVATE KEY-----",
        test: false,
        rank: 3,
        recognise: Recognise::Context {
            shape: validate::never,
        },
    },
    // Stripe
    Kind {
        id: "stripe_live_secret_key",
        service: "Stripe",
        rotation: "Roll the key in Stripe Dashboard > Developers > API keys (Roll key, expiring the old one now), update the integrations, and review Developers > Logs for the incident window.",
        prefix: "sk_live_",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "sk_live_",
            pattern: r"sk_live_[A-Za-z0-9]{24,247}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "stripe_live_restricted_key",
        service: "Stripe",
        rotation: "Roll or delete the restricted key in Stripe Dashboard > Developers > API keys > Restricted keys, and review Developers > Logs for the incident window.",
        prefix: "rk_live_",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "rk_live_",
            pattern: r"rk_live_[A-Za-z0-9]{24,247}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "stripe_test_secret_key",
        service: "Stripe",
        rotation: "Test-mode key (no live payments): roll it in Stripe Dashboard > Developers > API keys with test mode on.",
        prefix: "sk_test_",
        test: true,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "sk_test_",
            pattern: r"sk_test_[A-Za-z0-9]{24,247}",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "stripe_test_restricted_key",
        service: "Stripe",
        rotation: "Test-mode restricted key (no live payments): roll or delete it in Stripe Dashboard > Developers > API keys with test mode on.",
        prefix: "rk_test_",
        test: true,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "rk_test_",
            pattern: r"rk_test_[A-Za-z0-9]{24,247}",
            check: validate::random_enough,
        },
    },
    // Twilio
    Kind {
        id: "twilio_auth_token",
        service: "Twilio",
        rotation: "Rotate the auth token: Twilio Console > Account > API keys & tokens > Auth tokens > request a secondary token, move clients to it, then promote it (the old token stops working); review the account's logs for the incident window.",
        prefix: "",
        test: false,
        rank: 2,
        recognise: Recognise::Context {
            shape: validate::hex32,
        },
    },
    Kind {
        id: "twilio_api_key_secret",
        service: "Twilio",
        rotation: "Delete the API key (SK...) this secret belongs to in Twilio Console > Account > API keys & tokens, and create a new one.",
        prefix: "",
        test: false,
        rank: 2,
        recognise: Recognise::Context {
            shape: validate::alnum32,
        },
    },
    // SendGrid
    Kind {
        id: "sendgrid_api_key",
        service: "SendGrid",
        rotation: "Delete the key in SendGrid > Settings > API Keys, create a new one with restricted access, and check Activity for mail sent in the incident window.",
        prefix: "SG.",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "SG.",
            pattern: r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
            check: validate::random_enough,
        },
    },
    // Package registries and model hubs
    Kind {
        id: "npm_access_token",
        service: "npm",
        rotation: "Revoke in npmjs.com > Access Tokens (or `npm token revoke`), create a new granular token, and check the packages it could publish for versions published in the incident window.",
        prefix: "npm_",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "npm_",
            pattern: r"npm_[A-Za-z0-9]{36}",
            check: validate::github_checksum,
        },
    },
    Kind {
        id: "huggingface_token",
        service: "Hugging Face",
        rotation: "Invalidate the token in huggingface.co > Settings > Access Tokens and create a fine-grained one; check the repositories it could write to.",
        prefix: "hf_",
        test: false,
        rank: 2,
        recognise: Recognise::Format {
            anchor: "hf_",
            pattern: r"hf_[A-Za-z]{34}",
            check: validate::random_enough,
        },
    },
    // Azure
    Kind {
        id: "azure_storage_account_key",
        service: "Azure Storage",
        rotation: "Rotate the account key (Azure portal > the storage account > Security + networking > Access keys > Rotate key; move clients to the other key first), review the storage logs for the incident window, and prefer Entra ID or expiring SAS tokens.",
        prefix: "",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "AccountKey=",
            pattern: r"AccountKey=(?P<s>[A-Za-z0-9+/]{86}==)",
            check: validate::random_enough,
        },
    },
    Kind {
        id: "azure_shared_access_key",
        service: "Azure Service Bus / Event Hubs",
        rotation: "Regenerate the key of the shared access policy (Azure portal > the namespace > Shared access policies > the policy > Regenerate primary/secondary key) and update its clients.",
        prefix: "",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "SharedAccessKey=",
            pattern: r"SharedAccessKey=(?P<s>[A-Za-z0-9+/]{42,43}=)",
            check: validate::random_enough,
        },
    },
    // JSON Web Tokens
    Kind {
        id: "jwt",
        service: "JSON Web Token",
        rotation: "Revoke the session or refresh token at its issuer (see target: the iss claim) and sign the user or service out; if it is signed with a shared secret (HS256/384/512), rotate that secret. Until its exp claim passes it stays valid wherever it is accepted.",
        prefix: "eyJ",
        test: false,
        rank: 3,
        recognise: Recognise::Format {
            anchor: "eyJ",
            pattern: r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
            check: validate::jwt,
        },
    },
    // Private keys
    Kind {
        id: "rsa_private_key",
        service: "Private key (RSA)",
        rotation: PRIVATE_KEY,
        prefix: "-----BEGIN RSA PRIVATE KEY-----",
        test: false,
        rank: 3,
        recognise: Recognise::Pem {
            label: "RSA PRIVATE KEY",
        },
    },
    Kind {
        id: "ec_private_key",
        service: "Private key (EC)",
        rotation: PRIVATE_KEY,
        prefix: "-----BEGIN EC PRIVATE KEY-----",
        test: false,
        rank: 3,
        recognise: Recognise::Pem {
            label: "EC PRIVATE KEY",
        },
    },
    Kind {
        id: "dsa_private_key",
        service: "Private key (DSA)",
        rotation: PRIVATE_KEY,
        prefix: "-----BEGIN DSA PRIVATE KEY-----",
        test: false,
        rank: 3,
        recognise: Recognise::Pem {
            label: "DSA PRIVATE KEY",
        },
    },
    Kind {
        id: "openssh_private_key",
        service: "Private key (SSH)",
        rotation: "Remove the matching public key from every authorized_keys file, GitHub/GitLab user and deploy keys, and bastion hosts it is trusted on; generate a new key pair; delete every copy of this private key.",
        prefix: "-----BEGIN OPENSSH PRIVATE KEY-----",
        test: false,
        rank: 3,
        recognise: Recognise::Pem {
            label: "OPENSSH PRIVATE KEY",
        },
    },
    Kind {
        id: "pkcs8_private_key",
        service: "Private key (PKCS #8)",
        rotation: PRIVATE_KEY,
        prefix: "-----BEGIN PRIVATE KEY-----",
        test: false,
        rank: 3,
        recognise: Recognise::Pem {
            label: "PRIVATE KEY",
        },
    },
    Kind {
        id: "encrypted_private_key",
        service: "Private key (encrypted PKCS #8)",
        rotation: "Encrypted, but treat its passphrase as exposed if it was anywhere the agent could read: replace the key pair wherever its public half is trusted, then delete every copy.",
        prefix: "-----BEGIN ENCRYPTED PRIVATE KEY-----",
        test: false,
        rank: 3,
        recognise: Recognise::Pem {
            label: "ENCRYPTED PRIVATE KEY",
        },
    },
    Kind {
        id: "pgp_private_key",
        service: "Private key (OpenPGP)",
        rotation: "Revoke the key (publish its revocation certificate, e.g. `gpg --gen-revoke`, to the keyservers and correspondents), generate a new key, and re-sign or re-encrypt what depended on it.",
        prefix: "-----BEGIN PGP PRIVATE KEY BLOCK-----",
        test: false,
        rank: 3,
        recognise: Recognise::Pem {
            label: "PGP PRIVATE KEY BLOCK",
        },
    },
    // Passwords in connection URLs
    Kind {
        id: "postgres_password",
        service: "PostgreSQL",
        rotation: "Change the role's password (`ALTER ROLE name WITH PASSWORD '...'`), update every connection string that uses it, and review the database's logs for the incident window.",
        prefix: "",
        test: false,
        rank: 1,
        recognise: Recognise::UrlPassword {
            schemes: &["postgres", "postgresql", "postgis", "pgsql", "jdbc:postgresql"],
        },
    },
    Kind {
        id: "mysql_password",
        service: "MySQL",
        rotation: "Change the user's password (`ALTER USER 'name'@'host' IDENTIFIED BY '...'`), update every connection string that uses it, and review the server's logs for the incident window.",
        prefix: "",
        test: false,
        rank: 1,
        recognise: Recognise::UrlPassword {
            schemes: &["mysql", "mysql2", "mariadb", "jdbc:mysql", "jdbc:mariadb"],
        },
    },
    Kind {
        id: "mongodb_password",
        service: "MongoDB",
        rotation: "Change the user's password (`db.changeUserPassword()`, or Atlas > Database Access > the user > Edit Password), update every connection string that uses it, and review the database's logs for the incident window.",
        prefix: "",
        test: false,
        rank: 1,
        recognise: Recognise::UrlPassword {
            schemes: &["mongodb", "mongodb+srv"],
        },
    },
    Kind {
        id: "redis_password",
        service: "Redis",
        rotation: "Change the password (`ACL SETUSER name >new-password` and remove the old one, or `requirepass`), then restart the clients with the new one.",
        prefix: "",
        test: false,
        rank: 1,
        recognise: Recognise::UrlPassword {
            schemes: &["redis", "rediss"],
        },
    },
    Kind {
        id: "amqp_password",
        service: "RabbitMQ (AMQP)",
        rotation: "Change the user's password (`rabbitmqctl change_password name new-password`) and update every connection string that uses it.",
        prefix: "",
        test: false,
        rank: 1,
        recognise: Recognise::UrlPassword {
            schemes: &["amqp", "amqps"],
        },
    },
    Kind {
        id: "sqlserver_password",
        service: "SQL Server",
        rotation: DB_PASSWORD,
        prefix: "",
        test: false,
        rank: 1,
        recognise: Recognise::UrlPassword {
            schemes: &["mssql", "sqlserver", "jdbc:sqlserver"],
        },
    },
    Kind {
        id: "url_password",
        service: "Password in a URL",
        rotation: "Change this account's password on the service the URL points to (see target); the URL carries it in clear text, so update every place that stores the URL.",
        prefix: "",
        test: false,
        rank: 1,
        recognise: Recognise::UrlPassword { schemes: &[] },
    },
    Kind {
        id: "http_basic_auth",
        service: "HTTP Basic authentication",
        rotation: "Change the password of the account in this Basic authorization header on the service it was sent to (see target), and update every client that sends it.",
        prefix: "",
        test: false,
        rank: 1,
        recognise: Recognise::Name,
    },
    // Values assigned to telling names
    Kind {
        id: "generic_api_key",
        service: "unknown",
        rotation: GENERIC,
        prefix: "",
        test: false,
        rank: 0,
        recognise: Recognise::Name,
    },
    Kind {
        id: "generic_token",
        service: "unknown",
        rotation: GENERIC,
        prefix: "",
        test: false,
        rank: 0,
        recognise: Recognise::Name,
    },
    Kind {
        id: "generic_secret",
        service: "unknown",
        rotation: GENERIC,
        prefix: "",
        test: false,
        rank: 0,
        recognise: Recognise::Name,
    },
    Kind {
        id: "password",
        service: "unknown",
        rotation: "Change this password on the system it belongs to (the variable name in locations says which), update every place that stores it, and review that system's logins for the incident window.",
        prefix: "",
        test: false,
        rank: 0,
        recognise: Recognise::Name,
    },
    Kind {
        id: "prompted_secret",
        service: "unknown",
        rotation: "The value was typed in at a client prompt and is not stored in the file, but the agent's MCP server held it: revoke whatever was entered for this input at the service it belongs to, and issue a new one.",
        prefix: "",
        test: false,
        rank: 0,
        recognise: Recognise::Prompt,
    },
];

const GENERIC: &str = "Find the service that issued this value (the variable name in locations says which), revoke it there, issue a new one with least privilege, and update every MCP server config and secret store that holds it.";

/// The type with this id. Panics only on a typo in this module's own ids (tested).
pub fn kind(id: &str) -> &'static Kind {
    KINDS
        .iter()
        .find(|k| k.id == id)
        .unwrap_or_else(|| panic!("unknown credential kind {id}"))
}

/// What a variable name says about the service, when it names one: used for values found by
/// name, so `OPENAI_API_KEY=...` with an unfamiliar format still gets OpenAI's rotation steps.
pub struct Vendor {
    /// Lowercase words of a variable name that point at the service.
    pub words: &'static [&'static str],
    /// The type whose service and rotation steps apply.
    pub kind: &'static str,
}

pub static VENDORS: &[Vendor] = &[
    Vendor {
        words: &["aws", "amazon"],
        kind: "aws_access_key_id",
    },
    Vendor {
        words: &["github", "gh"],
        kind: "github_personal_access_token",
    },
    Vendor {
        words: &["gitlab", "gl"],
        kind: "gitlab_access_token",
    },
    Vendor {
        words: &["slack"],
        kind: "slack_token",
    },
    Vendor {
        words: &["openai"],
        kind: "openai_api_key",
    },
    Vendor {
        words: &["anthropic", "claude"],
        kind: "anthropic_api_key",
    },
    Vendor {
        words: &["google", "gcp", "gemini", "firebase"],
        kind: "google_api_key",
    },
    Vendor {
        words: &["stripe"],
        kind: "stripe_live_secret_key",
    },
    Vendor {
        words: &["twilio"],
        kind: "twilio_auth_token",
    },
    Vendor {
        words: &["sendgrid"],
        kind: "sendgrid_api_key",
    },
    Vendor {
        words: &["npm"],
        kind: "npm_access_token",
    },
    Vendor {
        words: &["hf", "huggingface"],
        kind: "huggingface_token",
    },
    Vendor {
        words: &["azure"],
        kind: "azure_storage_account_key",
    },
    Vendor {
        words: &["postgres", "postgresql", "pg"],
        kind: "postgres_password",
    },
    Vendor {
        words: &["mysql", "mariadb"],
        kind: "mysql_password",
    },
    Vendor {
        words: &["mongo", "mongodb"],
        kind: "mongodb_password",
    },
    Vendor {
        words: &["redis"],
        kind: "redis_password",
    },
    Vendor {
        words: &["rabbitmq", "amqp"],
        kind: "amqp_password",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_reference_resolves() {
        let mut ids: Vec<&str> = KINDS.iter().map(|k| k.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate kind ids");
        for v in VENDORS {
            kind(v.kind);
        }
        for k in KINDS {
            if let Recognise::Format {
                anchor, pattern, ..
            } = &k.recognise
            {
                let re = regex::Regex::new(pattern).unwrap();
                assert!(
                    pattern.contains(&regex::escape(anchor)) || pattern.contains(anchor),
                    "{}: the anchor must be a literal of the pattern",
                    k.id
                );
                assert!(
                    !k.prefix.is_empty() || re.capture_names().any(|n| n == Some("s")),
                    "{}: no prefix and no secret group",
                    k.id
                );
            }
            assert!(!k.rotation.is_empty());
        }
    }
}
