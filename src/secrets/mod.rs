//! Secrets Roster must read back (SIP passwords, TOTP seeds) are sealed with
//! XChaCha20-Poly1305 under a key from configuration, never stored in the clear. Each sealed
//! value is bound to its owner: the user and what it is are its associated data, so a value
//! copied onto another user's row (or into another column) does not open.
//!
//! The same server key also keys the hashes of recovery codes, through a sub-key of its own
//! (HMAC-SHA256 of the key over a fixed label): the sealing key is never used for anything else.
//!
//! The key comes from `ROSTER_SECRET_KEY` (32 bytes, base64), else from the file named by
//! `secret_key_file`, else from `<data dir>/secret.key`, created on first start. Instances that
//! share one PostgreSQL database must share the key.

pub mod token;

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::ids::{IdentityProviderId, UserId};

/// Sealed before owners were bound (no associated data): still opened, never written.
const LEGACY_PREFIX: &str = "v1.";
/// Sealed with its owner as associated data.
const PREFIX: &str = "v2.";
const NONCE_LEN: usize = 24;
/// What the recovery codes' sub-key is derived for; a new label would be a new key.
const RECOVERY_CODES_LABEL: &[u8] = b"roster recovery codes v1";

/// What a sealed value is: part of what binds it to its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SipPassword,
    /// An authenticator's key, confirmed or being set up (the same value moves from one to the other).
    TotpSecret,
    /// An identity provider's client secret (single sign-on).
    ClientSecret,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::SipPassword => "sip_password",
            Purpose::TotpSecret => "totp_secret",
            Purpose::ClientSecret => "client_secret",
        }
    }
}

/// Whose sealed value it is: sealed for one holder and one purpose, it opens for no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub holder: Holder,
    pub purpose: Purpose,
}

/// What holds a sealed value: a user, or an account's identity provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    User(UserId),
    IdentityProvider(IdentityProviderId),
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::User(id) => write!(f, "user {}", id.0),
            Holder::IdentityProvider(id) => write!(f, "identity provider {}", id.0),
        }
    }
}

impl Owner {
    pub fn sip_password(user: UserId) -> Owner {
        Owner { holder: Holder::User(user), purpose: Purpose::SipPassword }
    }

    pub fn totp_secret(user: UserId) -> Owner {
        Owner { holder: Holder::User(user), purpose: Purpose::TotpSecret }
    }

    pub fn client_secret(provider: IdentityProviderId) -> Owner {
        Owner { holder: Holder::IdentityProvider(provider), purpose: Purpose::ClientSecret }
    }

    /// The associated data: `roster:user:{id}:{purpose}` (or `roster:identity_provider:…`).
    fn aad(&self) -> String {
        match self.holder {
            Holder::User(user) => format!("roster:user:{}:{}", user.0, self.purpose.as_str()),
            Holder::IdentityProvider(id) => format!("roster:identity_provider:{}:{}", id.0, self.purpose.as_str()),
        }
    }
}

pub struct Secrets {
    cipher: XChaCha20Poly1305,
    /// HMAC-SHA256(server key, "roster recovery codes v1").
    recovery_key: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(…)")
    }
}

impl Secrets {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Secrets { cipher: XChaCha20Poly1305::new(key.into()), recovery_key: sub_key(key, RECOVERY_CODES_LABEL) }
    }

    /// The key from `key` (base64), else `key_file`, else `data_dir/secret.key` (created).
    pub fn load(key: Option<&SecretString>, key_file: Option<&Path>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(key) = key {
            return Self::from_base64(key.expose_secret()).context("ROSTER_SECRET_KEY");
        }
        let path = key_file.map(Path::to_path_buf).unwrap_or_else(|| data_dir.join("secret.key"));
        if !path.exists() {
            if key_file.is_some() {
                bail!("the secret key file {} does not exist", path.display());
            }
            std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
            let key = XChaCha20Poly1305::generate_key(&mut OsRng);
            write_private(&path, STANDARD.encode(key).as_bytes())?;
            tracing::info!(path = %path.display(), "created a new secret key; back it up, and give the same key to every instance");
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Self::from_base64(text.trim()).with_context(|| format!("the secret key in {}", path.display()))
    }

    fn from_base64(text: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD.decode(text.trim()).context("is not base64")?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| anyhow::anyhow!("must be 32 bytes"))?;
        Ok(Self::from_key(&key))
    }

    /// `v2.` + base64(nonce ‖ ciphertext ‖ tag), with a fresh random nonce each time and the
    /// owner as associated data.
    pub fn seal(&self, owner: Owner, plaintext: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = owner.aad();
        let sealed = self
            .cipher
            .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .expect("encrypting in memory cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens a value sealed for `owner`. A value sealed before owners were bound (`v1.`) opens
    /// without associated data; [`Secrets::is_legacy`] tells it, to seal it again.
    pub fn open(&self, owner: Owner, sealed: &str) -> anyhow::Result<SecretString> {
        let (body, aad) = match (sealed.strip_prefix(PREFIX), sealed.strip_prefix(LEGACY_PREFIX)) {
            (Some(body), _) => (body, owner.aad()),
            (None, Some(body)) => (body, String::new()),
            (None, None) => bail!("not a sealed secret"),
        };
        let bytes = STANDARD.decode(body).context("a sealed secret is not base64")?;
        if bytes.len() < NONCE_LEN {
            bail!("a sealed secret is too short");
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
            .map_err(|_| {
                anyhow::anyhow!(
                    "a sealed secret does not open with this key for {}: was the secret key changed, or the value copied from another row?",
                    owner.holder
                )
            })?;
        Ok(SecretString::from(String::from_utf8(plain).context("a sealed secret is not text")?))
    }

    /// Whether `sealed` was sealed before owners were bound, so should be sealed again.
    pub fn is_legacy(sealed: &str) -> bool {
        sealed.starts_with(LEGACY_PREFIX)
    }

    /// A MAC keyed with the recovery codes' sub-key.
    pub(crate) fn recovery_code_mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.recovery_key).expect("HMAC takes a key of any length")
    }
}

