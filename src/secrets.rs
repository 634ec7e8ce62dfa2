//! Secrets Roster must read back (SIP passwords; later TOTP seeds) are sealed with
//! XChaCha20-Poly1305 under a key from configuration, never stored in the clear.
//!
//! The key comes from `ROSTER_SECRET_KEY` (32 bytes, base64), else from the file named by
//! `secret_key_file`, else from `<data dir>/secret.key`, created on first start. Instances that
//! share one PostgreSQL database must share the key.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};

const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

pub struct Secrets {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(…)")
    }
}

impl Secrets {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Secrets { cipher: XChaCha20Poly1305::new(key.into()) }
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

    /// `v1.` + base64(nonce ‖ ciphertext ‖ tag), with a fresh random nonce each time.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self.cipher.encrypt(&nonce, plaintext.as_bytes()).expect("encrypting in memory cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> anyhow::Result<SecretString> {
        let body = sealed.strip_prefix(PREFIX).context("not a sealed secret")?;
        let bytes = STANDARD.decode(body).context("a sealed secret is not base64")?;
        if bytes.len() < NONCE_LEN {
            bail!("a sealed secret is too short");
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| anyhow::anyhow!("a sealed secret does not open with this key: was the secret key changed?"))?;
        Ok(SecretString::from(String::from_utf8(plain).context("a sealed secret is not text")?))
    }
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

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_never_repeat() {
        let a = Secrets::from_key(&[7; 32]);
        let sealed = a.seal("s3cret-sip");
        assert!(sealed.starts_with("v1.") && !sealed.contains("s3cret"));
        assert_ne!(sealed, a.seal("s3cret-sip"), "a fresh nonce each time");
        assert_eq!(a.open(&sealed).unwrap().expose_secret(), "s3cret-sip");
        assert!(Secrets::from_key(&[8; 32]).open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(a.open(&tampered).is_err());
    }

    #[test]
    fn a_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Secrets::load(None, None, dir.path()).unwrap();
        let sealed = first.seal("x");
        let again = Secrets::load(None, None, dir.path()).unwrap();
        assert_eq!(again.open(&sealed).unwrap().expose_secret(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(Secrets::load(Some(&SecretString::from("short")), None, dir.path()).is_err());
    }
}