/// Seals again, with its owner, every value in `users` sealed before owners were bound; returns
/// how many. Run at start: afterwards no stored value opens for another user than its own. A
/// value that does not open with this key is left as it is (and reported without its content);
/// one changed meanwhile by another instance is left to that change.
pub async fn reseal_legacy(store: &crate::store::Store, secrets: &Secrets) -> anyhow::Result<u64> {
    use crate::store::sealed::{self, SealedColumn};
    let mut done = 0;
    for column in SealedColumn::ALL {
        let mut conn = store.read().await?;
        let legacy = sealed::legacy(&mut conn, column).await?;
        drop(conn);
        if legacy.is_empty() {
            continue;
        }
        let owner = |user| match column {
            SealedColumn::SipPassword => Owner::sip_password(user),
            SealedColumn::TotpSecret | SealedColumn::TotpPendingSecret => Owner::totp_secret(user),
        };
        let mut tx = store.begin().await?;
        tx.affects(crate::store::Affects::Nothing);
        for (user, old) in legacy {
            match secrets.open(owner(user), &old) {
                Ok(plain) => {
                    let new = secrets.seal(owner(user), plain.expose_secret());
                    if sealed::replace(tx.conn(), column, user, &old, &new).await? {
                        done += 1;
                    }
                }
                Err(_) => {
                    tracing::warn!(user = user.0, ?column, "a sealed value does not open with this key; left as it is")
                }
            }
        }
        tx.commit().await?;
    }
    if done > 0 {
        tracing::info!(values = done, "sealed values bound to their owners");
    }
    Ok(done)
}

/// HMAC-SHA256(key, label): a key for one other use, from which the server key cannot be found.
fn sub_key(key: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANN: UserId = UserId(41);
    const BOB: UserId = UserId(42);

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_never_repeat() {
        let a = Secrets::from_key(&[7; 32]);
        let owner = Owner::sip_password(ANN);
        let sealed = a.seal(owner, "s3cret-sip");
        assert!(sealed.starts_with("v2.") && !sealed.contains("s3cret"));
        assert!(!Secrets::is_legacy(&sealed));
        assert_ne!(sealed, a.seal(owner, "s3cret-sip"), "a fresh nonce each time");
        assert_eq!(a.open(owner, &sealed).unwrap().expose_secret(), "s3cret-sip");
        assert!(Secrets::from_key(&[8; 32]).open(owner, &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(a.open(owner, &tampered).is_err());
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_owner_and_purpose() {
        let a = Secrets::from_key(&[7; 32]);
        let sealed = a.seal(Owner::totp_secret(ANN), "JBSWY3DPEHPK3PXP");
        assert_eq!(a.open(Owner::totp_secret(ANN), &sealed).unwrap().expose_secret(), "JBSWY3DPEHPK3PXP");
        let err = a.open(Owner::totp_secret(BOB), &sealed).expect_err("copied onto another user's row");
        assert!(err.to_string().contains("user 42"), "{err}");
        assert!(a.open(Owner::sip_password(ANN), &sealed).is_err(), "moved into another column");
        // Relabelled as a legacy value, it is opened without associated data: the tag fails too.
        let relabelled = sealed.replacen("v2.", "v1.", 1);
        assert!(a.open(Owner::totp_secret(ANN), &relabelled).is_err());
    }

    #[test]
    fn values_sealed_before_owners_were_bound_still_open() {
        let key = [7; 32];
        let a = Secrets::from_key(&key);
        // As the previous version sealed: no associated data, prefix `v1.`.
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut bytes = nonce.to_vec();
        bytes.extend(XChaCha20Poly1305::new((&key).into()).encrypt(&nonce, b"old-sip".as_slice()).unwrap());
        let legacy = format!("v1.{}", STANDARD.encode(bytes));
        assert!(Secrets::is_legacy(&legacy));
        assert_eq!(a.open(Owner::sip_password(ANN), &legacy).unwrap().expose_secret(), "old-sip");
        assert!(a.open(Owner::sip_password(ANN), "v3.AAAA").is_err());
    }

    #[test]
    fn the_recovery_sub_key_is_not_the_sealing_key() {
        let key = [7; 32];
        let a = Secrets::from_key(&key);
        assert_ne!(a.recovery_key, key);
        assert_ne!(a.recovery_key, Secrets::from_key(&[8; 32]).recovery_key);
        assert_eq!(a.recovery_key, sub_key(&key, b"roster recovery codes v1"), "stable across restarts");
    }

    #[test]
    fn a_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Secrets::load(None, None, dir.path()).unwrap();
        let sealed = first.seal(Owner::sip_password(ANN), "x");
        let again = Secrets::load(None, None, dir.path()).unwrap();
        assert_eq!(again.open(Owner::sip_password(ANN), &sealed).unwrap().expose_secret(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(Secrets::load(Some(&SecretString::from("short")), None, dir.path()).is_err());
    }
}
